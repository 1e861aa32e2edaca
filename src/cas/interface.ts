import type { CID } from 'multiformats/cid'

/** How a block is meant to be decoded: `raw` for values, `dag-cbor` for HAMT nodes. */
export type Codec = 'raw' | 'dag-cbor'

/**
 * The ID a store gives a block: a CID (IPFS stores) or the bytes of a multihash (in-memory store,
 * as py-hamt's `InMemoryCAS`). Stored inside nodes as a CBOR tag-42 link or a CBOR byte string.
 */
export type StoreId = CID | Uint8Array

/**
 * Which bytes of a value to read: `offset` and `length`, `offset` to the end, or the last `suffix` bytes.
 * Every requested byte must lie inside the value.
 */
export type ByteRange = { offset: number; length?: number } | { suffix: number }

export interface AbortOptions {
  signal?: AbortSignal
}

export interface LoadOptions extends AbortOptions {
  range?: ByteRange
}

/**
 * The whole storage contract: save bytes, get back an immutable ID; load bytes by ID.
 * A missing ID is a `BlockNotFoundError`; a range outside the block a `RangeNotSatisfiableError`.
 */
export interface ContentAddressedStore {
  save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId>
  load(id: StoreId, options?: LoadOptions): Promise<Uint8Array>
  /**
   * Optional: makes every block saved so far durable, for stores that buffer writes. `HAMT.flush()`
   * calls it after saving its nodes and before it commits the new root; if it throws, the map keeps
   * its changes and the flush can be retried.
   */
  flush?(options?: AbortOptions): Promise<void>
}
