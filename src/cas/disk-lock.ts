// A lock file between processes on one directory (a DiskStore's `.ts-hamt-gc`), taken over
// atomically from a holder that died; and the same owner text in its writer markers. Node-only:
// imported only by the disk store.
import { createHash, randomBytes } from 'node:crypto'
import { type FileHandle, link, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { isProcessAlive, processStart } from '../util/partial-files.js'
import { openRegularFile } from './regular-file.js'

/**
 * Who holds a lock, from the file's text `<pid> <start> <token>`: the start time tells a reused pid
 * from the holder's (`-` where the system does not say); the random token tells two holds apart.
 * A lock of an older version holds a bare pid.
 */
export interface LockOwner {
  /** The whole text: one owner, one text. */
  readonly text: string
  readonly pid: number | undefined
  readonly start: string | undefined
}

/** Lock texts of this process: held, or being taken (so a second taker here sees it as live). */
const ours = new Set<string>()
/** The text of each lock this process holds, by path. */
const held = new Map<string, string>()
/** Takeovers lost in a row before giving up (each means the lock changed hands meanwhile). */
const MAX_TRIES = 16

function parseOwner(text: string): LockOwner {
  const [pid = '', start] = text.trim().split(/\s+/)
  return {
    text,
    pid: /^[1-9]\d{0,15}$/.test(pid) ? Number(pid) : undefined,
    start: start === undefined || start === '-' ? undefined : start,
  }
}

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
    const buffer = Buffer.alloc(OWNER_BYTES + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    const text = buffer.toString('utf8', 0, bytesRead)
    return bytesRead > OWNER_BYTES ? { text, pid: undefined, start: undefined } : parseOwner(text)
  } finally {
    await handle.close()
  }
}

/** Whether the owner's process still runs: its pid alive and, where known, started when recorded. */
export async function isOwnerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.pid === process.pid) return ours.has(owner.text)
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

/** A new text naming this process (`<pid> <start> <token>`), and its token: a lock's, or a writer marker's. */
export async function ownerText(): Promise<{ text: string; token: string }> {
  const start = await processStart(process.pid)
  const token = randomBytes(8).toString('hex')
  return { text: `${process.pid} ${start ?? '-'} ${token}\n`, token }
}

/**
 * The owner a marker file at `path` names: `pid`, the one in its name. Its text tells a reused pid
 * (the start time) only when it names that pid too; an empty, unreadable or other one (an older
 * version's, one being written, a stranger's) leaves the start unknown: a live `pid` counts as the writer.
 */
export async function markerOwner(path: string, pid: number): Promise<LockOwner> {
  const owner = await readOwner(path).catch(() => undefined)
  return owner?.pid === pid ? owner : { text: '', pid, start: undefined }
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
  ours.delete(text)
  if ((await readOwner(path).catch(() => undefined))?.text === text) await rm(path, { force: true })
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
