import { CarBufferReader } from '@ipld/car/buffer-reader'
import { CarBlockIterator } from '@ipld/car/iterator'
import type { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { IdMap } from '../cas/id-map.js'
import { checkVerifiable, verifyBlock } from '../cas/verify.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { raceAbort } from '../util/abort.js'
import type { BlockSink, CarSource, ImportCarOptions } from './interface.js'
import { linksOf } from './walk.js'

type CarBlock = { cid: CID; bytes: Uint8Array }

/**
 * Adds every block of a CAR file (v1 or v2) to `target`, then flushes it; returns the CAR's roots.
 * The CAR must be whole and right: every block matches its CID (BLAKE3, SHA-256 or identity: other
 * hashes cannot be checked and are refused) and decodes, and every block its blocks link to is in it
 * (or already in the target; an identity CID carries its block). A CAR given as bytes is checked in full before
 * the first block goes to the target, so a corrupt or truncated one leaves the target as it was; a
 * stream cannot be read twice, so from one, the blocks before a bad one may already be in the target
 * (never the bad one, and no root is returned). `importCarFile` reads its file twice to check first.
 *
 * @example
 * ```ts
 * const { roots: [root] } = await importCar(store, carBytes)
 * if (root === undefined) throw new Error('the CAR names no root')
 * const map = await HAMT.open(root, { store })
 * ```
 */
export async function importCar(
  target: BlockSink,
  car: CarSource,
  options: ImportCarOptions = {},
): Promise<{ roots: CID[]; blocks: number }> {
  checkTarget(target)
  if (car instanceof Uint8Array) return importCarFrom(target, () => car, options)
  return importCarFrom(target, () => car, { ...options, checkFirst: false })
}

/**
 * Imports the CAR that `open` yields (called once per pass). With `checkFirst` (the default), a
 * first pass checks every block and link without touching the target, and a second adds them.
 */
export async function importCarFrom(
  target: BlockSink,
  open: () => CarSource,
  options: ImportCarOptions & { checkFirst?: boolean } = {},
): Promise<{ roots: CID[]; blocks: number }> {
  checkTarget(target)
  const checkFirst = options.checkFirst ?? true
  if (checkFirst) await readCar(open(), target, options, undefined, true)
  // Hashed once by the check and once by the target (ours verify): not a third time in between.
  const imported = await readCar(
    open(),
    target,
    options,
    (cid, bytes) => target.putBlock(cid, bytes, { signal: options.signal }),
    !checkFirst,
  )
  await target.flush?.({ signal: options.signal })
  return imported
}

function checkTarget(target: BlockSink): void {
  if (typeof target?.putBlock !== 'function') {
    throw new InvalidArgumentError('target must be a store with putBlock (BlockstoreStore, KuboStore, …)')
  }
}

/**
 * Reads every block of the CAR, checking it against its CID (with `verify`) and reading its links
 * before handing it to `put` (when given); throws unless the CAR is whole. Progress is reported only while putting.
 */
async function readCar(
  car: CarSource,
  target: BlockSink,
  options: ImportCarOptions,
  put: ((cid: CID, bytes: Uint8Array) => Promise<void>) | undefined,
  verify: boolean,
): Promise<{ roots: CID[]; blocks: number }> {
  // Bytes are decoded at once, synchronously: the streaming decoder awaited several times a block
  // and made ~10 KiB of garbage each, which set the peak memory of importing tiny blocks.
  if (car instanceof Uint8Array) {
    let reader: CarBufferReader
    try {
      reader = CarBufferReader.fromBytes(car)
    } catch (error) {
      throw new InvalidValueError(`not a CAR file, or a corrupt one: ${(error as Error).message}`, {
        cause: error,
      })
    }
    return checkBlocks(reader.getRoots(), reader.blocks().values(), target, options, put, verify)
  }
  let reader: CarBlockIterator
  try {
    // Raced with the signal here and below: a stream that stops sending must not outlast an abort.
    reader = await raceAbort(CarBlockIterator.fromIterable(car), options.signal)
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw new InvalidValueError(`not a CAR file: ${(error as Error).message}`, { cause: error })
  }
  return checkBlocks(await reader.getRoots(), reader[Symbol.asyncIterator](), target, options, put, verify)
}

/** The body of {@link readCar} over decoded blocks (an iterator of a stream's blocks may throw). */
async function checkBlocks(
  roots: CID[],
  iterator: Iterator<CarBlock> | AsyncIterator<CarBlock>,
  target: BlockSink,
  options: ImportCarOptions,
  put: ((cid: CID, bytes: Uint8Array) => Promise<void>) | undefined,
  verify: boolean,
): Promise<{ roots: CID[]; blocks: number }> {
  // Blocks seen, and links not yet matched by a block: at the end those must be in the target.
  const imported = new IdMap<true>()
  const unresolved = new IdMap<CID>()
  /** A link must be matched by a block, unless it is an identity CID: then what its bytes link to must. */
  const need = (first: CID, index: number): void => {
    const pending = [first]
    for (let link = pending.pop(); link !== undefined; link = pending.pop()) {
      if (imported.has(link.multihash.bytes)) continue
      if (link.multihash.code !== identity.code) {
        unresolved.set(link.multihash.bytes, link)
        continue
      }
      imported.set(link.multihash.bytes, true)
      for (const inner of blockLinks(link, link.multihash.digest, index)) pending.push(inner)
    }
  }
  for (const root of roots) need(root, 0)
  let blocks = 0
  let bytes = 0
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      let next: IteratorResult<CarBlock>
      try {
        // A decoded CAR's blocks come synchronously: no promise a block for them.
        const result = iterator.next()
        next = result instanceof Promise ? await raceAbort(result, options.signal) : result
      } catch (error) {
        if (options.signal?.aborted) throw error
        throw new InvalidValueError(
          `the CAR file is corrupt after ${blocks} blocks: ${(error as Error).message}`,
          { cause: error },
        )
      }
      if (next.done) break
      const { cid, bytes: data } = next.value
      // A hash that cannot be checked is refused here, before any block reaches the target (our
      // stores refuse it too, but only once the blocks before it are in their write buffers).
      if (verify) {
        checkVerifiable(cid)
        await verifyBlock(cid, data, 'the CAR file')
      }
      const links = blockLinks(cid, data, blocks)
      await put?.(cid, data)
      imported.set(cid.multihash.bytes, true)
      unresolved.delete(cid.multihash.bytes)
      for (const link of links) need(link, blocks)
      blocks++
      bytes += data.length
      if (put !== undefined) options.onProgress?.({ blocks, bytes })
    }
  } finally {
    // Closes the source (a file stream) when the import stops early; not awaited after an abort,
    // where the source may be stalled in a read that a return would wait for.
    const closing = iterator.return?.()
    if (!options.signal?.aborted) await closing
    else Promise.resolve(closing).catch(() => {})
  }
  await checkComplete(
    target,
    [...unresolved.entries()].map(([, cid]) => cid),
    options,
  )
  return { roots, blocks }
}

function blockLinks(cid: CID, data: Uint8Array, index: number): CID[] {
  try {
    return linksOf(cid, data)
  } catch (error) {
    if (error instanceof InvalidValueError) throw error
    throw new InvalidValueError(
      `block ${index} of the CAR file (${cid}) does not decode: ${(error as Error).message}`,
      { cause: error },
    )
  }
}

/** Every root and link must be in the CAR or already in the target: a CAR cut between blocks is not whole. */
async function checkComplete(target: BlockSink, unresolved: CID[], options: ImportCarOptions): Promise<void> {
  const missing: CID[] = []
  for (const cid of unresolved) {
    if (!(await target.hasBlock?.(cid, { signal: options.signal }))) missing.push(cid)
  }
  if (missing.length > 0) {
    throw new InvalidValueError(
      `the CAR file is incomplete: ${missing.length} linked block(s) are in neither the CAR nor the store, first ${missing[0]}`,
    )
  }
}
