import type { CID } from 'multiformats/cid'
import { copyBytes, toCid } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { sliceByteRange } from '../cas/range.js'
import { givenRootBlock } from '../cas/root-block.js'
import { InvalidArgumentError, ReadOnlyError, UnflushedChangesError } from '../errors.js'
import { traceZarrGet } from '../telemetry/hooks.js'
import type { RangeQuery, ZarrGetOptions } from '../zarr/interface.js'
import { hamtKey, isShardedMetadataKey, normalizePath, toByteRange } from '../zarr/keys.js'
import { ShardedCallOrder } from './call-order.js'
import { atCall } from './geometry.js'
import type { ArrayIndex, CreateShardedOptions, ManifestVersion, ShardedStoreOptions } from './interface.js'
import type { ChunkRef } from './keys.js'
import { decodeRoot, layoutOf } from './layout.js'
import { arrayInfos, childrenOf, keysNow, type ShardedArrayInfo } from './listing.js'
import { MetadataWriter } from './metadata-writer.js'
import { deleteV1KeysUnder, graftChunks, migrateV1ToV2, resizeArrayMetadata } from './operations.js'
import { checkCacheBytes, checkCreateOptions, checkStore } from './options.js'
import { inferV1Primary } from './primary.js'
import { checkShardReadMode, type ShardReadMode } from './read-mode.js'
import { ShardedRoot } from './root.js'
import { ShardTable } from './shard-table.js'
import { saveForCid, withTypedErrors } from './typed-store.js'

export type { ShardedArrayInfo }

/**
 * A Zarr v3 store for zarrita over py-hamt's sharded layout (`ShardedZarrStore`): a root with the
 * metadata and, per array, a list of shards, each a flat list of chunk CIDs. A point read costs the
 * root, one shard and the chunk. Reads and writes v1 and v2 roots as py-hamt 3.6.0 does, byte for byte.
 * A read-only store reads shards as `shardReadMode` says (py-hamt's `shard_read_mode`; default
 * `'full'`, py-hamt's is `'auto'`): see {@link ShardReadMode}.
 *
 * @example
 * ```ts
 * import * as zarr from 'zarrita'
 * const store = await ShardedZarrStore.open(rootCid, { store: new KuboStore({ rpcUrl: null, gateways: gatewayUrl }) })
 * const temp = await zarr.open(zarr.root(store).resolve('temp'), { kind: 'array' })
 * const series = await zarr.get(temp, [null, 10, 20])
 * // A known scan: decode each shard once and cache it, without auto's 256 reads to notice.
 * const scan = await ShardedZarrStore.open(rootCid, { store: new KuboStore({ rpcUrl: null }), shardReadMode: 'full' })
 * ```
 */
export class ShardedZarrStore {
  readonly #table: ShardTable
  readonly #root: ShardedRoot
  readonly #readOnly: boolean
  readonly #order = new ShardedCallOrder()
  readonly #metadata: MetadataWriter

  private constructor(table: ShardTable, readOnly: boolean, store: ContentAddressedStore) {
    this.#table = table
    this.#root = table.root
    this.#readOnly = readOnly
    this.#metadata = new MetadataWriter(table)
    if (!readOnly) table.registerWriter(store)
  }

  /**
   * Opens the store whose root has this CID, given as a CID, its string form or what a flush returned
   * (v1 or v2, told by `manifest_version`), or as an IPNS name (`/ipns/k51…`) when the store resolves
   * names (resolved once, here); read-only unless `readOnly: false`, as every opener.
   */
  static async open(rootId: StoreId | string, options: ShardedStoreOptions): Promise<ShardedZarrStore> {
    const given = rootArgument(rootId, 'rootId', options?.store)
    checkStore(options)
    const cid = toCid(await resolveRootArgument(given, options.store, options.signal), 'rootId')
    const cacheBytes = checkCacheBytes(options.cacheBytes)
    const readOnly = options.readOnly ?? true
    const asked = checkShardReadMode(options.shardReadMode)
    // A writable store reads full, so that its unsaved writes are seen (py-hamt does the same).
    const readMode = readOnly ? asked : 'full'
    const state = decodeRoot(
      givenRootBlock(options, cid) ?? (await withTypedErrors(options.store).load(cid, options)),
    )
    const root = new ShardedRoot(state, cid)
    const table = new ShardTable(options.store, root, cacheBytes, readMode)
    // A v1 root that does not record its array (older py-hamt): infer it from the metadata.
    if (root.primaryUnsettled) {
      const inferred = await inferV1Primary(table, options)
      // Recorded when writable, so that a later reopen routes the same way (as py-hamt does).
      if (inferred !== undefined) readOnly ? root.inferPrimary(inferred) : root.recordPrimary(inferred)
    }
    return new ShardedZarrStore(table, readOnly, options.store)
  }

