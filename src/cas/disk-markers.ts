// The disk store's writer markers (`.ts-hamt-writing-<pid>-<token>`): which processes are writing
// blocks into a directory, so a collection (or an `open` cleaning up) leaves their blocks in flight
// alone. Node-only: imported only by the disk store.
import { rmSync } from 'node:fs'
import { lstat, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreError } from '../errors.js'
import { hasLeftovers, removedLeftovers } from './disk-leftovers.js'
import { isOurs, isOwnerAlive, LEASE_MS, markerOwner, ownerText, readOwner, STALE_MS } from './disk-lock.js'
import { GC_LOCK, isOwnMarker, MARKER_TOKEN, WRITING_MARKER, writerPid } from './disk-marker-names.js'

/** This process's marker in `directory`. */
const ownMarker = (directory: string): string =>
  join(directory, `${WRITING_MARKER}${process.pid}-${MARKER_TOKEN}`)
/** Per directory, the lease on this process's marker while it is there (its stop). */
const leasesHere = new Map<string, () => void>()

/**
 * Flushes running in this process, per directory: this process's marker (its pid and token) is a
 * live writer's only while one runs (or a put's marker lingers).
 */
const flushesHere = new Map<string, number>()
/**
 * Per directory, the one chain of this process's marker changes: written and the collector lock read
 * after it, written again when lost, removed. Each waits for the one before; a writer beginning waits
 * for the last. Replaced at each change: the lease tells a marker it touched from a later one by it.
 */
const markersHere = new Map<string, Promise<void>>()

/** The last change on {@link markersHere} settled (a refusal is its writer's own, not the next one's). */
const lastMarkerChange = (directory: string): Promise<void> =>
  (markersHere.get(directory) ?? Promise.resolve()).catch(() => {})

/**
 * Counts a flush or put of this process in `directory` (the caller ends it with {@link endWriting},
 * also when this throws). The first writes the marker, then refuses if another process collects: a
 * collector takes its lock before it reads markers, so one of the two sees the other; while the
 * marker stays, no collection begins and later writers need not read the lock again. A writer
 * beginning after a loss was found writes it afresh and reads the lock itself, even while others run.
 * Resolves to the writer's ticket for {@link heldMarker}: the losses found before it began.
 */
export async function beginWriting(directory: string): Promise<number> {
  const running = flushesHere.get(directory) ?? 0
  flushesHere.set(directory, running + 1)
  const lingering = lingersHere.get(directory)
  if (lingering !== undefined) {
    clearTimeout(lingering)
    lingersHere.delete(directory)
  }
  // A marker kept (lingering, or held for blocks written unconfirmed) stayed since a lock read that saw
  // no collector, unless found lost (or a collector found) since: the next writer rechecks, also while others run.
  const kept = lingering !== undefined || holdersHere.has(directory)
  // Writers running through a loss fail by their tickets; this one may pass once its lock read does.
  const since = lossesIn(directory)
  const recheck = recheckHere.has(directory)
  if ((running === 0 && !(kept && confirmedHere.has(directory))) || recheck) {
    confirmedHere.delete(directory)
    recheckHere.delete(directory) // a marker written afresh, the collector lock read after it
    const marker = ownMarker(directory)
    // After the last writer's removal of it, if one is under way (a refusal is that writer's own).
    const removed = lastMarkerChange(directory)
    const entered = removed.then(async () => {
      // Named as the collector lock names its holder, so a pid handed to another process is told apart.
      await writeFile(marker, await markerText()).catch(() => {})
      if (!leasesHere.has(directory)) leasesHere.set(directory, keepMarker(directory))
      const collector = await collectorElsewhere(directory)
      if (collector !== undefined) {
        // Writers beginning while this one runs would wait on its refusal: they read the lock again.
        recheckHere.add(directory)
        throw new StoreError(
          `cannot write to the disk store at ${directory}: process ${collector} is collecting garbage in it; flush again when it ends`,
        )
      }
      confirmedHere.add(directory)
    })
    markersHere.set(directory, entered)
  }
  await markersHere.get(directory)
  return since
}

/**
 * Directories where the next writer beginning writes the marker afresh and reads the collector lock
 * itself, also while others run: the marker was found gone while this process wrote there (another
 * process judged it dead: an event loop blocked past the lease), or the last lock read found a collector.
 */
const recheckHere = new Set<string>()

/**
 * Touches this process's marker every {@link LEASE_MS} (its lease); writes it again (same name and
 * text) when it is gone while a writer of ours runs. Unref'd: it keeps no process alive.
 */
