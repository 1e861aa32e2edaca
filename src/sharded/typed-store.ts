import { CID } from 'multiformats/cid'
import { formatId } from '../cas/id.js'
import type { AbortOptions, Codec, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { StoreError } from '../errors.js'
import { callStore } from '../hamt/loader.js'
import { traceLoad } from '../telemetry/hooks.js'

/**
 * `store` with its failures typed as the HAMT's are: an error of the store's own kind becomes a
 * StoreError naming the call and keeping the cause; ours (BlockNotFoundError, …) and aborts pass.
 */
export function withTypedErrors(store: ContentAddressedStore): ContentAddressedStore {
  const typed: ContentAddressedStore = {
    load: (id, options) =>
      callStore(
        () => `loading ${formatId(id)}`,
        () => traceLoad(store, id, options),
        options?.signal,
      ),
    save: (data, codec, options) =>
      callStore(
        () => `saving a ${codec} block`,
        () => store.save(data, codec, options),
        options?.signal,
      ),
  }
  const flush = store.flush
  if (typeof flush === 'function') {
    typed.flush = (options) =>
      callStore(
        () => 'writing buffered blocks to the store',
        () => flush.call(store, options),
        options?.signal,
      )
  }
  return typed
}

/**
 * Saves a block and insists on a CID: shard entries and root links are CBOR tag-42 links, so a
 * store with bare multihash IDs (MemoryStore, py-hamt's InMemoryCAS) cannot hold a sharded Zarr.
 */
export async function saveForCid(
  store: ContentAddressedStore,
  data: Uint8Array,
  codec: Codec,
  options?: AbortOptions,
): Promise<CID> {
  const id: StoreId = await store.save(data, codec, options)
  const cid = CID.asCID(id)
  if (cid === null) {
    throw new StoreError(
      `the sharded Zarr store needs a store whose IDs are CIDs (such as KuboStore); it returned ${formatId(id)}`,
    )
  }
  return cid
}
