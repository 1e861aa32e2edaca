import { CarBlockIterator } from '@ipld/car/iterator'
import type { CID } from 'multiformats/cid'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import type { BlockSink, ImportCarOptions } from './interface.js'

/**
 * Adds every block of a CAR file (v1 or v2) to `target`, streaming, then flushes it; returns the
 * CAR's roots. Each block is checked against its CID by the target before it is kept, so a
 * corrupt CAR stops with an error and no root is returned.
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
  let blocks = 0
  let bytes = 0
  const iterator = reader[Symbol.asyncIterator]()
  for (;;) {
    options.signal?.throwIfAborted()
    let next: IteratorResult<{ cid: CID; bytes: Uint8Array }>
    try {
      next = await iterator.next()
    } catch (error) {
      throw new InvalidValueError(
        `the CAR file is corrupt after ${blocks} blocks: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
    if (next.done) break
    await target.putBlock(next.value.cid, next.value.bytes, { signal: options.signal })
    blocks++
    bytes += next.value.bytes.length
    options.onProgress?.({ blocks, bytes })
  }
  await target.flush?.({ signal: options.signal })
  return { roots, blocks }
}
