// Files written under a partial name and renamed once whole (CAR exports, the CLI's `--out`), and
// the process-liveness test that tells a killed writer's leftovers from a live writer's work.
// Node-only: imported only by Node-only modules (ts-hamt/node, the CLI, the disk store).
import { fstatSync, type Stats } from 'node:fs'
import { constants, type FileHandle, open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/** The name `path` is written under until it is complete: `path.partial-<pid>`. */
export function partialPath(path: string, pid: number = process.pid): string {
  return `${path}.partial-${pid}`
}

/**
 * Where a write of the whole file `path` goes. A device, pipe or socket (`/dev/stdout`, a FIFO) is
 * written in place: there is no file to replace. The file this process's stdout or stderr is (`>
 * file`, `>> log`) is written through that descriptor (`fd`): replacing it would lose what the shell
 * wrote before and after. Another existing file is named by its real path: a partial renamed onto a
 * symlink would replace the link.
 */
export async function wholeFileTarget(
  path: string,
): Promise<{ path: string; inPlace: boolean; fd?: number }> {
  try {
    const stats = await stat(path)
    if (!stats.isFile() && !stats.isDirectory()) return { path, inPlace: true }
    const fd = [1, 2].find((fd) => sameFile(stats, fd))
    if (fd !== undefined) return { path, inPlace: true, fd }
    return { path: await realpath(path), inPlace: false }
  } catch {
    return { path, inPlace: false } // Missing (the usual case): the write itself reports any problem.
  }
}

/**
 * Opens `path` (written in place: a device, a pipe) for writing; a FIFO once a reader has it open,
 * polled: a plain open blocks a libuv thread until one comes, and Node's exit waits for that thread,
 * so no signal could end the process. `signal` ends the wait.
 */
export async function openInPlace(path: string, signal?: AbortSignal): Promise<FileHandle> {
  if (
    !(await stat(path).then(
      (stats) => stats.isFIFO(),
      () => false,
    ))
  )
    return open(path, 'w')
  for (;;) {
    signal?.throwIfAborted()
    let probe: FileHandle
    try {
      probe = await open(path, constants.O_WRONLY | constants.O_NONBLOCK)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error // ENXIO: no reader yet.
      await delay(50, undefined, { signal })
      continue
    }
    // Opened while the probe holds the reader (no wait), closed after: the reader sees no end between.
    try {
      return await open(path, 'w')
    } finally {
      await probe.close()
    }
  }
}

/** Whether descriptor `fd` is open on the file `stats` describes. */
export function sameFile(stats: Stats, fd: number): boolean {
  try {
    const open = fstatSync(fd)
    return open.dev === stats.dev && open.ino === stats.ino
  } catch {
    return false // Not open.
  }
}

/** True when process `pid` exists (also when it belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * When process `pid` started, as the kernel counts it (Linux: field 22 of `/proc/<pid>/stat`, clock
 * ticks since boot), so a pid the system handed to a new process is told from the one recorded.
 * Undefined where it cannot be read (no `/proc`: macOS, Windows; or no such process).
 */
export async function processStart(pid: number): Promise<string | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    return start !== undefined && /^\d+$/.test(start) ? start : undefined
  } catch {
    return undefined
  }
}

/**
 * Removes the partial files of `path` that killed runs left behind: those whose process is gone (a
 * file with this process's own pid predates it). Returns their paths; a missing directory is none.
 */
export async function removeStalePartials(path: string): Promise<string[]> {
  const directory = dirname(path)
  const prefix = `${basename(path)}.partial-`
  let names: string[]
  try {
    names = await readdir(directory)
  } catch {
    return [] // No directory, no leftovers; the write itself reports the problem.
  }
  const removed: string[] = []
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length) : ''
    if (!/^[1-9]\d*$/.test(pid) || (Number(pid) !== process.pid && isProcessAlive(Number(pid)))) continue
    await rm(join(directory, name), { force: true })
    removed.push(join(directory, name))
  }
  return removed
}