function keepMarker(directory: string): () => void {
  const marker = ownMarker(directory)
  const timer = setInterval(() => {
    const now = new Date()
    // Lost only if no change of ours came since: a touch failing on our last writer's own removal
    // refused a writer beginning after it (its marker written afresh) as lost.
    const since = markersHere.get(directory)
    void utimes(marker, now, now).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && markersHere.get(directory) === since && isWritingHere(directory))
        return restoreMarker(directory)
    })
  }, LEASE_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * Notes the marker lost (its writers are told: see {@link heldMarker}) and writes it again in its
 * turn on {@link markersHere}: never over one being written, and never after our last writer's
 * removal of it (a marker left without a lease refused other processes' collections while we lived).
 */
function restoreMarker(directory: string): Promise<void> {
  recheckHere.add(directory)
  // Holds taken before are moot (a collection may have run): each store finds it at its next flush.
  lossesHere.set(directory, (lossesHere.get(directory) ?? 0) + 1)
  holdersHere.delete(directory)
  confirmedHere.delete(directory) // no put's marker lingers: the next writer writes it and reads the lock
  const before = lastMarkerChange(directory)
  const restored = before.then(async () => {
    if (isWritingHere(directory))
      await writeFile(ownMarker(directory), await markerText(), { flag: 'wx' }).catch(() => {})
  })
  // Only holds were writing (their lease found the loss): no writer of ours ends to stop the lease.
  if (!isWritingHere(directory)) void restored.then(() => removeMarker(directory))
  markersHere.set(directory, restored)
  return restored
}

/**
 * Whether a flush or put of this process runs in `directory`, a put's marker lingers, or a store holds
 * blocks it wrote unconfirmed.
 */
const isWritingHere = (directory: string): boolean =>
  flushesHere.has(directory) || lingersHere.has(directory) || holdersHere.has(directory)

/**
 * Checked once a block file is in place: refuses (a typed error) unless this process's marker stayed
 * since the writer began (`since`: its ticket from {@link beginWriting}), so no collection ran
 * meanwhile that deleted a block it wrote. A marker found gone is written again first (for the puts
 * still running).
 */
export async function heldMarker(directory: string, since: number): Promise<void> {
  const gone = await lstat(ownMarker(directory)).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  )
  if (gone) await restoreMarker(directory)
  if (lossesIn(directory) === since) return
  throw new StoreError(
    `cannot write to the disk store at ${directory}: this process's writer marker was removed while it wrote (another process judged it dead: was this process paused or its event loop blocked for over ${STALE_MS / 1000} s?); a collection may have deleted blocks this process wrote since. A flush's blocks stay buffered until its end finds the marker held: flush again to write them again. Blocks written between flushes when the write buffer filled (writeBufferBytes) are not kept: if it filled since a map's last root, open that root again and redo the changes made since`,
  )
}

/** A store's hold on this process's marker (see `disk-holds.ts`), weakly: a store dropped lets it go. */
export interface Holder {
  /** Lets the hold go if nothing needs it any more. */
  settle(): void
}
type Hold = WeakRef<Holder>
/**
 * Per directory, the stores of this process holding the marker for blocks they wrote in no root yet:
 * while any does, this process writes there.
 */
const holdersHere = new Map<string, Set<Hold>>()

/** `ref`'s store holds the marker in `directory` from now (see {@link releaseHold}). */
export function takeHold(directory: string, ref: Hold): void {
  const holders = holdersHere.get(directory) ?? new Set()
  holdersHere.set(directory, holders.add(ref))
  if (!exitHooked) process.once('exit', removeHeldMarkers)
  exitHooked = true
}

/** A store's hold goes; the last one's marker is removed (a flush running removes it at its end). */
export function releaseHold(directory: string, ref: Hold): void {
  const holders = holdersHere.get(directory)
  if (holders?.delete(ref) !== true || holders.size > 0) return
  holdersHere.delete(directory)
  if (!isWritingHere(directory)) void removeMarker(directory)
}

/** The stores holding the marker in `directory`. */
export const holdsIn = (directory: string): Hold[] => [...(holdersHere.get(directory) ?? [])]

/** Per directory, how many times this process's marker was found lost: holds taken before are moot. */
const lossesHere = new Map<string, number>()

/** How many times this process's marker in `directory` was found lost (a hold taken before it is moot). */
export const lossesIn = (directory: string): number => lossesHere.get(directory) ?? 0

