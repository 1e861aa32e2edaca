// Files a stranger's directory may hold in place of ours (a DiskStore's block files, writer markers,
// collector lock): opened only when regular and without waiting, and read within a bound. Node-only.
import { constants } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'

/**
 * `path` opened to read, or undefined (closed) when it is not a regular file. Opened without
 * waiting: a FIFO's open would wait for a writer for ever (regular files ignore the flag).
 */
export async function openRegularFile(path: string): Promise<FileHandle | undefined> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  let regular = false
  try {
    regular = (await handle.stat()).isFile()
  } finally {
    if (!regular) await handle.close()
  }
  return regular ? handle : undefined
}

/**
 * The first `size` bytes from the handle's position (a file just opened: its start; also a pipe),
 * fewer if it ends first: a file growing meanwhile is read no further.
 */
export async function readUpTo(handle: FileHandle, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size)
  let filled = 0
  while (filled < size) {
    const { bytesRead } = await handle.read(bytes, filled, size - filled, null)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === size ? bytes : bytes.subarray(0, filled)
}
