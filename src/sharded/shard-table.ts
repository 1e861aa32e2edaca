import type { CID } from 'multiformats/cid'
import { collectable, isCollectable, type UnflushedWriter, WriterView } from '../cas/collectable.js'
import type { AbortOptions, ContentAddressedStore } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { noteShardHit, traceShardLoad } from '../telemetry/hooks.js'
import { KeyedMutex } from '../util/keyed-mutex.js'
import { mapPool } from '../util/pool.js'
import { SingleFlight } from '../util/single-flight.js'
import { type ChunksNow, listChunks } from './chunk-listing.js'
import { type ChunkGrid, checkGeometry, describeShape, isIntegerList } from './geometry.js'
import type { ArrayIndex, RootState, ShardEntry } from './interface.js'
import { encodeRoot } from './layout.js'
import { encodeShard, ShardDecoder } from './manifest.js'
import { type ShardReadMode, ShardReadPolicy } from './read-mode.js'
import { remapShards } from './remap.js'
import type { ShardedRoot } from './root.js'
import { ShardCache } from './shard-cache.js'
import { decodeShardEntry, sameEntry } from './shard-entry.js'
import { saveForCid, withTypedErrors } from './typed-store.js'

/** How many shards a flush saves at once (py-hamt uses 8 too). */
const FLUSH_CONCURRENCY = 8

const cacheKey = (path: string, shard: number): string => `${path}\u0000${shard}`

/**
 * The shards of a sharded store's arrays: loads them into a bounded cache, changes entries under a
 * per-shard lock, and on flush saves only the shards that changed, then the root (owned by `root`).
 */
export class ShardTable {
  readonly store: ContentAddressedStore
  readonly root: ShardedRoot
  readonly #cache: ShardCache
  readonly #locks = new KeyedMutex()
  readonly #loading = new SingleFlight<string, ShardEntry[]>()
  /** Shard blocks being loaded for sparse reads: shared while in flight, never cached. */
  readonly #sparseLoading = new SingleFlight<string, Uint8Array>()
  readonly #readPolicy: ShardReadPolicy
  readonly #decoder = new ShardDecoder()
  /** A collectable store's view of the unflushed changes; held here, weakly by the store. */
  #writer: WriterView | undefined
  /** Where listings register the shard blocks they will read (a collectable store only). */
  readonly #listings: { addWriter(writer: UnflushedWriter): void } | undefined

  /**
   * `store` is used with its failures typed (see {@link withTypedErrors}). `readMode` applies to
   * {@link ShardTable.entry}; the caller passes `'full'` for a writable store.
   */
  constructor(store: ContentAddressedStore, root: ShardedRoot, cacheBytes: number, readMode: ShardReadMode) {
    this.store = withTypedErrors(store)
    this.#listings = isCollectable(store) ? store[collectable]() : undefined
    this.root = root
    this.#cache = new ShardCache(cacheBytes)
    this.#readPolicy = new ShardReadPolicy(readMode)
  }

