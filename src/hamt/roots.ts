import type { StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { diffMaps } from './diff.js'
import type { DiffOptions, HAMTOptions, MapChange } from './interface.js'
import { type MergeOptions, mergeMaps, type OpenWritable } from './merge.js'

// The entry points that take roots rather than a map (`HAMT.diff`, `HAMT.merge`): each root argument
// is checked at the call, an IPNS name resolved when the work starts. They hold no state of their own.

/** The changes from root `from` to root `to` (see `HAMT.diff`); a bad root throws at the call. */
export function diffRoots<V>(
  from: StoreId | string,
  to: StoreId | string,
  options: HAMTOptions & DiffOptions,
): AsyncGenerator<MapChange<V>> {
  const [a, b] = [rootArgument(from, 'from', options?.store), rootArgument(to, 'to', options?.store)]
  return (async function* () {
    const resolve = (root: typeof a) => resolveRootArgument(root, options.store, options.signal)
    yield* diffMaps<V>(await resolve(a), await resolve(b), options)
  })()
}

/**
 * The three-way merge of roots `a` and `b` from `base` (see `HAMT.merge`); `openWritable` is given by
 * `HAMT.merge`, whose constructor is private.
 */
export async function mergeRoots<V>(
  base: StoreId | string,
  a: StoreId | string,
  b: StoreId | string,
  options: HAMTOptions & MergeOptions<V>,
  openWritable: OpenWritable,
): Promise<StoreId> {
  // Each argument checked at the call, names resolved after.
  const [baseArg, aArg, bArg] = [
    rootArgument(base, 'base', options?.store),
    rootArgument(a, 'a', options?.store),
    rootArgument(b, 'b', options?.store),
  ]
  const resolve = (root: typeof baseArg) => resolveRootArgument(root, options.store, options.signal)
  const ids = [await resolve(baseArg), await resolve(aArg), await resolve(bArg)] as const
  // A map on the merge's loader: the nodes the diffs read are in its cache.
  return mergeMaps<V>(...ids, options, openWritable)
}
