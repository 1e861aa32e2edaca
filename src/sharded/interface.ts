import type { CID } from 'multiformats/cid'
import type { AbortOptions, ContentAddressedStore } from '../cas/interface.js'
import type { ChunkGrid } from './geometry.js'
import type { ShardReadMode } from './read-mode.js'

/** The two root layouts of py-hamt's `ShardedZarrStore`; 3.6.0 writes v1 from a shape, v2 otherwise. */
export type ManifestVersion = 'sharded_zarr_v1' | 'sharded_zarr_v2'

export const SHARDED_V1: ManifestVersion = 'sharded_zarr_v1'
export const SHARDED_V2: ManifestVersion = 'sharded_zarr_v2'

/** One entry of a shard: the CID of a chunk, or null where there is no chunk. */
export type ShardEntry = CID | null

/** The shard index of one array: its grid and one CID (or null: all empty) per shard. */
export interface ArrayIndex {
  /** Array path without leading or trailing slash (`""` for the root array, `0/temp`). */
  path: string
  grid: ChunkGrid
  shardCids: ShardEntry[]
}

/** The decoded root of a sharded store, as plain data; its version's layout (`layout-v1.ts`, `layout-v2.ts`) reads and writes it, `ShardedRoot` owns it. */
export interface RootState {
  version: ManifestVersion
  /** Zarr metadata keys (and, in v1, the chunks of arrays that are not sharded) to their CIDs. */
  metadata: Map<string, CID>
  /** v1: exactly one index under `""`; v2: one per array path. */
  arrays: Map<string, ArrayIndex>
  /** v1 only: `chunks.primary_array_path` when the root records it. */
  recordedPrimary: string | undefined
  /** Fields this library does not interpret, kept as read: top level (v2 `store_type`, …), v1 `chunks`, v1 `sharding_config`. */
  extras: {
    root: Record<string, unknown>
    chunks: Record<string, unknown>
    shardingConfig: Record<string, unknown>
  }
}

/** Options of {@link ShardedZarrStore.open} and {@link ShardedZarrStore.create}. */
export interface ShardedStoreOptions extends AbortOptions {
  /** The store holding the root, shards, metadata and chunks. Writes need one that gives CIDs (KuboStore). */
  store: ContentAddressedStore
  /** Refuse writes. Default: false for `create`, true for `open`. */
  readOnly?: boolean
  /** Upper bound on the bytes of decoded shards kept in memory (shards with unflushed changes are always kept); default 100 MiB. */
  cacheBytes?: number
  /**
   * How a read-only store reads a shard it has not cached (py-hamt 3.6.0's `shard_read_mode`):
   * `'full'` (default; py-hamt's is `'auto'`), `'sparse'` or `'auto'`; see {@link ShardReadMode}. A writable store reads full.
   */
  shardReadMode?: ShardReadMode
}

/** What a new store looks like; see {@link ShardedZarrStore.create}. */
export interface CreateShardedOptions extends ShardedStoreOptions {
  /** Number of chunk CIDs per shard. */
  chunksPerShard: number
  /** Shape of the (primary) array; with `chunkShape`, seeds its index. Required for v1. */
  arrayShape?: readonly number[]
  chunkShape?: readonly number[]
  /** Default: v1 when a shape is given, v2 otherwise (as py-hamt 3.6.0). */
  manifestVersion?: ManifestVersion
  /** v2: the path of the array seeded from `arrayShape`; default `""`. */
  primaryArrayPath?: string
}

/** Progress of {@link convertHamtToSharded}: keys copied so far, of `total`, and the phase. */
export interface ConversionProgress {
  phase: 'metadata' | 'chunks' | 'flush'
  done: number
  total: number
}
