import type { CID } from 'multiformats/cid'
import type { ChunkGrid } from './geometry.js'
import type { ArrayIndex, RootState, ShardEntry } from './interface.js'
import type { ChunkRef, PrimaryArray } from './keys.js'
import { layoutOf, type ShardLayout } from './layout.js'

/**
 * The one owner of a sharded store's root: the decoded root state, whether it differs from the
 * root last saved, that root's CID, and which array a v1 root shards. Others read it; every
 * change is one of the intent methods below, each of which marks the root changed.
 */
export class ShardedRoot {
  #state: RootState
  #layout: ShardLayout
  #changed: boolean
  /** Counts changes (never goes back, not even on a restored checkpoint): a collection's cue to look again. */
  #changes = 0
  #savedId: CID | undefined
  readonly #primary: PrimaryArray
  /** py-hamt's `_array_shape`: see {@link ShardedRoot.documentShape}. */
  #documentShape: readonly number[]

  /** A root read from `savedId`, or (undefined) a new one not yet saved. */
  constructor(state: RootState, savedId: CID | undefined) {
    this.#state = state
    this.#layout = layoutOf(state.version)
    this.#savedId = savedId
    this.#changed = savedId === undefined
    this.#primary = this.#layout.initialPrimary(state)
    this.#documentShape = this.#primaryShape()
  }

  /** The primary array's shape now (none: empty). */
  #primaryShape(): readonly number[] {
    const path = this.#primary.path
    return (path === undefined ? undefined : this.indexOf(path))?.grid.arrayShape ?? []
  }

  /** How many changes this root has had: grows with every intent method. */
  get changes(): number {
    return this.#changes
  }

  #markChanged(): void {
    this.#changed = true
    this.#changes++
  }

  /** What differs between root versions, chosen by this root's version. */
  get layout(): ShardLayout {
    return this.#layout
  }

  /** Where `key` lives now: a chunk in a shard, or the metadata map (`null`). */
  route(key: string): ChunkRef | null {
    return this.#layout.route(this.#state, this.#primary, key)
  }

  /** The key a read of `key` looks up. */
  readKey(key: string): string {
    return this.#layout.readKey(this.#state, key)
  }

  /** The index of the array at `path` (v1: the single index), or undefined. */
  indexOf(path: string): ArrayIndex | undefined {
    return this.#state.arrays.get(this.#layout.indexKey(path))
  }

  /** The root as it is now (read it; change it only through this class). */
  get state(): RootState {
    return this.#state
  }

  /** Which array a v1 root shards (v2: the first array, the default for resizes). */
  get primary(): Readonly<PrimaryArray> {
    return this.#primary
  }

  /**
   * The shape a v1 array document's shape is compared with to decide a resize, as py-hamt 3.6.0 keeps
   * it (`_array_shape`): the shape when opened, moved by a resize only while the primary array is the
   * index's (`""`). Once a named array is primary it stays, so a document of that shape resizes nothing.
   */
  get documentShape(): readonly number[] {
    return this.#documentShape
  }

  /** True when the root differs from the last one saved (or none was saved). */
  get changed(): boolean {
    return this.#changed
  }

  /** The CID of the root last saved, if any. */
  get savedId(): CID | undefined {
    return this.#savedId
  }

  /** v1 before its first chunk write: that write decides which array is sharded. */
  get primaryUnsettled(): boolean {
    return this.#layout.primaryUnsettled(this.#state, this.#primary)
  }

  recordMetadata(key: string, cid: CID): void {
    this.#state.metadata.set(key, cid)
    this.#markChanged()
  }

  /** Removes a metadata key; true when it was there. */
  forgetMetadata(key: string): boolean {
    const removed = this.#state.metadata.delete(key)
    if (removed) this.#markChanged()
    return removed
  }

  /** Adds the (empty) shard index of a new array; the first array registered becomes the primary. */
  registerArray(path: string, grid: ChunkGrid): void {
    this.#state.arrays.set(path, { path, grid, shardCids: new Array<ShardEntry>(grid.shardCount).fill(null) })
    this.#primary.path ??= path
    this.#markChanged()
  }

  /** Drops the shard indexes of these arrays; the primary becomes the first array left. */
  removeArrays(indexes: readonly ArrayIndex[]): void {
    for (const index of indexes) this.#state.arrays.delete(index.path)
    this.#primary.path = this.#state.arrays.keys().next().value
    this.#markChanged()
  }

  /** Gives an array a new grid and shard list (a resize). */
  reshape(index: ArrayIndex, grid: ChunkGrid, shardCids: ShardEntry[]): void {
    index.grid = grid
    index.shardCids = shardCids
    if (this.#primary.path === index.path) this.#documentShape = grid.arrayShape
    this.#markChanged()
  }

  /** v1: records which array is sharded (its first chunk write, or a writable open that inferred it). */
  recordPrimary(path: string): void {
    this.#state.recordedPrimary = path
    this.#primary.path = path
    this.#primary.inferred = false
    this.#markChanged()
  }

  /** v1 roots that do not record their array: the one inferred from metadata, kept in memory only. */
  inferPrimary(path: string): void {
    this.#primary.path = path
    this.#primary.inferred = true
  }

  /** Replaces the whole root (v1 → v2 migration); `primary` is its first array. */
  replace(state: RootState, primary: string): void {
    this.#state = state
    this.#layout = layoutOf(state.version)
    this.#primary.path = primary
    this.#primary.inferred = false
    this.#documentShape = this.#primaryShape()
    this.#markChanged()
  }

  /**
   * Remembers the root as it is; the function returned puts it back (state, version, primary,
   * saved CID). For changes made of several steps that must all succeed, such as a migration.
   */
  checkpoint(): () => void {
    const [state, layout, changed, savedId] = [this.#state, this.#layout, this.#changed, this.#savedId]
    const { path, inferred } = this.#primary
    const documentShape = this.#documentShape
    return () => {
      this.#documentShape = documentShape
      this.#state = state
      this.#layout = layout
      this.#changed = changed
      this.#savedId = savedId
      this.#primary.path = path
      this.#primary.inferred = inferred
    }
  }

  /** After a flush saved the root as `id`: links the shards it saved, by array path. */
  saved(id: CID, shardCids: ReadonlyMap<string, ShardEntry[]>): void {
    for (const [path, cids] of shardCids) {
      const index = this.#state.arrays.get(path)
      if (index !== undefined) index.shardCids = cids
    }
    this.#savedId = id
    this.#changed = false
  }
}
