// The names of the disk store's collector lock and writer markers, and a collector's removal of
// dead writers' markers and temporary files. Node-only: imported only by the disk store.
import { randomBytes } from 'node:crypto'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** Held by the process collecting garbage in the directory (see `disk-lock.ts`, `car/gc.ts`). */
export const GC_LOCK = '.ts-hamt-gc'
/**
 * Marks a directory a process is writing blocks into (followed by its pid and a token; the text names
 * it as `disk-lock.ts` does). Older versions' carry the pid alone.
 */
export const WRITING_MARKER = '.ts-hamt-writing-'
/**
 * This process's own, beside its pid: two containers' pid 1 on one volume keep two markers (one's end
 * removed the other's when they shared one).
 */
export const MARKER_TOKEN = randomBytes(8).toString('hex')
export const MARKER_NAME = /^\.ts-hamt-writing-([1-9]\d{0,15})(?:-([0-9a-f]{16}))?$/
/** Markers judged in a directory at most: more are refused (a collection) or left (clean-up). */
export const MAX_MARKERS = 1024

/** A shard folder's name (see `disk.ts`). */
export const SHARD = /^[A-Z2-7]+$/

/**
 * Removes dead writers' markers (names from one `readdir` of `directory`, judged dead by the caller,
 * who holds the collector lock) and the temporary files their names' pid and token say are theirs
 * (see `disk.ts`'s `temporaryFile`). An older version's marker (a pid alone) or a stranger's is left
 * to `open`'s clean-up; what cannot be removed is left.
 */
export async function removeDeadWriters(directory: string, dead: readonly string[]): Promise<void> {
  const suffixes = new Set<string>()
  const markers: string[] = []
  for (const name of dead) {
    const parts = MARKER_NAME.exec(name)
    if (parts?.[2] === undefined) continue
    suffixes.add(`.data.${parts[1]}.${parts[2]}.tmp`)
    markers.push(name)
  }
  if (markers.length === 0) return
  for (const shard of await readdir(directory, { withFileTypes: true })) {
    if (!shard.isDirectory() || !SHARD.test(shard.name)) continue
    for (const file of await readdir(join(directory, shard.name)).catch(() => [])) {
      const at = file.indexOf('.data.')
      if (at > 0 && suffixes.has(file.slice(at)))
        await rm(join(directory, shard.name, file), { force: true }).catch(() => {})
    }
  }
  // Last: a marker left (a removal cut short) still says its temporary files are a dead writer's.
  for (const name of markers) await rm(join(directory, name), { force: true }).catch(() => {})
}

/** Whether `name` is a writer marker's (any version's, or a stranger's file by that name). */
export function isMarker(name: string): boolean {
  return name.startsWith(WRITING_MARKER)
}

/** Whether `name` is this process's own marker. */
export function isOwnMarker(name: string): boolean {
  const parts = MARKER_NAME.exec(name)
  return parts?.[2] === MARKER_TOKEN && Number(parts[1]) === process.pid
}

/** The pid a writer marker's name carries, or undefined (a stranger's name). */
export function writerPid(name: string): number | undefined {
  const pid = MARKER_NAME.exec(name)?.[1]
  return pid === undefined ? undefined : Number(pid)
}