  /**
   * Creates an empty store. With `arrayShape` and `chunkShape` it is a v1 root over that one array
   * (py-hamt 3.6.0's default for a shape); without, or with `manifestVersion: 'sharded_zarr_v2'`, a v2 root.
   */
  static async create(options: CreateShardedOptions): Promise<ShardedZarrStore> {
    const { version, grid } = checkCreateOptions(options)
    const array = grid && { path: normalizePath(options.primaryArrayPath ?? ''), grid }
    const root = new ShardedRoot(layoutOf(version).newRoot(options.chunksPerShard, array), undefined)
    const readOnly = options.readOnly ?? false
    const asked = checkShardReadMode(options.shardReadMode)
    const readMode = readOnly ? asked : 'full'
    const table = new ShardTable(options.store, root, checkCacheBytes(options.cacheBytes), readMode)
    return new ShardedZarrStore(table, readOnly, options.store)
  }

  get version(): ManifestVersion {
    return this.#table.state.version
  }

  get readOnly(): boolean {
    return this.#readOnly
  }

  /** The root CID; throws {@link UnflushedChangesError} while there are changes only in memory. */
  get rootId(): CID {
    const id = this.#root.savedId
    if (this.#table.hasUnflushedChanges || id === undefined) throw new UnflushedChangesError()
    return id
  }

  get hasUnflushedChanges(): boolean {
    return this.#table.hasUnflushedChanges
  }

  /** The sharded arrays (v1: the one index, under the primary array's path). */
  arrays(): ShardedArrayInfo[] {
    return arrayInfos(this.#table, this.#root)
  }

  /**
   * How shard misses are read now: the mode asked for (`'full'` in a writable store, whatever was
   * asked), or `'full'` once `'auto'` has switched after 256 reads of one shard.
   */
  get shardReadMode(): ShardReadMode {
    const { mode, readsFull } = this.#table.readMode
    return readsFull ? 'full' : mode
  }

  /** Size of the shard cache: estimated bytes, shards held, shards with unflushed changes. */
  cacheStats(): { bytes: number; shards: number; dirty: number } {
    return this.#table.cacheStats()
  }

  async get(path: string, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    const key = hamtKey(path)
    return traceZarrGet(
      'sharded_store',
      key,
      false,
      () => kindOf(key),
      () => this.#order.read(key, () => this.#read(key, undefined, options)),
    )
  }

  async getRange(path: string, range: RangeQuery, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    const byteRange = toByteRange(range)
    const key = hamtKey(path)
    return traceZarrGet(
      'sharded_store',
      key,
      true,
      () => kindOf(key),
      () => this.#order.read(key, () => this.#read(key, byteRange, options)),
    )
  }

  async has(path: string, options?: ZarrGetOptions): Promise<boolean> {
    const key = hamtKey(path)
    return this.#order.read(key, async () => (await this.#locate(key, options)) !== undefined)
  }

  async #locate(key: string, options?: AbortOptions): Promise<CID | undefined> {
    const state = this.#table.state
    const lookup = this.#root.readKey(key)
    const ref = this.#root.route(lookup)
    const index = ref === null ? undefined : this.#table.indexOf(ref.arrayPath)
    if (ref !== null && index !== undefined) {
      const cid = await this.#table.entry(index, ref.coords, options)
      if (cid !== null) return cid
    }
    // Legacy roots may hold a chunk key in the metadata map.
    return state.metadata.get(lookup)
  }

  async #read(
    key: string,
    range: { offset: number; length?: number } | { suffix: number } | undefined,
    options?: AbortOptions,
  ): Promise<Uint8Array | undefined> {
    const cached = this.#metadata.cached(this.#root.readKey(key))
    if (cached !== undefined) return range === undefined ? cached.slice() : sliceByteRange(cached, range)
    const cid = await this.#locate(key, options)
    if (cid === undefined) return undefined
    if (range === undefined) return this.#table.store.load(cid, options)
    return this.#table.store.load(cid, { ...options, range })
  }