  /**
   * For a writable table on a collectable store: a collection keeps the chunks and metadata its
   * unflushed changes link to (saved at once, in no root until the flush).
   */
  registerWriter(store: ContentAddressedStore): void {
    // Chunk writes count in the cache, metadata and array changes in the root: either is a cue.
    this.#writer ??= WriterView.on(
      store,
      () => this.#cache.changes + this.root.changes,
      () => this.#unflushedIds(),
    )
  }

  /**
   * Runs `write` (putting the chunk `cid` just saved in its shard) with the chunk kept by collections
   * meanwhile: it may be written already, and its shard's load may wait.
   */
  async holdWhile<T>(cid: CID, write: () => Promise<T>): Promise<T> {
    const release = this.#writer?.hold(cid)
    try {
      return await write()
    } finally {
      release?.()
    }
  }

  /** What the unflushed changes link to (the chunks in flight are the view's own). */
  *#unflushedIds(): Iterable<CID> {
    if (!this.hasUnflushedChanges) return
    for (const entries of this.#cache.dirtyEntries()) for (const cid of entries) if (cid !== null) yield cid
    // The root's own links (metadata, shards not changed): the base may not be a kept root.
    yield* this.state.metadata.values()
    for (const index of this.state.arrays.values())
      for (const cid of index.shardCids) if (cid !== null) yield cid
  }

  /** The shard read mode, and whether `auto` has switched to full reads. */
  get readMode(): { mode: ShardReadMode; readsFull: boolean } {
    return { mode: this.#readPolicy.mode, readsFull: this.#readPolicy.readsFull }
  }

  /** The root state (read only: changes go through {@link ShardTable.root}). */
  get state(): RootState {
    return this.root.state
  }

  cacheStats(): { bytes: number; shards: number; dirty: number } {
    return this.#cache.stats()
  }

  /** The index of the array at `path` (v1: the single index), or undefined. */
  indexOf(path: string): ArrayIndex | undefined {
    return this.root.indexOf(path)
  }

  /**
   * The entries of one shard: from the cache, else loaded (one load however many callers ask).
   * Loads are shared per shard *and* CID: a load of a shard that a resize, deleteDir or migration
   * has since replaced is never joined by a reader of the new one.
   */
  async shard(index: ArrayIndex, shard: number, options?: AbortOptions): Promise<ShardEntry[]> {
    const key = cacheKey(index.path, shard)
    const cached = this.#cache.get(key)
    if (cached !== undefined) return noteShardHit(shard, cached)
    const id = index.shardCids[shard] ?? null
    return this.#loading.run(
      `${key}\u0000${id ?? ''}`,
      (signal) => traceShardLoad(shard, index.path, () => this.#load(index, shard, id, signal)),
      options?.signal,
      () => this.#cache.get(key),
    )
  }

  async #load(index: ArrayIndex, shard: number, id: ShardEntry, signal?: AbortSignal): Promise<ShardEntry[]> {
    const key = cacheKey(index.path, shard)
    const size = index.grid.chunksPerShard
    if (id === null) {
      const empty = new Array<ShardEntry>(size).fill(null)
      this.#cache.put(key, empty)
      return empty
    }
    const bytes = await this.store.load(id, { signal })
    const entries = this.#decoder.decode(
      id,
      bytes,
      size,
      `shard ${shard} (${id}) of array ${JSON.stringify(index.path)}`,
    )
    // Replaced while it loaded (the index dropped, or this shard relinked): the entries are only the caller's.
    if (this.state.arrays.get(index.path) !== index || !sameEntry(index.shardCids[shard] ?? null, id))
      return entries
    // A write may have cached (and changed) this shard while it loaded: that copy wins.
    const raced = this.#cache.get(key)
    if (raced !== undefined) return raced
    this.#cache.put(key, entries)
    return entries
  }

  /** True when a shard was never written: no CID and nothing in memory (reading it costs nothing). */
  #unwritten(index: ArrayIndex, shard: number): boolean {
    return (index.shardCids[shard] ?? null) === null && !this.#cache.has(cacheKey(index.path, shard))
  }

  /** The chunk CID at `coords` of an array, or null; a cache miss is read as the read mode says. */
  async entry(index: ArrayIndex, coords: readonly number[], options?: AbortOptions): Promise<ShardEntry> {
    const { shard, position } = index.grid.slotOf(coords)
    if (this.#unwritten(index, shard)) return null
    const key = cacheKey(index.path, shard)
    const cached = this.#cache.get(key)
    if (cached !== undefined) return noteShardHit(shard, cached)[position] ?? null
    const id = index.shardCids[shard] ?? null
    if (id !== null && this.#readPolicy.sparse(key))
      return this.#sparseEntry(index, shard, id, position, options)
    return (await this.shard(index, shard, options))[position] ?? null
  }

  /** One entry from the whole (verified) shard block, the others left undecoded and nothing cached. */
  async #sparseEntry(
    index: ArrayIndex,
    shard: number,
    id: CID,
    position: number,
    options?: AbortOptions,
  ): Promise<ShardEntry> {
    const bytes = await this.#sparseLoading.run(
      `${cacheKey(index.path, shard)}\u0000${id}`,
      (signal) => this.store.load(id, { signal }),
      options?.signal,
    )
    const label = `shard ${shard} (${id}) of array ${JSON.stringify(index.path)}`
    return decodeShardEntry(bytes, index.grid.chunksPerShard, position, label)
  }

  /**
   * Sets the chunk CID at `coords` (null: no chunk) under that shard's lock. Only a change makes
   * the shard dirty: deleting an absent chunk or setting the CID it has leaves the root as it was
   * (py-hamt 3.6.0 does the same, and zarr deletes every all-fill chunk).
   */
  async setEntry(index: ArrayIndex, coords: readonly number[], entry: ShardEntry): Promise<void> {
    const { shard, position } = index.grid.slotOf(coords)
    const key = cacheKey(index.path, shard)
    await this.#locks.run(key, async () => {
      if (entry === null && this.#unwritten(index, shard)) return
      const entries = await this.shard(index, shard)
      if (sameEntry(entries[position] ?? null, entry)) return
      // Evicted since it loaded (clean shards may go at once under a small bound): our copy is current.
      if (!this.#cache.has(key)) this.#cache.put(key, entries, true)
      this.#cache.setEntry(key, position, entry)
    })
  }

  /**
   * Sets many entries given in batches, all or nothing: each shard they touch is copied when its
   * first update comes (8 B an entry, whatever the updates), and the changed copies go in at once
   * after the last batch; batches that throw midway change nothing. The caller holds the structure
   * lock alone.
   */
  async setEntries(
    index: ArrayIndex,
    batches: Iterable<EntryBatch> | AsyncIterable<EntryBatch>,
    options?: AbortOptions,
  ): Promise<void> {
    // Per shard: its entries (undefined: never written and nothing set yet), and whether they changed.
    const staged = new Map<number, { entries: ShardEntry[] | undefined; changed: boolean }>()
    for await (const batch of batches) {
      for (const [coords, entry] of batch) {
        const { shard, position } = index.grid.slotOf(coords)
        let at = staged.get(shard)
        if (at === undefined) {
          const entries = this.#unwritten(index, shard)
            ? undefined
            : [...(await this.shard(index, shard, options))]
          at = { entries, changed: false }
          staged.set(shard, at)
        }
        if (at.entries === undefined) {
          if (entry === null) continue
          at.entries = new Array<ShardEntry>(index.grid.chunksPerShard).fill(null)
        }
        if (sameEntry(at.entries[position] ?? null, entry)) continue
        at.entries[position] = entry
        at.changed = true
      }
    }
    for (const [shard, { entries, changed }] of staged)
      if (changed) this.#cache.put(cacheKey(index.path, shard), entries as ShardEntry[], true)
  }

  /**
   * Every chunk of an array that has a CID now, as `[coords, cid]`, read shard by shard when the
   * function returned is called (one shard in memory at a time), whatever changes meanwhile:
   * shards with unsaved changes are copied now, the others read by the CID they have now.
   */
  chunksNow(index: ArrayIndex): ChunksNow {
    const unsaved = new Map<number, ShardEntry[]>()
    const prefix = cacheKey(index.path, 0).slice(0, -1)
    for (const key of this.#cache.dirtyKeys()) {
      if (!key.startsWith(prefix)) continue
      unsaved.set(Number(key.slice(prefix.length)), [...(this.#cache.get(key) as ShardEntry[])])
    }
    return listChunks(index, unsaved, {
      savedShard: (saved, shard, id, options) => this.#savedShard(saved, shard, id, options),
      listings: this.#listings,
    })
  }

  /** A copy of the entries of the shard block `id` (through the cache while the table still links it unchanged). */
  async #savedShard(
    index: ArrayIndex,
    shard: number,
    id: CID,
    options?: AbortOptions,
  ): Promise<ShardEntry[]> {
    const current = this.state.arrays.get(index.path)
    const key = cacheKey(index.path, shard)
    const linked = (): boolean =>
      current !== undefined &&
      this.state.arrays.get(index.path) === current &&
      sameEntry(current.shardCids[shard] ?? null, id) &&
      !this.#cache.isDirty(key)
    if (linked()) {
      const entries = await this.shard(current as ArrayIndex, shard, options)
      // A write while it loaded may have changed the table's copy: then the block itself is read.
      if (linked()) return [...entries]
    }
    const bytes = await this.store.load(id, options)
    return this.#decoder.decode(
      id,
      bytes,
      index.grid.chunksPerShard,
      `shard ${shard} (${id}) of array ${JSON.stringify(index.path)}`,
    )
  }

  /**
   * Gives an array a new shape. Growing the first dimension only appends to the row-major grid, so
   * shards stay as they are; any other change moves every chunk to its new linear position.
   */
  async resize(index: ArrayIndex, newShape: readonly number[], options?: AbortOptions): Promise<void> {
    const old = index.grid
    if (!Array.isArray(newShape) || newShape.length !== old.arrayShape.length || !isIntegerList(newShape)) {
      throw new InvalidArgumentError(
        `new shape ${describeShape(newShape)} must be ${old.arrayShape.length} non-negative integers`,
      )
    }
    const problem = checkGeometry(newShape, old.chunkShape, old.chunksPerShard)
    if (problem !== undefined) throw new InvalidArgumentError(`new shape: ${problem}`)
    const grid = old.withShape(newShape)
    const appendOnly =
      old.arrayShape.length > 0 &&
      (newShape[0] as number) >= (old.arrayShape[0] as number) &&
      newShape.slice(1).every((n, i) => n === old.arrayShape[i + 1])
    if (appendOnly) {
      const shardCids = index.shardCids.slice(0, grid.shardCount)
      while (shardCids.length < grid.shardCount) shardCids.push(null)
      this.root.reshape(index, grid, shardCids)
      return
    }
    await this.#remap(index, old, grid, options)
  }

  async #remap(index: ArrayIndex, old: ChunkGrid, grid: ChunkGrid, options?: AbortOptions): Promise<void> {
    const oldShards: (ShardEntry[] | undefined)[] = []
    for (let shard = 0; shard < old.shardCount; shard++)
      oldShards.push(
        this.#unwritten(index, shard) ? undefined : [...(await this.shard(index, shard, options))],
      )
    const newShards = remapShards(oldShards, old, grid)
    const oldCids = index.shardCids
    const dirtyBefore = new Set(this.#cache.dirtyKeys())
    const shardCids = Array.from({ length: grid.shardCount }, (_, shard): ShardEntry => {
      const key = cacheKey(index.path, shard)
      const entries = newShards.get(shard)
      if (entries === undefined) {
        this.#cache.discard(key)
        return null
      }
      const before = oldShards[shard]
      const unchanged = before?.every((cid, i) => sameEntry(cid, entries[i] ?? null))
      if (unchanged && (oldCids[shard] !== null || dirtyBefore.has(key))) return oldCids[shard] ?? null
      this.#cache.put(key, entries, true)
      return null
    })
    for (let shard = grid.shardCount; shard < old.shardCount; shard++)
      this.#cache.discard(cacheKey(index.path, shard))
    this.root.reshape(index, grid, shardCids)
  }

  /** Forgets every cached shard of an array path (after its index was replaced or removed). */
  forget(index: ArrayIndex): void {
    for (let shard = 0; shard < index.grid.shardCount; shard++)
      this.#cache.discard(cacheKey(index.path, shard))
  }

  clearCache(): void {
    this.#cache.clear()
  }

  /** True when shards or the root have changes not yet saved. */
  get hasUnflushedChanges(): boolean {
    return this.root.changed || this.#cache.dirtyKeys().length > 0
  }

  /**
   * Saves the changed shards, then the root if it changed; makes the store durable; returns the
   * root CID. The caller holds the structure lock alone. Nothing changes until every save has
   * succeeded, and a failure waits for the saves under way: a failed flush leaves the table as it
   * was (a retry saves the same blocks) and nothing of it runs on after it rejected.
   */
  async flush(options?: AbortOptions): Promise<CID> {
    // What it saves is in no root until the caller has the one returned: a collection meanwhile keeps it.
    if (this.#writer === undefined) return this.#flush(() => {}, options)
    return this.#writer.keepingSaves((onSaved) => this.#flush(onSaved, options))
  }

  async #flush(onSaved: (cid: CID) => void, options: AbortOptions | undefined): Promise<CID> {
    const save = async (bytes: Uint8Array): Promise<CID> => {
      const cid = await saveForCid(this.store, bytes, 'dag-cbor', options)
      onSaved(cid)
      return cid
    }
    const dirty = this.#cache.dirtyKeys().sort()
    const savedCids = await mapPool(
      dirty,
      FLUSH_CONCURRENCY,
      (key) => save(encodeShard(this.#cache.get(key) as ShardEntry[])),
      options?.signal,
    )
    const changed = new Map<string, ShardEntry[]>()
    dirty.forEach((key, i) => {
      const separator = key.lastIndexOf('\u0000')
      const index = this.state.arrays.get(key.slice(0, separator))
      const shard = Number(key.slice(separator + 1))
      const cid = savedCids[i] as CID
      if (index === undefined || shard >= index.shardCids.length) return
      if (sameEntry(index.shardCids[shard] ?? null, cid)) return
      const cids = changed.get(index.path) ?? [...index.shardCids]
      cids[shard] = cid
      changed.set(index.path, cids)
    })
    let rootId = this.root.savedId
    if (changed.size > 0 || this.root.changed || rootId === undefined) {
      const arrays = new Map(
        [...this.state.arrays].map(([path, index]) => {
          const shardCids = changed.get(path)
          return [path, shardCids === undefined ? index : { ...index, shardCids }]
        }),
      )
      rootId = await save(encodeRoot({ ...this.state, arrays }))
    }
    await this.store.flush?.(options)
    this.root.saved(rootId, changed)
    for (const key of dirty) this.#cache.markClean(key)
    return rootId
  }
}

/** Entry updates as `[coords, entry]` (null: no chunk). */
export type EntryBatch = Iterable<readonly [readonly number[], ShardEntry]>
