// The dataset layer's public types: how a dataset is opened, how values are selected by label or
// position, and what a read hands back.
import type { AbortOptions, ContentAddressedStore } from '../cas/interface.js'
import type { TrustlessGatewayStoreOptions } from '../cas/trustless-gateway.js'
import type { ShardReadMode } from '../sharded/read-mode.js'
import type { CFDatetime } from './cf-time.js'
import type { Method } from './lookup.js'
import type { IndexSlice, PositionIndexer } from './selection.js'

export type { IndexSlice, Method, PositionIndexer }

/** The part of a Helia node `openDataset` uses: its blockstore, and its hashers to check BLAKE3. */
export interface HeliaLike {
  blockstore: {
    get(cid: never, options?: AbortOptions): unknown
    put(cid: never, bytes: Uint8Array, options?: AbortOptions): unknown
    has(cid: never, options?: AbortOptions): unknown
  }
  getHasher?(code: number): unknown
}

/** Where the blocks come from: exactly one of `store`, `gateways` or `helia`. */
export interface OpenDatasetOptions extends AbortOptions {
  /** Any ts-hamt store (KuboStore, BlockstoreStore, MemoryStore, …). */
  store?: ContentAddressedStore
  /** Trustless gateway URLs: every block is checked against its CID. */
  gateways?: string | readonly string[]
  /** Options of the gateway store made for `gateways` (timeouts, fetch, …). */
  gatewayOptions?: Omit<TrustlessGatewayStoreOptions, 'gateways'>
  /** A Helia node (created with BLAKE3 among its hashers: `createHelia({ hashers: [blake3Hasher] })`). */
  helia?: HeliaLike
  /** For a dataset written with py-hamt's SimpleEncryptedZarrHAMTStore: its 32-byte key and header. */
  encryption?: { key: Uint8Array; header: Uint8Array | string }
  /**
   * The Zarr group that holds the dataset, or a chooser given the groups found. Default: the root
   * group when it holds arrays, else its only child group (a sharded v2 root keeps its dataset in a group).
   */
  group?: string | ((groups: readonly string[]) => string)
  /** For a sharded root: how shards are read (`'full'` default, `'sparse'`, `'auto'`; see ShardReadMode). */
  shardReadMode?: ShardReadMode
  /** For a sharded root: the byte budget of its decoded shards (default 100 MiB). */
  cacheBytes?: number
  /**
   * The byte budget of decoded chunks kept across the dataset's reads (least recently used evicted;
   * default 32 MiB, 0 for none): reading a point again, or a neighbour in the same chunk, loads and
   * decodes nothing. Concurrent reads of one chunk share its load either way.
   */
  chunkCacheBytes?: number
}

/** A label: a number in the coordinate's units, or a time as an ISO string, a `Date` or a `CFDatetime`. */
export type Label = number | bigint | string | Date | CFDatetime

/** A label slice: both ends included as in xarray; `step` counts positions. */
export interface LabelSlice {
  start?: Label
  stop?: Label
  step?: number
}

/** What `sel` takes for a dimension: one label (the dimension is dropped), a list, or a slice. */
export type LabelIndexer = Label | readonly Label[] | LabelSlice

export interface SelectOptions {
  /** How a label not in the coordinate is matched; default `'exact'`. */
  method?: Method
  /**
   * The largest distance a `method` may go from the label: a number in the coordinate's units (as
   * stored), or on a time coordinate a duration as pandas.Timedelta reads it (`'12h'`, `'1D'`,
   * `'30min'`, `'2 days'`, `'1h30m'`, ISO 8601 `'P1DT6H'`, `'1 days 02:00:00'`).
   */
  tolerance?: number | string
}

/** Which data variables a dataset helper keeps (default: all of them). */
export interface VariablesOption {
  /** Names of the variables to keep; their dimensions' coordinates come along. */
  variables?: readonly string[]
}

/** What `Dataset.timeRange` takes besides the range. */
export interface TimeRangeOptions extends VariablesOption {
  /** The time dimension (default: the one dimension with CF time units). */
  dim?: string
}

/** The values of a coordinate along a kept dimension, or its one value along a dropped one. */
export type CoordinateValue = number | string | CFDatetime | undefined
export type CoordinateValues = readonly CoordinateValue[]

export interface ReadProgress {
  /** Values read so far. */
  done: number
  /** Values in the whole selection. */
  total: number
}

export interface ReadOptions extends AbortOptions {
  /** Called after each block with how far the read is. */
  onProgress?: (progress: ReadProgress) => void
  /**
   * Values a streamed block holds at most (it is cut at chunk edges). Default 2^20, or one chunk's
   * extent along the first dimension read (up to 2^24) where that holds more, so no chunk is read twice.
   */
  maxBlockValues?: number
}

export interface LoadOptions extends ReadOptions {
  /** A selection larger than this is refused rather than held in memory; default 2^27 (1 GiB of doubles). */
  maxValues?: number
}

/** One streamed piece of a selection: a box of the result, in C order, where `start` says. */
export interface DataBlock {
  /** The block's first position along each of the result's dimensions. */
  readonly start: readonly number[]
  readonly shape: readonly number[]
  /** Offset of the block's first value in the whole result (C order). */
  readonly offset: number
  /** Decoded values (CF scale/offset applied, fill values NaN). */
  readonly values: Float64Array
}

/** A row of `toRecords()`: each dimension's label (times as ISO strings), then the value. */
export type DataRecord = Record<string, number | string | null>

/** A variable's CF encoding as read from its attributes. */
export interface VariableEncoding {
  /** The dtype xarray decodes to (`float32`, `float64`, …); reads hand out doubles either way. */
  dtype: string
  /** `_FillValue` as a number, if declared. */
  fillValue: number | bigint | undefined
  missingValues: Array<number | bigint> | undefined
  scaleFactor: number | undefined
  addOffset: number | undefined
  /** A CF time's units and calendar ('days since 2000-01-01', 'noleap'). */
  units?: string
  calendar?: string
}
