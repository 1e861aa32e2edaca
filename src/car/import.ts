import { CarBlockIterator } from '@ipld/car/iterator'
import type { CID } from 'multiformats/cid'
import { IdMap } from '../cas/id-map.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import type { BlockSink, ImportCarOptions } from './interface.js'
import { linksOf } from './walk.js'

/**
 * Adds every block of a CAR file (v1 or v2) to `target`, streaming, then flushes it; returns the
 * CAR's roots. Each block is checked against its CID by the target before it is kept, and the CAR
 * must be whole: every block its blocks link to is in it (or already in the target), so a corrupt
 * or truncated CAR stops with an error and no root is returned.
 *
 * @example
 * ```ts
 * const { roots } = await importCar(store, carBytes)
 * const map = await HAMT.open(roots[0], { store })
 * ```
 */
export async function importCar(
  target: BlockSink,
  car: Uint8Array | AsyncIterable<Uint8Array>,
  options: ImportCarOptions = {},
): Promise<{ roots: CID[]; blocks: number }> {
  if (typeof target?.putBlock !== 'function') {
    throw new InvalidArgumentError('target must be a store with putBlock (BlockstoreStore, KuboStore, …)')
  }
  let reader: CarBlockIterator
  try {
    reader =
      car instanceof Uint8Array
        ? await CarBlockIterator.fromBytes(car)
        : await CarBlockIterator.fromIterable(car)
  } catch (error) {
    throw new InvalidValueError(`not a CAR file: ${(error as Error).message}`, { cause: error })
  }
  const roots = await reader.getRoots()
  // Blocks seen, and links not yet matched by a block: at the end those must be in the target.
  const imported = new IdMap<true>()
  const unresolved = new IdMap<CID>()
  for (const root of roots) unresolved.set(root.multihash.bytes, root)
  let blocks = 0
  let bytes = 0
  const iterator = reader[Symbol.asyncIterator]()
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      let next: IteratorResult<{ cid: CID; bytes: Uint8Array }>
      try {
        next = await iterator.next()
      } catch (error) {
        throw new InvalidValueError(
          `the CAR file is corrupt after ${blocks} blocks: ${(error as Error).message}`,
          { cause: error },
        )
      }
      if (next.done) break
      const { cid, bytes: data } = next.value
      await target.putBlock(cid, data, { signal: options.signal })
      imported.set(cid.multihash.bytes, true)
      unresolved.delete(cid.multihash.bytes)
      for (const link of linksOf(cid, data)) {
        if (!imported.has(link.multihash.bytes)) unresolved.set(link.multihash.bytes, link)
      }
      blocks++
      bytes += data.length
      options.onProgress?.({ blocks, bytes })
    }
  } finally {
    // Closes the source (a file stream) when the import stops early.
    await iterator.return?.()
  }
  await checkComplete(
    target,
    [...unresolved.entries()].map(([, cid]) => cid),
    options,
  )
  await target.flush?.({ signal: options.signal })
  return { roots, blocks }
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
