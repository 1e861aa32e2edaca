import { copyId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { givenRootBlock } from '../cas/root-block.js'
import { UnflushedChangesError } from '../errors.js'
import { CallOrder } from './call-order.js'
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
import { makeKeyHasher } from './keys.js'
import { NodeLoader } from './loader.js'
import { countKeys, getValue, lookup, snapshot, snapshotPointers } from './map-reads.js'
import { type MapCore, MapState } from './map-state.js'
import { buildInto, deleteKey, flushInTurn, setEntries, setStoredPointer, setValue } from './map-writes.js'
import type { MergeOptions } from './merge.js'
import { Link, Node } from './node.js'
import { checkOpen, checkOptions, DEFAULTS } from './options.js'
import { diffRoots, mergeRoots } from './roots.js'
import { decodeValue } from './values.js'
import { dirtyStats, walkNodes } from './walk.js'

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
  /** Its parts and its state (`map-state.ts`), which the operations (`map-writes.ts`, `map-reads.ts`) work on. */
  readonly #map: MapCore

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
    this.#map = {
      store: this.store,
      loader,
      hasher: makeKeyHasher(hashFn),
      calls: new CallOrder(readOnly),
      state: new MapState(root, size),
      maxBucketSize: this.maxBucketSize,
      valuesAreBytes: this.valuesAreBytes,
      flushConcurrency: options.flushConcurrency ?? DEFAULTS.flushConcurrency,
    }
    if (!readOnly) this.#map.state.registerWriter(this.store)
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
    await buildInto(map.#map, entries, options.signal)
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
    if (rootBlock !== undefined) map.#map.loader.prime(id, rootBlock)
    await map.#map.loader.load(id, { signal: options.signal })
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
    return this.#map.calls.readOnly
  }

  /** The ID of the root node. Throws {@link UnflushedChangesError} while there are unflushed changes. */
  get rootId(): StoreId {
    const id = this.#map.state.root.id
    if (id === undefined) throw new UnflushedChangesError()
    return copyId(id)
  }

  /** True while changes exist only in memory. */
  get hasUnflushedChanges(): boolean {
    return this.#map.state.root.id === undefined
  }

  /**
   * Sets `key` to `value`: the value is saved as its own block and the bucket holds its ID.
   * Writes apply in call order (the last call wins), while their value uploads run at once.
   */
  set(key: string, value: V, options?: AbortOptions): Promise<void> {
    return setValue(this.#map, key, value, options)
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
  setMany(entries: Iterable<readonly [string, V]>, options?: AbortOptions): Promise<void> {
    return setEntries(this.#map, entries, options)
  }

  /** Sets `key` to the ID of a value already in the store (as py-hamt's `_set_pointer`). */
  async setPointer(key: string, pointer: StoreId, options?: AbortOptions): Promise<void> {
    await setStoredPointer(this.#map, key, pointer, options)
  }

  /** Removes `key`; throws {@link KeyNotFoundError} when it is not in the map. */
  delete(key: string, options?: AbortOptions): Promise<void> {
    return deleteKey(this.#map, key, options)
  }

  /**
   * The value of `key`, or `undefined` when absent. With `range`, the raw bytes of that part of the
   * stored value (not decoded).
   */
  get(
    key: string,
    options: GetOptions & { range: NonNullable<GetOptions['range']> },
  ): Promise<Uint8Array | undefined>
  get(key: string, options?: GetOptions): Promise<V | undefined>
  get(key: string, options?: GetOptions): Promise<V | Uint8Array | undefined> {
    return getValue(this.#map, key, options) as Promise<V | Uint8Array | undefined>
  }

  /** True when `key` is in the map. */
  async has(key: string, options?: AbortOptions): Promise<boolean> {
    const found = lookup(this.#map, key, options)
    return (found instanceof Promise ? await found : found) !== undefined
  }

  /**
   * The store ID of `key`'s value, or `undefined` when absent: an ID of its own, though the map's
   * are views into node blocks, so it may be kept or transferred.
   */
  async getPointer(key: string, options?: AbortOptions): Promise<StoreId | undefined> {
    const found = lookup(this.#map, key, options)
    const pointer = found instanceof Promise ? await found : found
    return pointer === undefined ? undefined : copyId(pointer)
  }

  /** Number of keys. Walks the whole tree once for a map opened by ID; after that it is kept as writes happen. */
  size(options?: AbortOptions): Promise<number> {
    return countKeys(this.#map, options)
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
    for await (const [key, pointer] of snapshotPointers(this.#map, options)) yield [key, copyId(pointer)]
  }

  /** Every key (see {@link HAMT.pointers} for consistency). */
  async *keys(options?: AbortOptions): AsyncGenerator<string> {
    for await (const [key] of snapshotPointers(this.#map, options)) yield key
  }

  /** Every value (see {@link HAMT.pointers} for consistency). */
  async *values(options?: AbortOptions): AsyncGenerator<V> {
    for await (const [, value] of this.entries(options)) yield value
  }

  /** Every `[key, value]` (see {@link HAMT.pointers} for consistency). */
  async *entries(options?: AbortOptions): AsyncGenerator<[string, V]> {
    for await (const [key, pointer] of snapshotPointers(this.#map, options)) {
      const bytes = await this.#map.loader.loadValue(pointer, options)
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
    return copyId(await this.#map.calls.write(async () => flushInTurn(this.#map, options), options?.signal))
  }

  /** Flushes, then refuses writes; reads no longer take a lock (py-hamt's `make_read_only`). */
  async makeReadOnly(options?: AbortOptions): Promise<StoreId> {
    return copyId(
      await this.#map.calls.switchMode(true, async () => flushInTurn(this.#map, options), options?.signal),
    )
  }

  /** Allows writes again (py-hamt's `enable_write`). */
  async enableWrite(): Promise<void> {
    // At the call: sets called after it upload at once, and a collection must keep those values.
    this.#map.state.registerWriter(this.store)
    await this.#map.calls.switchMode(false, async () => {}, undefined)
  }

  /** What the map holds in memory: cached clean nodes and unflushed dirty nodes. */
  async cacheStats(): Promise<CacheStats> {
    const map = this.#map
    return map.calls.read(
      async () => ({
        cachedNodes: map.loader.cache.count,
        cachedBytes: map.loader.cache.bytes,
        ...dirtyStats(map.state.root),
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
    const map = this.#map
    const { root } = await snapshot(map, options?.signal)
    const result = await checkTree(
      root,
      map.loader,
      { maxBucketSize: this.maxBucketSize, hasher: map.hasher },
      options,
    )
    const size = map.state.size
    if (size !== undefined && map.state.root === root && result.keyCount !== size) {
      result.problems.push(`size() says ${size} keys but the tree holds ${result.keyCount}`)
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
    const { root } = await snapshot(this.#map, options?.signal)
    yield* walkNodes(root, this.#map.loader, this.#map.hasher.length, options)
  }

  /** Empties the read cache. Unflushed changes are kept: `flush()` is what frees them. */
  async clearCache(): Promise<void> {
    this.#map.loader.cache.clear()
  }
}
