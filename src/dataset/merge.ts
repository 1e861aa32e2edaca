import { formatId, toCid } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { InvalidArgumentError } from '../errors.js'
import { HAMT } from '../hamt/hamt.js'
import { callStore } from '../hamt/loader.js'
import type { MergeResolver } from '../hamt/merge.js'
import type { RootState } from '../sharded/interface.js'
import { decodeRoot } from '../sharded/layout.js'
import { mergeShardedRoots } from '../sharded/merge.js'
import { zarrLayoutOf } from './open.js'

export interface ZarrMergeOptions extends AbortOptions {
  /** The store holding the three versions; the merged root's new nodes are saved there. */
  store: ContentAddressedStore
  /** Settles a key (a chunk or a metadata document) both writers changed differently; its values are bytes. */
  resolve?: MergeResolver<Uint8Array>
}

/**
 * Three-way merge of two versions `a` and `b` of a Zarr dataset, both written from `base`: chunks
 * and metadata written by one writer are kept, a document written identically by several writers
 * (the same `zarr.json`) is no conflict, keys written differently go to `resolve` or fail with
 * `ERR_MERGE_CONFLICT` before anything is written. Writers that each write their own chunks of one
 * array from the same base, merged in any order, give exactly the root of one writer writing every
 * chunk. On a HAMT root it is `HAMT.merge` with `valuesAreBytes` (pass no other bucket size or hash);
 * on py-hamt's sharded layout (all three of one manifest version) metadata and chunk entries are
 * merged by CID, reading only the shards whose CIDs differ. Mixed layouts are an `ERR_INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * // hamtRoot: the dataset with its zarr.json; root, rootCid: two writers' roots made from it
 * const merged = await mergeZarrRoots(hamtRoot, root, rootCid, { store })
 * ```
 */
export async function mergeZarrRoots(
  base: StoreId | string,
  a: StoreId | string,
  b: StoreId | string,
  options: ZarrMergeOptions,
): Promise<StoreId> {
  const { store, signal } = options
  // Each argument checked at the call, names resolved after.
  const [baseArg, aArg, bArg] = [
    rootArgument(base, 'base', store),
    rootArgument(a, 'a', store),
    rootArgument(b, 'b', store),
  ]
  const roots = {
    base: await resolveRootArgument(baseArg, store, signal),
    a: await resolveRootArgument(aArg, store, signal),
    b: await resolveRootArgument(bArg, store, signal),
  }
  const blocks = await Promise.all(
    Object.values(roots).map((id) =>
      callStore(
        () => `loading block ${formatId(id)}`,
        () => store.load(id, { signal }),
        signal,
      ),
    ),
  )
  const layouts = Object.keys(roots).map((name, i) => [
    name,
    zarrLayoutOf(blocks[i] as Uint8Array, name).kind,
  ])
  if (layouts.every(([, kind]) => kind === 'hamt')) {
    return HAMT.merge<Uint8Array>(roots.base, roots.a, roots.b, { ...options, valuesAreBytes: true })
  }
  if (layouts.every(([, kind]) => kind === 'sharded')) {
    const [stateBase, stateA, stateB] = blocks.map((block) => decodeRoot(block)) as [
      RootState,
      RootState,
      RootState,
    ]
    const cids = { base: toCid(roots.base, 'base'), a: toCid(roots.a, 'a'), b: toCid(roots.b, 'b') }
    return mergeShardedRoots(cids, { base: stateBase, a: stateA, b: stateB }, options)
  }
  throw new InvalidArgumentError(
    `base, a and b mix layouts (${layouts.map(([name, kind]) => `${name}: ${kind}`).join(', ')}): a merge needs one`,
  )
}