  /** Writes a value: metadata to the root's map, a chunk's CID into its shard. */
  async set(path: string, value: Uint8Array): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('set')
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`value of ${key} must be a Uint8Array`)
    let data = value
    let started = false
    const writing = this.#inCallOrder(key, async (exclusive) => {
      started = true
      // Metadata (small) is kept to be read back: its own copy.
      if (exclusive && this.#root.route(key) === null)
        return this.#metadata.set(key, data === value ? copyBytes(data) : data)
      const cid = await saveForCid(this.#table.store, data, 'raw')
      await this.#table.holdWhile(cid, () => this.#setChunk(key, cid))
    })
    // A write waiting its turn gets a copy: the caller may refill its array meanwhile. One that began
    // hands the array to the store's save at the call, as a map's set does.
    if (!started) data = copyBytes(value)
    await writing
  }

  /**
   * Points `key` at an existing block (no upload), given as a CID or its string: what the converter
   * uses to reuse chunk CIDs.
   */
  async setPointer(path: string, pointer: CID | string): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('setPointer')
    const cid = toCid(pointer, `pointer of ${key}`)
    await this.#inCallOrder(key, async (exclusive) => {
      if (exclusive && this.#root.route(key) === null) return this.#metadata.setPointer(key, cid)
      await this.#setChunk(key, cid)
    })
  }

  /** Runs a write of `key` in call order: beside other chunk writes when it is a chunk of a settled layout. */
  #inCallOrder(key: string, write: (exclusive: boolean) => Promise<void>): Promise<void> {
    let shared: boolean
    try {
      shared = this.#root.route(key) !== null && !this.#root.primaryUnsettled
    } catch {
      shared = false // Writes queued before this one may make the key valid: it is routed again in turn.
    }
    return this.#order.write(key, shared, write)
  }

  async #setChunk(key: string, cid: CID): Promise<void> {
    const ref = this.#root.route(key)
    if (ref === null) return this.#metadata.record(key, cid)
    const index = this.#indexForWrite(ref, key)
    await this.#table.setEntry(index, ref.coords, cid)
    this.#afterChunkWrite(ref, key)
  }

  #indexForWrite(ref: ChunkRef, key: string): ArrayIndex {
    const index = this.#table.indexOf(ref.arrayPath)
    if (index === undefined) {
      throw new InvalidArgumentError(
        `chunk key ${JSON.stringify(key)}: no array ${JSON.stringify(ref.arrayPath)} is registered (write its zarr.json first)`,
      )
    }
    return index
  }

  #afterChunkWrite(ref: ChunkRef, key: string): void {
    // The chunk now lives in a shard: a copy in the legacy metadata map must not resurface.
    this.#metadata.forget(key)
    // v1: the first chunk write in call order decides which array is sharded (writes until then run alone).
    if (this.#root.primaryUnsettled) this.#root.recordPrimary(ref.arrayPath)
  }

  /** Removes a key; a missing key is not an error. */
  async delete(path: string): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('delete')
    await this.#order.structural(() => this.#deleteKey(key))
  }

  /** `delete` inside the structure lock. */
  async #deleteKey(key: string): Promise<void> {
    const ref = this.#root.route(key)
    const index = ref === null ? undefined : this.#table.indexOf(ref.arrayPath)
    if (ref !== null && index !== undefined) await this.#table.setEntry(index, ref.coords, null)
    this.#metadata.forget(key)
  }

  /**
   * Removes every key under `prefix` (all keys for `""`). v2 also drops the shard indexes of the
   * arrays under it, as py-hamt does (zarr calls this when an array is overwritten).
   */
  async deleteDir(prefix: string): Promise<void> {
    this.#assertWritable('deleteDir')
    const dir = normalizePath(prefix)
    // One turn of the lock, taken at the call: a write called after deleteDir applies after it.
    await this.#order.structural(async () => {
      if (!this.#root.layout.indexPerArray) return deleteV1KeysUnder(this.#table, this.#metadata, dir)
      const state = this.#table.state
      const inside = (path: string): boolean => dir === '' || path === dir || path.startsWith(`${dir}/`)
      for (const key of [...state.metadata.keys()])
        if (dir === '' || key.startsWith(`${dir}/`)) this.#metadata.forget(key)
      const removed = [...state.arrays.values()].filter((index) => inside(index.path))
      for (const index of removed) this.#table.forget(index)
      this.#root.removeArrays(removed)
    })
  }

  /** Removes every key (py-hamt's `clear`). */
  async clear(): Promise<void> {
    await this.deleteDir('')
  }

  /** The keys of the root's metadata map (`zarr.json`, `temp/zarr.json`, v1 coordinate chunks, …). */
  metadataKeys(): string[] {
    return [...this.#table.state.metadata.keys()]
  }

  /**
   * Every key: the metadata keys, then every chunk that has a CID, read a shard at a time. A
   * writable store lists in call order: the store as it is after the writes called before the
   * first key is asked for, whatever is called after (shards with unsaved changes are copied then).
   */
  async *list(options?: ZarrGetOptions): AsyncGenerator<string> {
    const now = () => keysNow(this.#table, this.#root)
    const keys = this.#readOnly ? now() : await this.#order.structural(async () => now(), options?.signal)
    yield* keys(options)
  }

  async *listPrefix(prefix: string, options?: ZarrGetOptions): AsyncGenerator<string> {
    for await (const key of this.list(options)) if (key.startsWith(prefix)) yield key
  }

  /** The direct children of a directory, each once (`listDir('temp')` gives `zarr.json` and `c`). */
  async *listDir(prefix = '', options?: ZarrGetOptions): AsyncGenerator<string> {
    const start = normalizePath(prefix) === '' ? '' : `${normalizePath(prefix)}/`
    yield* childrenOf(this.list(options), start)
  }

  /** Saves the changed shards and the root; returns the root CID. */
  async flush(options?: AbortOptions): Promise<CID> {
    return this.#order.structural(() => this.#table.flush(options))
  }

  /**
   * Gives a sharded array a new shape (v1: the one array; v2: `arrayPath`, default the first array).
   * Growing the first dimension keeps every shard; other changes move chunks to their new positions.
   * The array's `zarr.json` is not changed: see {@link ShardedZarrStore.resizeVariable}. `signal`
   * ends it (waiting its turn or loading shards) with nothing changed.
   */
  async resize(
    newShape: readonly number[],
    options: { arrayPath?: string } & AbortOptions = {},
  ): Promise<void> {
    this.#assertWritable('resize')
    const [shape, arrayPath, signal] = [atCall(newShape), options?.arrayPath, options?.signal]
    await this.#order.structural(async () => {
      const path = normalizePath(arrayPath ?? this.#root.primary.path ?? '')
      const index = this.#table.indexOf(path)
      if (index === undefined) throw new InvalidArgumentError(`no sharded array at ${JSON.stringify(path)}`)
      await this.#table.resize(index, shape, { signal })
    }, signal)
  }

  /** Rewrites the `shape` of an array's `zarr.json` (as py-hamt, indented by 2; no rank change); v2 resizes its index too. */
  async resizeVariable(name: string, newShape: readonly number[], options?: AbortOptions): Promise<void> {
    this.#assertWritable('resizeVariable')
    const [shape, signal] = [atCall(newShape), options?.signal]
    await this.#order.structural(
      () => resizeArrayMetadata(this.#table, this.#metadata, name, shape, { signal }),
      signal,
    )
  }

  /**
   * Copies every chunk CID of another sharded store (same store backend) into this one, shifted by
   * `chunkOffset` chunks. All or nothing: a chunk outside the target grid, a failed load or `signal`
   * (a source that never answers holds every later call) changes nothing.
   */
  async graft(
    sourceRootId: StoreId | string,
    chunkOffset: readonly number[],
    options: { sourceArrayPath?: string; targetArrayPath?: string } & AbortOptions = {},
  ): Promise<void> {
    this.#assertWritable('graft')
    const offset = atCall(chunkOffset)
    const { signal, ...paths } = { ...options }
    // The source opens in the graft's turn, taken at the call: a set or flush called after it applies after it.
    await this.#order.structural(async () => {
      const source = await ShardedZarrStore.open(sourceRootId, { store: this.#table.store, signal })
      await graftChunks(this.#table, source.#table, offset, paths, { signal })
    }, signal)
  }

  /**
   * Rewrites a v1 root as v2, the shards kept as they are under `primaryArrayPath`; flushes and
   * returns the new root CID. All or nothing: if it fails (or `signal` ends it), the store is the v1
   * store it was (flushed, if its turn came).
   */
  async migrateToV2(primaryArrayPath: string, options?: AbortOptions): Promise<CID> {
    this.#assertWritable('migrateToV2')
    const signal = options?.signal
    return this.#order.structural(async () => {
      await this.#table.flush({ signal })
      // Everything is saved and clean now: restoring the root alone restores the store.
      const restore = this.#root.checkpoint()
      try {
        await migrateV1ToV2(this.#table, this.#metadata, primaryArrayPath, { signal })
        return await this.#table.flush({ signal })
      } catch (error) {
        restore()
        this.#table.clearCache()
        this.#metadata.clearCache()
        throw error
      }
    }, signal)
  }

  #assertWritable(operation: string): void {
    if (this.#readOnly) {
      throw new ReadOnlyError(
        operation,
        'this sharded Zarr store is read-only (ShardedZarrStore.open reads unless given readOnly: false)',
      )
    }
  }
}

function kindOf(key: string): 'metadata' | 'chunk' {
  return isShardedMetadataKey(key) ? 'metadata' : 'chunk'
}
