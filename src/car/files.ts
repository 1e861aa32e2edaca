import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { CID } from 'multiformats/cid'
import type { StoreId } from '../cas/interface.js'
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
  return importCar(target, createReadStream(path), options)
}