let exitHooked = false
/**
 * At exit, the markers kept only for blocks written unconfirmed (no timer keeps the process alive
 * for them): a dead writer's marker is removed by the next collection anyway, this saves it the work.
 */
function removeHeldMarkers(): void {
  for (const directory of holdersHere.keys()) {
    // A write cut short leaves temporary files: its marker tells the next `open` to remove them.
    if (flushesHere.has(directory) || hasLeftovers(directory)) continue
    try {
      rmSync(ownMarker(directory), { force: true })
    } catch {}
  }
}

/** This process's marker text (its pid and start time do not change: read once). */
function markerText(): Promise<string> {
  ownMarkerText ??= ownerText().then(({ text }) => text)
  return ownMarkerText
}
let ownMarkerText: Promise<string> | undefined

/**
 * Directories whose marker was written and then no collector seen, until it is removed: only such
 * a marker may linger.
 */
const confirmedHere = new Set<string>()
/**
 * Per directory, the timer that removes a marker kept after the last put ended: a run of puts
 * (a write buffer of 0) shares one marker and one lock read. While it lingers this process is a
 * live writer (other processes' collections are refused), so a put beginning then needs neither.
 */
const lingersHere = new Map<string, NodeJS.Timeout>()
/** How long a marker outlives the last put (not a flush: its end leaves no marker). */
const LINGER_MS = 5

/**
 * Ends what {@link beginWriting} began; the last writer removes the marker, or a put's lets it
 * linger {@link LINGER_MS} for the next put (not after a refusal: the next writer reads the lock).
 */
export async function endWriting(directory: string, { linger = false } = {}): Promise<void> {
  const left = (flushesHere.get(directory) ?? 1) - 1
  if (left > 0) return void flushesHere.set(directory, left)
  flushesHere.delete(directory)
  // Blocks written and not confirmed yet: the marker stays until their store's flush confirms them.
  if (holdersHere.has(directory)) return
  if (linger && confirmedHere.has(directory) && !lingersHere.has(directory)) {
    // Not unref'd: an exiting process removes its marker first (a few ms later).
    lingersHere.set(
      directory,
      setTimeout(() => {
        lingersHere.delete(directory)
        if (!flushesHere.has(directory)) void removeMarker(directory)
      }, LINGER_MS),
    )
    return
  }
  await removeMarker(directory)
}

/** Removes this process's marker once no temporary file of ours is left (no writer of ours running). */
async function removeMarker(directory: string): Promise<void> {
  // A failed put removed its temporary file; only one it could not remove keeps the marker for a
  // later open, and only while it is there (tried again here, no write of ours running). A marker
  // kept otherwise would hold other processes' collections off while this one lives.
  if (await removedLeftovers(directory)) {
    // A writer that began meanwhile wrote the marker again (or is writing it): it is its own now.
    if (isWritingHere(directory)) return
    confirmedHere.delete(directory)
    leasesHere.get(directory)?.()
    leasesHere.delete(directory)
    // After a restore of it still under way (see restoreMarker); a writer beginning waits for this.
    const before = lastMarkerChange(directory)
    const removal = before.then(() => rm(ownMarker(directory), { force: true })).catch(() => {})
    markersHere.set(directory, removal)
    await removal
  }
}

/** The pid of a live process other than this one that holds the directory's collector lock. */
export async function collectorElsewhere(directory: string): Promise<number | undefined> {
  // A lock that cannot be read (a directory in its place) keeps no writer out: collections fail on it.
  const owner = await readOwner(join(directory, GC_LOCK)).catch(() => undefined)
  // Ours by its text, not its pid: a collector in another container may be pid 1 as this one is.
  if (owner?.pid === undefined || isOurs(owner)) return undefined
  return (await isOwnerAlive(owner)) ? owner.pid : undefined
}

/**
 * Whether the writer a marker names is still running: this process's own, while a flush or put runs
 * here; another's, as `disk-lock.ts` judges its text and lease (in another pid namespace, or not
 * said: a fresh lease; a stranger's name: its lease alone). A marker gone is no writer's.
 */
export async function isWriterAlive(directory: string, name: string): Promise<boolean> {
  if (isOwnMarker(name)) return isWritingHere(directory)
  const owner = await markerOwner(join(directory, name), writerPid(name))
  return owner !== undefined && (await isOwnerAlive(owner))
}

/** Whether a flush or put of this process is writing into `directory` now. */
export function writingHere(directory: string): boolean {
  return flushesHere.has(directory)
}
