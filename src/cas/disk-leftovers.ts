// Temporary block files a failed write of this process could not remove: while any is left in a
// directory, this process's writer marker stays there (it tells a later `open` to remove them).
// Node-only: imported only by the disk store.
import { rm } from 'node:fs/promises'

/**
 * Temporary files a failed write of this process could not remove, per directory (of any store on
 * it: they share the process's marker).
 */
const leftoversHere = new Map<string, Set<string>>()

/** The temporary files left in `directory` (a failed put adds the one it could not remove). */
export function leftOver(directory: string): Set<string> {
  const left = leftoversHere.get(directory) ?? new Set<string>()
  leftoversHere.set(directory, left)
  return left
}

/** Whether a temporary file of ours is left in `directory` (as last tried). */
export const hasLeftovers = (directory: string): boolean => leftoversHere.has(directory)

/** Whether no temporary file of ours is left in `directory`: those left before are removed now if they can be. */
export async function removedLeftovers(directory: string): Promise<boolean> {
  const left = leftoversHere.get(directory)
  if (left === undefined) return true
  for (const path of [...left]) {
    await rm(path, { force: true }).then(
      () => left.delete(path),
      () => {},
    )
  }
  if (left.size > 0) return false
  leftoversHere.delete(directory)
  return true
}
