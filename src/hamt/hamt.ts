import { copiesAtSave } from '../cas/copy-at-save.js'
import { copyId, isStoreId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { checkByteRange } from '../cas/range.js'
import { givenRootBlock } from '../cas/root-block.js'
import { describeValue, InvalidArgumentError, KeyNotFoundError, UnflushedChangesError } from '../errors.js'
import { type LookupProbe, observing, traceLookup } from '../telemetry/hooks.js'
import { mapPool } from '../util/pool.js'
import { buildFromEntries, encodeEntries } from './bulk.js'
import { CallOrder } from './call-order.js'
import { CollectionView } from './collection-view.js'
import { flushTree } from './flush.js'
import type {
  CacheStats,
  DiffOptions,
  GetOptions,
  HAMTNode,
  HAMTOptions,
  HashFn,
  MapChange,
  NodesOptions,
} from './interface.js'
import { checkTree } from './invariants.js'
import { type KeyHasher, makeKeyHasher } from './keys.js'
import { NodeLoader, saveFailure, valueLoadFailure } from './loader.js'
import type { MergeOptions } from './merge.js'
import { collapsePath, slotIndex, splitBucket } from './mutate.js'
import { Bucket, Link, Node, type Slot } from './node.js'
import { checkOpen, checkOptions, DEFAULTS } from './options.js'
import { diffRoots, mergeRoots } from './roots.js'
import { decodeValue, encodeValue } from './values.js'
import { dirtyStats, pathTo, slotInMemory, walkEntries, walkNodes } from './walk.js'

/** The nodes from the root down to the one whose slot holds the key's bucket (or is empty). */
type Path = { nodes: Node[]; hash: Uint8Array }

/**
 * A hash array mapped trie on a content-addressed store, byte-compatible with py-hamt's `HAMT`.
 *
 * Writes go to dirty nodes in memory; {@link HAMT.flush} saves them and returns the root ID.
 * Every mutation is atomic: when it throws, the map is exactly as it was. Calls apply in call
 * order, so a call waits for the writes called before it, value uploads included: a stuck store
 * holds up later calls, and a call's `signal` ends its wait (the call then changes nothing). A store
 * must not call back into the map it serves and wait for that call: it would wait behind itself.
 *
 * @example
 * ```ts
 * const store = await MemoryStore.create()
 * const map = await HAMT.create({ store })
 * await map.set('temperature', { unit: 'K', values: [280.5, 281.2] })
 * const root = await map.flush()
 * const again = await HAMT.open(root, { store }) // read-only: open reads, create writes
 * console.log(await again.get('temperature'))
 * ```
 */
export class HAMT<V = unknown> {
  /** The store this map reads and writes (py-hamt's `cas`). */
  readonly store: ContentAddressedStore
  readonly maxBucketSize: number
  readonly valuesAreBytes: boolean
  readonly #loader: NodeLoader
  readonly #hasher: KeyHasher
  readonly #flushConcurrency: number
  readonly #calls: CallOrder
  #root: Link
  /** Key count when known (a new map, or after a full walk); kept up to date by writes. */
  #size: number | undefined
  /** Writes may change a dirty node in place only if it was made in the current epoch. */
  #epoch = 0
  /** Count of committed writes, to tell whether the map changed during a long read. */
  #writes = 0
  /** A collectable store's view of the unflushed changes; held here, weakly by the store. */
  #writer: CollectionView | undefined

  private constructor(
    options: HAMTOptions,
    hashFn: HashFn,
    root: Link,
    size: number | undefined,
    readOnly: boolean,
    loader = new NodeLoader(options.store, options.cacheBytes ?? DEFAULTS.cacheBytes),
  ) {
    this.store = options.store
    this.maxBucketSize = options.maxBucketSize ?? DEFAULTS.maxBucketSize
    this.valuesAreBytes = options.valuesAreBytes ?? false
    this.#calls = new CallOrder(readOnly)
    this.#flushConcurrency = options.flushConcurrency ?? DEFAULTS.flushConcurrency
    this.#loader = loader
    this.#hasher = makeKeyHasher(hashFn)
    this.#root = root
    this.#size = size
    if (!readOnly) this.#registerWriter()
  }

  /** Once writable, on a collectable store: a collection keeps what this map has not flushed yet. */
  #registerWriter(): void {
    this.#writer ??= CollectionView.on(
      this.store,
      () => this.#root,
      () => this.#writes,
    )
  }

  /** Creates an empty, writable map (unless `readOnly: true`). Nothing is saved until {@link HAMT.flush}. */
  static async create<V = unknown>(options: HAMTOptions): Promise<HAMT<V>> {
    const hashFn = await checkOptions(options)
    const root = Link.toDirty(new Node(undefined, 0))
    return new HAMT<V>(options, hashFn, root, 0, options.readOnly ?? false)
  }

  /**
   * Builds a map holding `entries` (an iterable or async iterable of `[key, value]`; a repeated key
   * keeps its last value, as in a `Map`) in one pass: keys are hashed once, values saved in batches,
   * and the tree is built bottom-up and saved as it is built, without a write per key. The root is the
   * one `set` of every entry and `flush` would give, and the map returned is already flushed.
   * Throws what `set` would throw for the first bad entry (or `flush` for a failing store), and then
   * returns no map; values saved before the failure stay in the store, as after a failed `set`.
   * `options.signal` ends the build the same way.
   *
   * @example
   * ```ts
   * const store = await MemoryStore.create()
   * const rows = new Map([['a', 1], ['b', 2]])
   * const map = await HAMT.fromEntries(rows, { store })
   * console.log(map.rootId, await map.get('b'))
   * ```
   */
  static async fromEntries<V = unknown>(
    entries: Iterable<readonly [string, V]> | AsyncIterable<readonly [string, V]>,
    options: HAMTOptions & AbortOptions,
  ): Promise<HAMT<V>> {
    options?.signal?.throwIfAborted()
    const hashFn = await checkOptions(options)
    const map = new HAMT<V>(
      options,
      hashFn,
      Link.toDirty(new Node(undefined, 0)),
      0,
      options.readOnly ?? false,
    )
    // What the build saved is in no root until it ends: a collection meanwhile keeps it (read-only too).
    map.#registerWriter()
    let built: Awaited<ReturnType<typeof buildFromEntries>>
    try {
      built = await buildFromEntries(entries, {
        hasher: map.#hasher,
        loader: map.#loader,
        maxBucketSize: map.maxBucketSize,
        valuesAreBytes: map.valuesAreBytes,
        concurrency: map.#flushConcurrency,
        copyAtSave: copiesAtSave(options.store),
        signal: options.signal,
        onSaved: (id) => map.#writer?.sawSave(id),
      })
    } finally {
      map.#writer?.endSaves()
    }
    map.#loader.cache.set(built.rootId, built.root, built.bytes)
    map.#root = Link.toStored(built.rootId)
    map.#size = built.size
    return map
  }

  /**
   * Opens the map whose root node has this ID (a CID, its string form, or a byte ID), or the root an
   * IPNS name (`/ipns/k51…`) points to now when the store resolves names (`TrustlessGatewayStore`,
   * `KuboStore`; resolved once, here); loads and checks the root node at once. Read-only unless `readOnly: false`, as every opener of this
   * package: `create` writes, `open` reads. Writes never change the root they started from; a
   * writable map's `flush()` gives a new root. `signal` bounds the load of the root, as it does for
   * `ShardedZarrStore.open`.
   */
  static async open<V = unknown>(
    rootId: StoreId | string,
    options: HAMTOptions & AbortOptions,
  ): Promise<HAMT<V>> {
    const { hashFn, id } = await checkOpen(rootId, options)
    const map = new HAMT<V>(options, hashFn, Link.toStored(id), undefined, options.readOnly ?? true)
    const rootBlock = givenRootBlock(options, id)
    if (rootBlock !== undefined) map.#loader.prime(id, rootBlock)
    await map.#loader.load(id, { signal: options.signal })
    return map
  }

  /**
   * What changed from the map at root `from` to the map at root `to` (both in `options.store`, read
   * only): each key added, removed or changed, with its values as `get` gives them (`keysOnly` skips
   * loading them). Only the parts of the trees that differ are read: subtrees with the same ID are
   * skipped, so the cost follows the size of the change, not of the maps. Changes stream in the
   * trees' slot order (not key order). Pass the maps' `hashFn` and `valuesAreBytes`; `signal` ends
   * the walk. A bad root is an `ERR_INVALID_ARGUMENT` thrown at the call. Either root may be an IPNS
   * name (`/ipns/k51…`) when the store resolves names; it is resolved when the walk starts.
   *
   * @example
   * ```ts
   * const before = map.rootId
   * await map.set('temperature', new Uint8Array([1, 2]))
   * const after = await map.flush()
   * for await (const change of HAMT.diff(before, after, { store, valuesAreBytes: true })) {
   *   console.log(change.kind, change.key, change.before, change.after) // changed temperature …
   * }
   * ```
   */
  static diff<V = unknown>(
    from: StoreId | string,
    to: StoreId | string,
    options: HAMTOptions & DiffOptions,
  ): AsyncGenerator<MapChange<V>> {
    return diffRoots<V>(from, to, options)
  }

  /**
   * Three-way merge of two maps `a` and `b` made from the map at `base` (all in `options.store`):
   * keys changed on one side only take that side's value, keys changed alike on both sides are no
   * conflict, and keys changed differently (a delete against a change included) go to
   * `options.resolve`, or without it fail the merge with a `MergeConflictError` (`ERR_MERGE_CONFLICT`,
   * listing them) before anything is written. Returns the merged root, which is exactly the root of
   * one writer making both change sets (the tree is canonical): N writers that each write a part from
   * one base, merged, give the root of one writer writing everything. Only where the trees differ is
   * read, and values are compared by ID, loaded only for the resolver. Pass the maps' `hashFn`,
   * `maxBucketSize` and `valuesAreBytes`; `signal` ends the merge, which then returns nothing (blocks
   * saved before that are unreferenced) and can be run again.
   *
   * @example
   * ```ts
   * const base = map.rootId
   * const left = await HAMT.open(base, { store, readOnly: false })
   * await left.set('a', 1)
   * const right = await HAMT.open(base, { store, readOnly: false })
   * await right.set('b', 2)
   * const merged = await HAMT.merge(base, await left.flush(), await right.flush(), { store })
   * console.log(await (await HAMT.open(merged, { store })).get('b')) // 2
   * ```
   */
  static async merge<V = unknown>(
    base: StoreId | string,
    a: StoreId | string,
    b: StoreId | string,
    options: HAMTOptions & MergeOptions<V>,
  ): Promise<StoreId> {
    return mergeRoots<V>(
      base,
      a,
      b,
      options,
      (root, loader, hashFn) => new HAMT<V>(options, hashFn, Link.toStored(root), undefined, false, loader),
    )
  }

  /** True when writes are refused. */
  get readOnly(): boolean {
    return this.#calls.readOnly
  }

  /** The ID of the root node. Throws {@link UnflushedChangesError} while there are unflushed changes. */
  get rootId(): StoreId {
    if (this.#root.id === undefined) throw new UnflushedChangesError()
    return copyId(this.#root.id)
  }

  /** True while changes exist only in memory. */
  get hasUnflushedChanges(): boolean {
    return this.#root.id === undefined
  }

  /**
   * Sets `key` to `value`: the value is saved as its own block and the bucket holds its ID.
   * Writes apply in call order (the last call wins), while their value uploads run at once.
   */
  async set(key: string, value: V, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.#calls.assertWritableAtCall('set')
    const hash = this.#hasher.hash(key)
    const data = encodeValue(key, value, this.valuesAreBytes)
    // The upload starts now, overlapping other sets' uploads, and the write takes its place in the
    // lock's queue now too: it applies after every call made before it, whatever the upload times.
    // A store in memory saves at once, without a promise to wait for (see `SAVE_NOW`).
    const saved = this.#loader.saveNow(data)
    const saving = saved === undefined ? this.#loader.saveUnwrapped(data, 'raw', options) : undefined
    // On a collectable store: the value kept by collections until it is in a node (or the set failed).
    const release = this.#writer?.holdWhileSaved(saving ?? Promise.resolve(saved as StoreId))
    if (this.#calls.tryWrite()) {
      // Nothing holds or waits for the lock: this call holds it from now, as `write` would, but
      // runs here instead of in two more async functions (most of a set's cost beside the store's).
      try {
        let pointer = saved
        if (pointer === undefined) {
          try {
            pointer = await (saving as Promise<StoreId>)
          } catch (err) {
            throw saveFailure('raw', err, options?.signal)
          }
        }
        const pending = this.#setPointerLocked(key, hash, pointer, options)
        if (pending !== undefined) await pending
      } finally {
        this.#calls.endWrite()
        release?.()
      }
      return
    }
    const upload = (saving ?? Promise.resolve(saved as StoreId)).catch((err: unknown) => {
      throw saveFailure('raw', err, options?.signal)
    })
    // Awaited in turn below; this only keeps an early failure from counting as unhandled meanwhile.
    upload.catch(() => {})
    try {
      await this.#calls.write(
        async () => this.#setPointerLocked(key, hash, await upload, options),
        options?.signal,
      )
    } finally {
      release?.()
    }
  }

  /**
   * Sets every `[key, value]` of `entries` (a synchronous iterable, read at once) as one write: it
   * takes its place in call order as one `set` does, and gives the tree that `set` of each entry in
   * order gives (a repeated key keeps its last value). All or nothing: when any key, value, upload,
   * node load or the `signal` fails, the map is exactly as it was (values already uploaded stay in
   * the store, as after a failed `set`). Values upload `flushConcurrency` at a time. To build a new
   * map from many entries, {@link HAMT.fromEntries} is faster: it saves the tree as it builds it.
   *
   * @example
   * ```ts
   * const counts = await HAMT.create<number>({ store: await MemoryStore.create() })
   * await counts.setMany([['a', 1], ['b', 2]])
   * await counts.setMany(new Map([['c', 3]]))
   * ```
   */
  async setMany(entries: Iterable<readonly [string, V]>, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.#calls.assertWritableAtCall('set')
    const { keys, hashes, values } = encodeEntries(entries, this.#hasher, this.valuesAreBytes)
    const releases: ((() => void) | undefined)[] = []
    const uploads = mapPool(
      values,
      this.#flushConcurrency,
      (data) => {
        const saving = this.#loader.save(data, 'raw', options)
        releases.push(this.#writer?.holdWhileSaved(saving))
        return saving
      },
      options?.signal,
    )
    uploads.catch(() => {})
    try {
      await this.#setManyInTurn(keys, hashes, uploads, options)
    } finally {
      for (const release of releases) release?.()
    }
  }

  /** The write of {@link HAMT.setMany}, in its turn: `uploads` are the values' uploads, started at the call. */
  async #setManyInTurn(
    keys: string[],
    hashes: Uint8Array[],
    uploads: Promise<StoreId[]>,
    options: AbortOptions | undefined,
  ): Promise<void> {
    await this.#calls.write(async () => {
      const pointers = await uploads
      this.#calls.assertWritable('set')
      const before = { root: this.#root, size: this.#size, writes: this.#writes }
      // A new epoch: every node changed from here on is a copy, so `before.root` stays intact.
      this.#epoch++
      try {
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string
          const set = this.#setPointerLocked(key, hashes[i] as Uint8Array, pointers[i] as StoreId, options)
          if (set !== undefined) await set
        }
      } catch (error) {
        this.#root = before.root
        this.#size = before.size
        this.#writes = before.writes
        throw error
      }
    }, options?.signal)
  }

  /** Sets `key` to the ID of a value already in the store (as py-hamt's `_set_pointer`). */
  async setPointer(key: string, pointer: StoreId, options?: AbortOptions): Promise<void> {
    this.#calls.assertWritableAtCall('set')
    if (!isStoreId(pointer))
      throw new InvalidArgumentError(`pointer must be a CID or bytes, got ${describeValue(pointer)}`)
    const hash = this.#hasher.hash(key)
    await this.#calls.write(async () => this.#setPointerLocked(key, hash, pointer, options), options?.signal)
  }

  /** In the write's turn; synchronous (no promise) when the key's path is in memory. */
  #setPointerLocked(
    key: string,
    hash: Uint8Array,
    pointer: StoreId,
    options: AbortOptions | undefined,
  ): void | Promise<void> {
    this.#calls.assertWritable('set')
    const found = pathTo(this.#root, hash, this.#loader, options)
    if (Array.isArray(found)) return this.#setInPath({ nodes: found, hash }, key, pointer, options)
    return found.then((nodes) => this.#setInPath({ nodes, hash }, key, pointer, options))
  }

  /** Plans the change on a loaded path and commits it. */
  #setInPath(path: Path, key: string, pointer: StoreId, options: AbortOptions | undefined): void {
    const hash = path.hash
    const depth = path.nodes.length - 1
    const leaf = path.nodes[depth] as Node
    const bucket = leaf.slots[slotIndex(hash, depth, key)] as Bucket | undefined
    const isNew = bucket === undefined || bucket.indexOf(key) < 0
    let replacement: Slot
    if (bucket === undefined) replacement = Bucket.of(key, pointer)
    else if (!isNew || bucket.size < this.maxBucketSize) replacement = bucket.with(key, pointer)
    else {
      const added = { key, pointer, hash }
      replacement = Link.toDirty(
        splitBucket(bucket, added, depth + 1, this.maxBucketSize, this.#epoch, this.#hasher),
      )
    }
    // Checked here too, for stores that ignore the signal: an abort never lands half-way.
    options?.signal?.throwIfAborted()
    this.#commit(path, depth, replacement)
    if (isNew && this.#size !== undefined) this.#size++
    this.#writes++
  }

  /** Removes `key`; throws {@link KeyNotFoundError} when it is not in the map. */
  async delete(key: string, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.#calls.assertWritableAtCall('delete')
    const hash = this.#hasher.hash(key)
    await this.#calls.write(async () => {
      this.#calls.assertWritable('delete')
      const path: Path = { nodes: await pathTo(this.#root, hash, this.#loader, options), hash }
      const depth = path.nodes.length - 1
      const bucket = (path.nodes[depth] as Node).slots[slotIndex(hash, depth, key)]
      const index = bucket instanceof Bucket ? bucket.indexOf(key) : -1
      if (!(bucket instanceof Bucket) || index < 0) throw new KeyNotFoundError(key)
      // All loads happen here, before any change.
      const collapsed = await collapsePath(path.nodes, hash, key, bucket.without(index), {
        maxBucketSize: this.maxBucketSize,
        loader: this.#loader,
        options,
      })
      options?.signal?.throwIfAborted()
      this.#commit(path, collapsed.depth, collapsed.replacement)
      if (this.#size !== undefined) this.#size--
      this.#writes++
    }, options?.signal)
  }

  /**
   * The value of `key`, or `undefined` when absent. With `range`, the raw bytes of that part of the
   * stored value (not decoded).
   */
  async get(
    key: string,
    options: GetOptions & { range: NonNullable<GetOptions['range']> },
  ): Promise<Uint8Array | undefined>
  async get(key: string, options?: GetOptions): Promise<V | undefined>
  async get(key: string, options?: GetOptions): Promise<V | Uint8Array | undefined> {
    options?.signal?.throwIfAborted()
    if (options?.range !== undefined) checkByteRange(options.range)
    const found = this.#lookup(key, options)
    const pointer = found instanceof Promise ? await found : found
    if (pointer === undefined) return undefined
    // A store holding its blocks in memory hands the value over without a promise; its own bytes
    // when they are only decoded, since the decoder copies what it keeps (no copy a get).
    const decoding = options?.range === undefined && !this.valuesAreBytes
    let bytes = options?.range === undefined ? this.#loader.valueNow(pointer, decoding) : undefined
    if (bytes === undefined) {
      const load = options === undefined ? undefined : { signal: options.signal, range: options.range }
      try {
        bytes = await this.#loader.loadValueUnwrapped(pointer, load)
      } catch (err) {
        throw valueLoadFailure(pointer, err, options?.signal)
      }
    }
    if (options?.range !== undefined || this.valuesAreBytes) return bytes
    return decodeValue(key, pointer, bytes) as V
  }

  /** True when `key` is in the map. */
  async has(key: string, options?: AbortOptions): Promise<boolean> {
    const found = this.#lookup(key, options)
    return (found instanceof Promise ? await found : found) !== undefined
  }

  /**
   * The store ID of `key`'s value, or `undefined` when absent: an ID of its own, though the map's
   * are views into node blocks, so it may be kept or transferred.
   */
  async getPointer(key: string, options?: AbortOptions): Promise<StoreId | undefined> {
    const found = this.#lookup(key, options)
    const pointer = found instanceof Promise ? await found : found
    return pointer === undefined ? undefined : copyId(pointer)
  }

  /** `key`'s pointer as the map holds it (a view into its node's block), traced when observed. */
  #lookup(
    key: string,
    options: AbortOptions | undefined,
  ): StoreId | undefined | Promise<StoreId | undefined> {
    return observing()
      ? traceLookup(key, (probe) => this.#pointerOf(key, options, probe))
      : this.#pointerOf(key, options)
  }

  /**
   * `key`'s pointer, without a promise when the read may run at once and its path is in memory
   * (the common warm lookup); else in call order, loading nodes as needed.
   */
  #pointerOf(
    key: string,
    options: AbortOptions | undefined,
    probe?: LookupProbe,
  ): StoreId | undefined | Promise<StoreId | undefined> {
    const hash = this.#hasher.hash(key)
    if (this.#calls.readableNow) {
      options?.signal?.throwIfAborted()
      const slot = slotInMemory(this.#root, hash, this.#loader, probe)
      if (slot !== null) return pointerInBucket(slot, key)
    }
    return this.#calls.read(async () => {
      const found = pathTo(this.#root, hash, this.#loader, options, probe)
      return pointerIn(Array.isArray(found) ? found : await found, hash, key)
    }, options?.signal)
  }

  /** Number of keys. Walks the whole tree once for a map opened by ID; after that it is kept as writes happen. */
  async size(options?: AbortOptions): Promise<number> {
    const snapshot = await this.#snapshot(options?.signal, true)
    if (snapshot.size !== undefined) return snapshot.size
    let count = 0
    for await (const _ of walkEntries(snapshot.root, this.#loader, this.#hasher, options)) count++
    // The walk saw a snapshot; its count describes the live map only if no write came in between.
    if (this.#writes === snapshot.writes) this.#size = count
    return count
  }

  /**
   * Every `[key, pointer]`, from a snapshot taken when iteration starts: writes made while iterating
   * are not seen, and never block on the iteration. Each distinct block is walked once: a node
   * reached at a slot its first key does not hash to, or deeper than the hash reaches, is
   * `ERR_INVALID_NODE` (a stranger's tree cannot make the walk exponential). Only that first key is
   * hashed, so on a malformed tree a later key in the wrong slot is still listed though `get` cannot
   * find it: {@link HAMT.verify} checks every key.
   */
  async *pointers(options?: AbortOptions): AsyncGenerator<[string, StoreId]> {
    for await (const [key, pointer] of this.#pointers(options)) yield [key, copyId(pointer)]
  }

  /** The map's own pointers (views into node blocks), for the walks that do not hand them out. */
  async *#pointers(options: AbortOptions | undefined): AsyncGenerator<[string, StoreId]> {
    const { root } = await this.#snapshot(options?.signal)
    yield* walkEntries(root, this.#loader, this.#hasher, options)
  }

  /** Every key (see {@link HAMT.pointers} for consistency). */
  async *keys(options?: AbortOptions): AsyncGenerator<string> {
    for await (const [key] of this.#pointers(options)) yield key
  }

  /** Every value (see {@link HAMT.pointers} for consistency). */
  async *values(options?: AbortOptions): AsyncGenerator<V> {
    for await (const [, value] of this.entries(options)) yield value
  }

  /** Every `[key, value]` (see {@link HAMT.pointers} for consistency). */
  async *entries(options?: AbortOptions): AsyncGenerator<[string, V]> {
    for await (const [key, pointer] of this.#pointers(options)) {
      const bytes = await this.#loader.loadValue(pointer, options)
      yield [key, this.valuesAreBytes ? (bytes as V) : (decodeValue(key, pointer, bytes) as V)]
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<[string, V]> {
    return this.entries()
  }

  /**
   * Saves every changed node to the store, bottom-up, and returns the root ID (py-hamt's `vacate`).
   * The map stays writable. If a save fails, the changes stay in memory and `flush()` can be retried.
   */
  async flush(options?: AbortOptions): Promise<StoreId> {
    return copyId(await this.#calls.write(async () => this.#flushLocked(options), options?.signal))
  }

  /** Flushes, then refuses writes; reads no longer take a lock (py-hamt's `make_read_only`). */
  async makeReadOnly(options?: AbortOptions): Promise<StoreId> {
    return copyId(await this.#calls.switchMode(true, async () => this.#flushLocked(options), options?.signal))
  }

  /** Allows writes again (py-hamt's `enable_write`). */
  async enableWrite(): Promise<void> {
    await this.#calls.switchMode(false, async () => this.#registerWriter(), undefined)
  }

  /** What the map holds in memory: cached clean nodes and unflushed dirty nodes. */
  async cacheStats(): Promise<CacheStats> {
    return this.#calls.read(
      async () => ({
        cachedNodes: this.#loader.cache.count,
        cachedBytes: this.#loader.cache.bytes,
        ...dirtyStats(this.#root),
      }),
      undefined,
    )
  }

  /**
   * Checks the tree against the canonical-shape rules for this map's `maxBucketSize` (open a map with
   * its writer's bucket size to check it) and returns every problem found, empty when sound: keys in
   * the wrong slot, a node linked from more than one slot, a node deeper than the hash reaches, ….
   * Loads every distinct node once: meant for tests and `verify` tools, not hot paths.
   */
  async verify(options?: AbortOptions): Promise<{ problems: string[]; keyCount: number }> {
    const { root } = await this.#snapshot(options?.signal)
    const result = await checkTree(
      root,
      this.#loader,
      { maxBucketSize: this.maxBucketSize, hasher: this.#hasher },
      options,
    )
    if (this.#size !== undefined && this.#root === root && result.keyCount !== this.#size) {
      result.problems.push(`size() says ${this.#size} keys but the tree holds ${result.keyCount}`)
    }
    return result
  }

  /**
   * Every node of the tree from a snapshot (see {@link HAMT.pointers}), level by level from the root:
   * its ID, depth, encoded size and bucket sizes. Each distinct stored node comes once however many
   * slots link to it, and no walk goes deeper than the hash reaches (else `ERR_INVALID_NODE`), so a
   * stranger's tree costs its distinct blocks. Values are not loaded.
   *
   * @example
   * ```ts
   * let nodes = 0
   * let keys = 0
   * for await (const node of map.nodes()) {
   *   nodes++
   *   for (const size of node.buckets) keys += size
   * }
   * ```
   */
  async *nodes(options?: NodesOptions): AsyncGenerator<HAMTNode> {
    const { root } = await this.#snapshot(options?.signal)
    yield* walkNodes(root, this.#loader, this.#hasher.length, options)
  }

  /** Empties the read cache. Unflushed changes are kept: `flush()` is what frees them. */
  async clearCache(): Promise<void> {
    this.#loader.cache.clear()
  }

  async #flushLocked(options?: AbortOptions): Promise<StoreId> {
    if (this.#root.id !== undefined) {
      // No node changed, but values may still wait in a buffering store (setPointer, overwrites).
      await this.#loader.flushStore(options)
      return this.#root.id
    }
    let rootId: StoreId
    try {
      rootId = await flushTree(
        this.#root.node as Node,
        this.#loader,
        this.#flushConcurrency,
        options,
        copiesAtSave(this.store),
        (id) => this.#writer?.sawSave(id),
      )
    } finally {
      this.#writer?.endSaves()
    }
    this.#root = Link.toStored(rootId)
    return rootId
  }

  /**
   * The root for a long reader, taken in call order. A read-only map never changes under it; a
   * writable one is frozen: later writes copy the nodes they change instead of changing them in place.
   * Carries the key count when known (`countOnly` then freezes nothing) and the write count, to tell
   * later whether the live map still matches.
   */
  async #snapshot(
    signal: AbortSignal | undefined,
    countOnly = false,
  ): Promise<{ root: Link; size: number | undefined; writes: number }> {
    const take = async (): Promise<{ root: Link; size: number | undefined; writes: number }> => {
      if (!this.#calls.readOnly && !(countOnly && this.#size !== undefined)) this.#epoch++
      return { root: this.#root, size: this.#size, writes: this.#writes }
    }
    return this.#calls.read(take, signal)
  }

  /**
   * Puts `replacement` into the path's slot at `depth` and relinks every node above it. Synchronous:
   * no reader or writer can see the tree between the first change and the last.
   */
  #commit(path: Path, depth: number, replacement: Slot): void {
    let child = replacement
    for (let d = depth; d >= 0; d--) {
      const original = path.nodes[d] as Node
      const node = original.epoch === this.#epoch ? original : original.copy(this.#epoch)
      node.slots[path.hash[d] as number] = child
      // Changed in place and already linked from its parent (or the root): nothing above changes.
      if (
        node === original &&
        (d === 0 ? this.#root.node === node : isLinkTo(path.nodes[d - 1], path.hash[d - 1], node))
      ) {
        return
      }
      child = Link.toDirty(node)
    }
    this.#root = child as Link
  }
}

/** The pointer of `key` in the bucket its path ends at, if there. */
function pointerIn(nodes: Node[], hash: Uint8Array, key: string): StoreId | undefined {
  return pointerInBucket((nodes.at(-1) as Node).slots[hash[nodes.length - 1] as number], key)
}

function pointerInBucket(slot: Slot, key: string): StoreId | undefined {
  if (!(slot instanceof Bucket)) return undefined
  const index = slot.indexOf(key)
  return index < 0 ? undefined : slot.pointerAt(index)
}

function isLinkTo(parent: Node | undefined, index: number | undefined, node: Node): boolean {
  const slot = parent?.slots[index as number]
  return slot instanceof Link && slot.node === node
}
