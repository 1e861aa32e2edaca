import { createWriteStream } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { CID } from 'multiformats/cid'
import type { StoreId } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { exportCar } from './export.js'
import { importCar } from './import.js'
import type { BlockSink, BlockSource, ExportCarOptions, ImportCarOptions } from './interface.js'

/**
 * Writes the CAR of `root` (see `exportCar`) to `path`, streaming; the file appears under its
 * name only once complete, so a failed export leaves no truncated CAR behind.
 *
 * @example
 * ```ts
 * await exportCarFile(store, root, 'dataset.car') // then: ipfs dag import dataset.car
 * ```
 */
export async function exportCarFile(
  source: BlockSource,
  root: StoreId,
  path: string,
  options: ExportCarOptions = {},
): Promise<void> {
  const partial = `${path}.partial-${process.pid}`
  try {
    await pipeline(Readable.from(exportCar(source, root, options)), createWriteStream(partial), {
      signal: options.signal,
    })
    await rename(partial, path)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  }
}

/** Imports the CAR file at `path` into `target` (see `importCar`), streaming; returns its roots. */
export async function importCarFile(
  target: BlockSink,
  path: string,
  options: ImportCarOptions = {},
): Promise<{ roots: CID[]; blocks: number }> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    throw new InvalidArgumentError(`cannot read the CAR file ${path}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const stream = handle.createReadStream()
  try {
    return await importCar(target, stream, options)
  } finally {
    stream.destroy()
    await handle.close().catch(() => {})
  }
}
