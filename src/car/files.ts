import { createWriteStream, type ReadStream } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { CID } from 'multiformats/cid'
import type { StoreId } from '../cas/interface.js'
import { HamtError, InvalidArgumentError, StoreError } from '../errors.js'
import { openInPlace, partialPath, removeStalePartials, wholeFileTarget } from '../util/partial-files.js'
import { describeSystemError, systemErrorOf } from '../util/system-error.js'
import { exportCar } from './export.js'
import { importCarFrom } from './import.js'
import type { BlockSink, BlockSource, ExportCarOptions, ImportCarOptions } from './interface.js'

/**
 * Writes the CAR of `root` (see `exportCar`) to `path`, streaming; the file appears under its
 * name only once complete, so a failed export leaves no truncated CAR behind. A device or a pipe
 * (`/dev/stdout`, a FIFO) is written in place; a symlink to a file, through to that file.
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
  const target = await wholeFileTarget(path)
  const inPlace = target.inPlace
  if (!inPlace) await removeStalePartials(target.path)
  const partial = inPlace ? path : partialPath(target.path)
  try {
    // Stdout or stderr redirected to a file: written through it, where the stream stands.
    const out =
      target.fd !== undefined
        ? createWriteStream('', { fd: target.fd, autoClose: false })
        : inPlace
          ? (await openInPlace(path, options.signal)).createWriteStream()
          : createWriteStream(partial)
    await pipeline(Readable.from(exportCar(source, root, options)), out, {
      signal: options.signal,
    })
    if (!inPlace) await rename(partial, target.path)
  } catch (error) {
    if (!inPlace) await rm(partial, { force: true }).catch(() => {})
    // The source's own errors (a missing block…) and an abort stay as they are; a file-system
    // failure (a full disk, no permission) is the store side of an export.
    if (error instanceof HamtError || options.signal?.aborted) throw error
    const system = systemErrorOf(error)
    const why = system === undefined ? (error as Error).message : describeSystemError(system)
    throw new StoreError(`writing the CAR file ${path} failed: ${why}`, { cause: error })
  }
}

/**
 * Imports the CAR file at `path` into `target` (see `importCar`), streaming; returns its roots. A
 * regular file is read twice, checked in full before the first block is added, so a bad CAR changes
 * nothing; a pipe (`/dev/stdin`, `<(curl …)`) can be read once only, so it is imported as a stream.
 */
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
  const streams: ReadStream[] = []
  try {
    const seekable = (await handle.stat()).isFile()
    const openStream = (): ReadStream => {
      const stream = handle.createReadStream({ start: seekable ? 0 : undefined, autoClose: false })
      streams.push(stream)
      return stream
    }
    // A regular file's sections are bounded by its size; a pipe's by maxBlockBytes.
    const bounded = seekable ? { maxBlockBytes: options.maxBlockBytes ?? Number.MAX_SAFE_INTEGER } : {}
    return await importCarFrom(target, openStream, { ...options, ...bounded, checkFirst: seekable })
  } finally {
    for (const stream of streams) stream.destroy()
    await handle.close().catch(() => {})
  }
}
