import type { AbortOptions, ByteRange, ContentAddressedStore, StoreId } from '../cas/interface.js'

/**
 * Hashes a key's UTF-8 bytes. Must return a non-empty `Uint8Array`, the same for the same input and of
 * one length for every input; one that throws or breaks this is `ERR_INVALID_HASH`, and nothing changes.
 * It may return the same buffer every time: the map copies each digest.
 */
export type HashFn = (data: Uint8Array) => Uint8Array

export interface HAMTOptions {
  /** Where nodes and values are saved. */
  store: ContentAddressedStore
  /** Hash of the key bytes; default BLAKE3 with a 32-byte output (py-hamt's default). */
  hashFn?: HashFn
  /** Keys a bucket holds before it splits into a child node; default 4, at least 1. Only affects writes. */
  maxBucketSize?: number
  /** Store values as given bytes instead of DAG-CBOR encoding them; default false. */
  valuesAreBytes?: boolean
  /** Refuse writes; reads then run without any lock. Default: false for `HAMT.create`, true for `HAMT.open`. */
  readOnly?: boolean
  /** Budget of the cache of clean nodes, in encoded bytes; default 32 MiB. */
  cacheBytes?: number
  /** Node saves in flight at once during `flush()`; default 16. */
  flushConcurrency?: number
}

export interface GetOptions extends AbortOptions {
  /** Read only these bytes of the stored value; the result is then the raw bytes, not decoded. */
  range?: ByteRange
}

/** What the map holds in memory. Byte counts are of encoded nodes (their size in the store). */
export interface CacheStats {
  /** Clean nodes held by the read cache. */
  cachedNodes: number
  cachedBytes: number
  /** Nodes with changes that only `flush()` writes to the store. */
  dirtyNodes: number
  /** Estimated encoded size of the dirty nodes. */
  dirtyBytes: number
}

/** One node of the tree, as `HAMT.nodes()` yields it. */
export interface HAMTNode {
  /** The node's store ID; undefined for a node with unflushed changes. */
  readonly id: StoreId | undefined
  /** Its depth: 0 for the root. */
  readonly depth: number
  /** Its encoded size in bytes as stored; undefined for a node with unflushed changes. */
  readonly bytes: number | undefined
  /** The key count of each of its buckets, in slot order. */
  readonly buckets: readonly number[]
  /** Its links to child nodes. */
  readonly links: number
}

export interface NodesOptions extends AbortOptions {
  /** Nodes of one level loaded at once; default 16. */
  concurrency?: number
}

/** How a key differs between two maps: only in the second, only in the first, or in both with other values. */
export type ChangeKind = 'added' | 'removed' | 'changed'

/** One key that differs between two maps, as `HAMT.diff` yields it. */
export interface MapChange<V = unknown> {
  readonly key: string
  readonly kind: ChangeKind
  /** The value in the first map; absent for `added`, and with `keysOnly`. */
  readonly before?: V
  /** The value in the second map; absent for `removed`, and with `keysOnly`. */
  readonly after?: V
}

export interface DiffOptions extends AbortOptions {
  /** Yield keys and kinds only, without loading any value; default false. */
  keysOnly?: boolean
}
