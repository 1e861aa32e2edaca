// A lock file between processes on one directory (a DiskStore's `.ts-hamt-gc`), taken over
// atomically from a holder that died; and the same owner text in its writer markers. Node-only:
// imported only by the disk store.
import { createHash, randomBytes } from 'node:crypto'
import {
  type FileHandle,
  link,
  lstat,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { isProcessAlive, processStart } from '../util/partial-files.js'
import { openRegularFile } from './regular-file.js'

/**
 * Who holds a lock, from the file's text `<pid> <start> <token> <space>`: the start time tells a reused
 * pid from the holder's (`-` where the system does not say); the random token tells two holds apart;
 * the space names the kernel and pid namespace the pid is counted in. Older versions wrote no space,
 * or a bare pid.
 */
export interface LockOwner {
  /** The whole text: one owner, one text. */
  readonly text: string
  readonly pid: number | undefined
  readonly start: string | undefined
  /** Where `pid` means something (see {@link pidSpace}); undefined when not said. */
  readonly space?: string | undefined
  /** The file's modification time (ms), its holder's lease (see {@link LEASE_MS}); undefined when unknown. */
  readonly modified?: number | undefined
  /** The file, so an absurd future time can be pulled back (see {@link isLeaseFresh}). */
  readonly path?: string | undefined
}

/**
 * How often a holder (a collector, a writer) touches its file: its lease. A pid says nothing in
 * another pid namespace (two containers on one volume), so there only a recent touch tells a live holder.
 */
export const LEASE_MS = 10_000
/** A file untouched this long is a dead holder's (clocks of the processes sharing it assumed within this). */
export const STALE_MS = 6 * LEASE_MS

/** Lock texts of this process: held, or being taken (so a second taker here sees it as live). */
const ours = new Set<string>()
/** The text of each lock this process holds, by path. */
const held = new Map<string, string>()
/** The lease of each lock this process holds, by path: its stop. */
const leases = new Map<string, () => void>()
/** Takeovers lost in a row before giving up (each means the lock changed hands meanwhile). */
const MAX_TRIES = 16

function parseOwner(text: string, modified?: number, path?: string): LockOwner {
  const [pid = '', start, , space] = text.trim().split(/\s+/)
  return {
    text,
    pid: /^[1-9]\d{0,15}$/.test(pid) ? Number(pid) : undefined,
    start: start === undefined || start === '-' ? undefined : start,
    space: space === undefined || space === '-' ? undefined : space,
    modified,
    path,
  }
}

/**
 * This kernel's boot and this process's pid namespace (Linux: `/proc`), as `<boot id>/<namespace
 * inode>`: two processes with one space count pids alike. Undefined elsewhere (macOS, Windows).
 */
export function pidSpace(): Promise<string | undefined> {
  ownSpace ??= Promise.all([
    readFile('/proc/sys/kernel/random/boot_id', 'utf8'),
    readlink('/proc/self/ns/pid'),
  ]).then(
    ([boot, namespace]) => {
      const id = `${boot.trim()}/${/^pid:\[(\d+)\]$/.exec(namespace)?.[1] ?? ''}`
      return /^[0-9a-f-]{36}\/\d+$/.test(id) ? id : undefined
    },
    () => undefined,
  )
  return ownSpace
}
let ownSpace: Promise<string | undefined> | undefined

/** Bytes of an owner text read at most: ours take under 64. */
const OWNER_BYTES = 256

/**
 * The lock's owner; undefined when there is no lock file. A FIFO, device or folder in its place
 * (a stranger's directory), or a file longer than any owner text, names no one.
 */
export async function readOwner(path: string): Promise<LockOwner | undefined> {
  let handle: FileHandle | undefined
  try {
    handle = await openRegularFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  if (handle === undefined) return parseOwner('')
  try {
    const { mtimeMs } = await handle.stat()
    const buffer = Buffer.alloc(OWNER_BYTES + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    const text = buffer.toString('utf8', 0, bytesRead)
    return bytesRead > OWNER_BYTES
      ? { text, pid: undefined, start: undefined, modified: mtimeMs, path }
      : parseOwner(text, mtimeMs, path)
  } finally {
    await handle.close()
  }
}

/**
 * Whether the owner still runs. In this process's pid space: its pid alive and, where known, started
 * when recorded. In another: its lease fresh. Where its space is not said (an older version, no
 * `/proc`): either one, so a live holder is not judged dead (an older one's only while its file is new).
 */
export async function isOwnerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.pid === undefined) return false // a text naming no process (a stranger's) holds nothing
  const here = await pidSpace()
  if (owner.space !== undefined && owner.space === here) return isPidAlive(owner)
  if (owner.space !== undefined) return isLeaseFresh(owner)
  return (await isPidAlive(owner)) || (await isLeaseFresh(owner))
}

/** Whether the owner is this process: a lock it holds or is taking, or its own text. */
export function isOurs(owner: LockOwner): boolean {
  return ours.has(owner.text)
}

/**
 * Whether the owner's file was touched within {@link STALE_MS}. A time further ahead than that (a
 * clock gone wrong, a stranger's) counts as fresh but is pulled back to now: it goes stale in time
 * unless its holder touches it again.
 */
async function isLeaseFresh(owner: LockOwner): Promise<boolean> {
  if (owner.modified === undefined || !Number.isFinite(owner.modified)) return false
  const age = Date.now() - owner.modified
  if (age < -STALE_MS && owner.path !== undefined) {
    const now = new Date()
    await utimes(owner.path, now, now).catch(() => {})
  }
  return age < STALE_MS
}

/**
 * Whether the owner's pid runs here and, where known, started when recorded. This process's pid:
 * its own text, or another thread's (each worker has its own copy of this module, texts and token)
 * while its lease is fresh; one started at another time is an earlier process's.
 */
async function isPidAlive(owner: LockOwner): Promise<boolean> {
  if (owner.pid === process.pid) {
    if (ours.has(owner.text)) return true
    const start = owner.start === undefined ? undefined : await processStart(process.pid)
    if (!((start === undefined || start === owner.start) && (await isLeaseFresh(owner)))) return false
    // Read again: a lock this process released while it was read (its file removed, then its text
    // forgotten) is not another thread's, and is gone by now (a writer of ours refused on it).
    if (owner.path === undefined || owner.text === '') return true
    return (await readOwner(owner.path).catch(() => undefined))?.text === owner.text
  }
  if (owner.pid === undefined || !isProcessAlive(owner.pid)) return false
  if (owner.start === undefined) return true
  const start = await processStart(owner.pid)
  return start === undefined || start === owner.start
}

/** Creates `to` as a link to `from` (whole, at once); false when `to` exists. */
async function linked(from: string, to: string, text: string): Promise<boolean> {
  try {
    await link(from, to)
    return true
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException
    if (code === 'EEXIST') return false
    // A file system without hard links: created exclusively, written just after.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error
    try {
      await writeFile(to, text, { flag: 'wx' })
      return true
    } catch (fallback) {
      if ((fallback as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw fallback
    }
  }
}

/** A new text naming this process (`<pid> <start> <token> <space>`), and its token: a lock's, or a writer marker's. */
export async function ownerText(): Promise<{ text: string; token: string }> {
  const start = await processStart(process.pid)
  const token = randomBytes(8).toString('hex')
  return { text: `${process.pid} ${start ?? '-'} ${token} ${(await pidSpace()) ?? '-'}\n`, token }
}

/**
 * Touches the file at `path` every {@link LEASE_MS} until the returned stop is called: its holder's
 * lease. Unref'd: it keeps no process alive; a failed touch (the file gone) is tried again next time.
 */
export function keepLease(path: string): () => void {
  const timer = setInterval(() => {
    const now = new Date()
    void utimes(path, now, now).catch(() => {})
  }, LEASE_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * The owner a marker file at `path` names, or undefined when it is gone: `pid`, the one in its name.
 * Its text tells a reused pid (the start time) and its pid space only when it names that pid too; an
 * empty, unreadable or other one (an older version's, one being written, a stranger's) leaves both
 * unknown: a live `pid` or a fresh lease counts as the writer.
 */
export async function markerOwner(path: string, pid: number | undefined): Promise<LockOwner | undefined> {
  const owner = await readOwner(path).catch(() => null)
  if (owner === undefined) return undefined
  if (owner !== null && owner.pid === pid) return owner
  const modified =
    owner?.modified ??
    (await lstat(path).then(
      (stats) => stats.mtimeMs,
      () => undefined,
    ))
  return { text: '', pid, start: undefined, modified, path }
}

/**
 * Takes the lock at `path`: created whole with this process's text, or put in place of a dead
 * holder's. Resolves to undefined once held, or to the live holder (or live taker) that has it.
 */
export async function takeLock(path: string): Promise<LockOwner | undefined> {
  const { text, token } = await ownerText()
  const staging = `${path}.new-${token}`
  ours.add(text)
  let taken = false
  try {
    await writeFile(staging, text, { flag: 'wx' })
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      if (await linked(staging, path, text)) {
        taken = true
        break
      }
      const owner = await readOwner(path)
      if (owner === undefined) continue // released meanwhile
      if (await isOwnerAlive(owner)) return owner
      const outcome = await replaceDead(path, owner, staging, text)
      if (outcome === 'replaced') {
        taken = true
        break
      }
      if (outcome !== 'changed') return outcome
    }
    if (!taken) throw new Error(`${path} changed hands ${MAX_TRIES} times while it was being taken`)
    held.set(path, text)
    leases.set(path, keepLease(path))
    await removeDeadTakers(path)
    return undefined
  } finally {
    if (!taken) ours.delete(text)
    await rm(staging, { force: true })
  }
}

/**
 * Puts this process's lock in place of `dead`'s. Of the processes that saw `dead` at once, only the
 * one that creates the claim file named after `dead`'s text replaces it (a claim whose maker died is
 * passed over to the next number); it looks once more that the lock is still `dead`'s, which then
 * no other process can change. Resolves to a live taker that holds the claim when that is not us.
 */
async function replaceDead(
  path: string,
  dead: LockOwner,
  staging: string,
  text: string,
): Promise<'replaced' | 'changed' | LockOwner> {
  const claim = `${path}.takeover-${createHash('sha256').update(dead.text).digest('hex').slice(0, 16)}-`
  let n = 1
  for (; !(await linked(staging, `${claim}${n}`, text)); n++) {
    const taker = await readOwner(`${claim}${n}`)
    if (taker === undefined) return 'changed' // its taker is done: the lock is not `dead`'s now
    if (await isOwnerAlive(taker)) return taker
  }
  try {
    if ((await readOwner(path))?.text !== dead.text) return 'changed'
    await rename(staging, path)
    return 'replaced'
  } finally {
    for (let i = 1; i <= n; i++) await rm(`${claim}${i}`, { force: true })
  }
}

/** Removes the lock at `path` if this process holds it. */
export async function releaseLock(path: string): Promise<void> {
  const text = held.get(path)
  if (text === undefined) return
  held.delete(path)
  leases.get(path)?.()
  leases.delete(path)
  try {
    if ((await readOwner(path).catch(() => undefined))?.text === text) await rm(path, { force: true })
  } finally {
    // Ours until its file is gone (see `isPidAlive`'s second read).
    ours.delete(text)
  }
}

/** Staging and claim files of takers killed mid-way (passed over, but litter), once the lock is ours. */
async function removeDeadTakers(path: string): Promise<void> {
  const prefix = `${basename(path)}.`
  for (const name of await readdir(dirname(path))) {
    if (!name.startsWith(`${prefix}new-`) && !name.startsWith(`${prefix}takeover-`)) continue
    const file = join(dirname(path), name)
    const owner = await readOwner(file).catch(() => undefined)
    // No pid: a staging file still being written (writeFile creates, then writes).
    if (owner?.pid !== undefined && !(await isOwnerAlive(owner))) await rm(file, { force: true })
  }
}
