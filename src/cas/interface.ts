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

/** Where an IPNS name led: the root it names now, and the record that said so. */
export interface ResolvedName {
  /** The name asked for, as `/ipns/k51…` (base36 libp2p-key, however it was given). */
  name: string
  /** The root the name points to (after following any names it points to). */
  cid: CID
  /**
   * A path after `cid` in the record's value (`/ipfs/<cid>/a/b` → `/a/b`); `''` for none. The
   * openers follow it over the store's verified blocks (dag-pb directory names, dag-cbor fields).
   */
  path: string
  /** The name's record's value, as published (`/ipfs/<cid>…` or `/ipns/<name>…`). */
  value: string
  /** The record's sequence (a newer record has a higher one); absent when a Kubo node resolved it. */
  sequence?: bigint
  /** When the record stops being valid (RFC 3339); absent when a Kubo node resolved it. */
  validity?: string
}

/**
 * Where a reader keeps the newest signed IPNS record it verified of each name (`/ipns/k51…` to the
 * record's bytes), so that a gateway cannot move a name back to an older record. A `Map` fits; so
 * does one a user backs with disk, to keep it across processes. What it returns is verified again
 * before use, so a damaged memory can lose the protection but never make a name resolve elsewhere.
 */
export interface IpnsRecordMemory {
  get(name: string): Uint8Array | undefined | Promise<Uint8Array | undefined>
  set(name: string, record: Uint8Array): unknown
}

/** Options of {@link NameResolver.resolveName}. */
export interface ResolveNameOptions extends AbortOptions {
  /**
   * With several gateways: take the first valid record (`'first'`, the default: one request, as a
   * block read), or ask every gateway and keep the highest sequence (`'all'`).
   */
  ask?: 'first' | 'all'
}

/**
 * A store that can follow IPNS names to roots (`TrustlessGatewayStore` and `KuboStore`): every
 * opener that takes a root then also takes `/ipns/<name>`, resolved once when it opens.
 */
export interface NameResolver {
  resolveName(name: string, options?: ResolveNameOptions): Promise<ResolvedName>
}
