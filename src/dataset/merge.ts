import { formatId, toStoreId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { HAMT } from '../hamt/hamt.js'
import { callStore } from '../hamt/loader.js'
import type { MergeResolver } from '../hamt/merge.js'
import { zarrLayoutOf } from './open.js'

export interface ZarrMergeOptions extends AbortOptions {
  /** The store holding the three versions; the merged root's new nodes are saved there. */
  store: ContentAddressedStore
  /** Settles a key (a chunk or a metadata document) both writers changed differently; its values are bytes. */
  resolve?: MergeResolver<Uint8Array>
}

/**
 * Three-way merge of two versions `a` and `b` of a Zarr dataset on a HAMT root, both written from
 * `base` (as `HAMT.merge` with `valuesAreBytes`): chunks and metadata written by one writer are kept,
 * a document written identically by several writers (the same `zarr.json`) is no conflict, keys
 * written differently go to `resolve` or fail with `ERR_MERGE_CONFLICT` before anything is written.
 * Writers that each write their own chunks of one array from the same base, merged in any order,
 * give exactly the root of one writer writing every chunk. Roots on py-hamt's sharded layout are an
 * `ERR_INVALID_ARGUMENT` (not supported). Maps written with another bucket size or hash are not.
 *
 * @example
 * ```ts
 * // base: the dataset with its zarr.json; a, b: two writers' roots, each with its own chunks
 * declare const base: CID, a: CID, b: CID
 * const merged = await mergeZarrRoots(base, a, b, { store })
 * ```
 */
export async function mergeZarrRoots(
  base: StoreId | string,
  a: StoreId | string,
  b: StoreId | string,
  options: ZarrMergeOptions,
): Promise<StoreId> {
  const roots = { base: toStoreId(base, 'base'), a: toStoreId(a, 'a'), b: toStoreId(b, 'b') }
  const { store, signal } = options
  for (const [name, id] of Object.entries(roots)) {
    const block = await callStore(
      () => `loading block ${formatId(id)}`,
      () => store.load(id, { signal }),
      signal,
    )
    const layout = zarrLayoutOf(block, formatId(id))
    if (layout.kind !== 'hamt') {
      throw new InvalidArgumentError(
        `${name} is a sharded Zarr root: merging sharded roots is not supported (merge HAMT roots, ` +
          'then convert the result with convertHamtToSharded)',
      )
    }
  }
  return HAMT.merge<Uint8Array>(roots.base, roots.a, roots.b, { ...options, valuesAreBytes: true })
}
