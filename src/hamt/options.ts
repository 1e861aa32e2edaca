import { copyId } from '../cas/id.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { integerOption } from '../check.js'
import { describeValue, InvalidArgumentError } from '../errors.js'
import { blake3, loadBlake3 } from '../hash/blake3.js'
import type { HAMTOptions, HashFn } from './interface.js'

export const DEFAULTS = { maxBucketSize: 4, cacheBytes: 32 << 20, flushConcurrency: 16 }

/** Checks options at the boundary and returns the hash function to use. */
export async function checkOptions(options: HAMTOptions): Promise<HashFn> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options must be an object with at least { store }')
  }
  const { store, maxBucketSize, cacheBytes, flushConcurrency, hashFn } = options
  if (typeof store?.save !== 'function' || typeof store?.load !== 'function') {
    throw new InvalidArgumentError('options.store must have save(data, codec) and load(id) methods')
  }
  integerOption('options.maxBucketSize', maxBucketSize, DEFAULTS.maxBucketSize)
  integerOption('options.flushConcurrency', flushConcurrency, DEFAULTS.flushConcurrency)
  integerOption('options.cacheBytes', cacheBytes, DEFAULTS.cacheBytes, 0)
  if (hashFn === undefined) {
    await loadBlake3()
    return blake3
  }
  if (typeof hashFn !== 'function')
    throw new InvalidArgumentError(`options.hashFn must be a function, got ${describeValue(hashFn)}`)
  return hashFn
}

/**
 * `HAMT.open`'s arguments: the root checked first, then the options, then an IPNS name resolved; the
 * root ID returned is a copy, since the caller may transfer the buffer of the ID it gave.
 */
export async function checkOpen(
  rootId: StoreId | string,
  options: HAMTOptions & AbortOptions,
): Promise<{ hashFn: HashFn; id: StoreId }> {
  const root = rootArgument(rootId, 'rootId', options?.store)
  const hashFn = await checkOptions(options)
  return { hashFn, id: copyId(await resolveRootArgument(root, options.store, options.signal)) }
}
