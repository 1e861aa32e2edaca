import type { StoreId } from '../cas/interface.js'
import { compareDagCborKeys } from './utf8.js'

/** Slots per node: one per value of a hash byte. */
export const SLOTS = 256

/** The epoch of clean nodes: they came from (or went to) the store and are never mutated. */
export const CLEAN = -1

/**
 * A slot's key→pointer map, never mutated once built (a change makes a new bucket), so clean nodes
 * and snapshots can share it. Keys are kept in DAG-CBOR's map key order (the order the node encoder
 * writes), so encoding a bucket sorts nothing: that sort was ~0.8 µs a bucket of a flush.
 * A bucket of one entry (most buckets of a large map: at 1M keys a node holds ~15 keys in 256 slots)
 * holds its key and pointer themselves; larger ones parallel arrays (a scan beats a Map at this
 * size). Two one-element arrays cost ~110 bytes and two objects a key, which every young-generation
 * GC copied and every full GC marked.
 */
export class Bucket {
  // `declare`: made by the constructor's assignments only, in one order and never undefined first,
  // so V8 keeps one shape with stable fields (a class field starts as undefined, and its change
  // in the constructor deoptimised the code compiled against it, once per process).
  /** The key of a one-entry bucket, else the keys (read them with {@link Bucket.keyAt}). */
  declare readonly keyOrKeys: string | readonly string[]
  /** The pointer of a one-entry bucket, else the pointers ({@link Bucket.pointerAt}). */
  declare readonly pointerOrPointers: HeldPointer | readonly HeldPointer[]
  /**
   * The node block that pointers held as places are in (see {@link HeldPointer}); {@link NO_BLOCK},
   * never undefined, when there are none: a field that holds one type keeps its optimised readers.
   */
  declare readonly block: Uint8Array

  /**
   * Entries in any order; they are sorted here unless already in DAG-CBOR key order (`sorted`:
   * the caller built them in order, as {@link Bucket.with} does, so they are not checked again).
   * `block`: where the pointers given as places ({@link placeOf}) are. A key and a pointer (not
   * arrays) make a one-entry bucket without two arrays to throw away, as {@link Bucket.of} does.
   */
  constructor(
    keys: readonly string[] | string,
    pointers: readonly HeldPointer[] | HeldPointer,
    sorted = false,
    block: Uint8Array | undefined = undefined,
  ) {
    if (typeof keys === 'string') {
      this.keyOrKeys = keys
      this.pointerOrPointers = pointers as HeldPointer
    } else if (keys.length === 1) {
      this.keyOrKeys = keys[0] as string
      this.pointerOrPointers = (pointers as readonly HeldPointer[])[0] as HeldPointer
    } else if (sorted || isSorted(keys)) {
      this.keyOrKeys = keys
      this.pointerOrPointers = pointers as readonly HeldPointer[]
    } else {
      const ps = pointers as readonly HeldPointer[]
      const order = keys.map((_, i) => i)
      order.sort((i, j) => compareDagCborKeys(keys[i] as string, keys[j] as string))
      this.keyOrKeys = order.map((i) => keys[i] as string)
      this.pointerOrPointers = order.map((i) => ps[i] as HeldPointer)
    }
    this.block = block ?? NO_BLOCK
  }

  /** A bucket of one entry. */
  static of(key: string, pointer: StoreId): Bucket {
    return new Bucket(key, pointer)
  }

  get size(): number {
    const keys = this.keyOrKeys
    return typeof keys === 'string' ? 1 : keys.length
  }

  /** The keys in order (a new array for a one-entry bucket: hot loops use {@link Bucket.keyAt}). */
  get keys(): readonly string[] {
    const keys = this.keyOrKeys
    return typeof keys === 'string' ? [keys] : keys
  }

  /** The pointers, in the keys' order (see {@link Bucket.keys}; a new array when any is a place). */
  get pointers(): readonly StoreId[] {
    const keys = this.keyOrKeys
    if (typeof keys === 'string') return [this.pointerAt(0)]
    const held = this.pointerOrPointers as readonly HeldPointer[]
    return this.block === NO_BLOCK ? (held as readonly StoreId[]) : held.map((_, i) => this.pointerAt(i))
  }

  keyAt(index: number): string {
    const keys = this.keyOrKeys
    return (typeof keys === 'string' ? keys : keys[index]) as string
  }

  pointerAt(index: number): StoreId {
    const held = this.heldAt(index)
    if (typeof held !== 'number') return held
    const start = placeStart(held)
    return this.block.subarray(start, start + placeLength(held))
  }

  /** The pointer as held: an ID, or its place in {@link Bucket.block} (no view made, see {@link HeldPointer}). */
  heldAt(index: number): HeldPointer {
    return (
      typeof this.keyOrKeys === 'string'
        ? this.pointerOrPointers
        : (this.pointerOrPointers as readonly HeldPointer[])[index]
    ) as HeldPointer
  }

  indexOf(key: string): number {
    const keys = this.keyOrKeys
    if (typeof keys === 'string') return keys === key ? 0 : -1
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i
    return -1
  }

  /** A bucket with `key` set to `pointer` (replaced if present), keys still in order. */
  with(key: string, pointer: StoreId): Bucket {
    const own = this.keyOrKeys
    if (typeof own === 'string') {
      // The most common case of a large map's writes, without the arrays of `keys` and `pointers`.
      if (own === key) return new Bucket(key, pointer)
      const first = this.pointerAt(0)
      return compareDagCborKeys(own, key) < 0
        ? new Bucket([own, key], [first, pointer], true)
        : new Bucket([key, own], [pointer, first], true)
    }
    const keys = this.keys
    const pointers = this.pointers
    let at = 0
    while (at < keys.length && compareDagCborKeys(keys[at] as string, key) < 0) at++
    if (keys[at] === key) {
      const replaced = pointers.slice()
      replaced[at] = pointer
      return new Bucket(keys, replaced, true)
    }
    // Built at their final size: slice + splice left each array room for ~20 entries (V8 grows a
    // full array by half plus 16), ~280 wasted bytes a bucket, in every bucket a set touched.
    const n = keys.length
    const newKeys = new Array<string>(n + 1)
    const newPointers = new Array<StoreId>(n + 1)
    for (let i = 0; i < at; i++) {
      newKeys[i] = keys[i] as string
      newPointers[i] = pointers[i] as StoreId
    }
    newKeys[at] = key
    newPointers[at] = pointer
    for (let i = at; i < n; i++) {
      newKeys[i + 1] = keys[i] as string
      newPointers[i + 1] = pointers[i] as StoreId
    }
    return new Bucket(newKeys, newPointers, true)
  }

  /** A bucket without the entry at `index`, or `undefined` when that leaves it empty. */
  without(index: number): Bucket | undefined {
    if (this.size === 1) return undefined
    return new Bucket(
      this.keys.filter((_, i) => i !== index),
      this.pointers.filter((_, i) => i !== index),
      true,
    )
  }
}

/**
 * A pointer as a bucket holds it: the ID, or for a byte ID in the node block a bucket was decoded
 * from, its place there (see {@link placeOf}), made into a view only when asked for. A view costs V8
 * ~96 bytes, 43% of a cached node's heap at 100k keys, which every GC copied or marked.
 */
export type HeldPointer = StoreId | number

/** A bucket's {@link Bucket.block} when it holds no place. */
export const NO_BLOCK = new Uint8Array(0)

/** A place is `start * PLACE_LENGTHS + length`, a small integer (no heap number) for any node block. */
const PLACE_LENGTHS = 256

/** Where in its block the ID at `place` starts (see {@link placeOf}). */
export function placeStart(place: number): number {
  return (place - (place % PLACE_LENGTHS)) / PLACE_LENGTHS
}

/** The length of the ID at `place` (see {@link placeOf}). */
export function placeLength(place: number): number {
  return place % PLACE_LENGTHS
}

/** The place of the ID at `block[start..start + length)`, or undefined when it cannot be one. */
export function placeOf(start: number, length: number): number | undefined {
  return length < PLACE_LENGTHS && start < 1 << 22 ? start * PLACE_LENGTHS + length : undefined
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if (compareDagCborKeys(keys[i - 1] as string, keys[i] as string) > 0) return false
  }
  return true
}

/**
 * A slot that points to a child node: by `id` once the child is in the store, or by the in-memory
 * `node` while the child has unflushed changes. Exactly one of the two is set.
 */
export class Link {
  /**
   * The node cache's entry for a stored child, remembered at the first lookup, so that a warm walk
   * follows a pointer instead of hashing the ID at every level. Only a memo: the cache empties the
   * entry when it lets the node go.
   */
  declare cached: CachedNode | undefined
  declare readonly id: StoreId | undefined
  declare readonly node: Node | undefined

  // Fields assigned here in one order, none undefined first but `cached` (see Bucket's).
  private constructor(id: StoreId | undefined, node: Node | undefined) {
    this.id = id
    this.node = node
    this.cached = undefined
  }

  static toStored(id: StoreId): Link {
    return new Link(id, undefined)
  }

  static toDirty(node: Node): Link {
    return new Link(undefined, node)
  }
}

/** A node cache's entry as a link remembers it: `node` is undefined once the cache dropped it. */
export interface CachedNode {
  readonly node: Node | undefined
  used: boolean
  /** The cache that holds the entry: a link is only followed through its own map's cache. */
  readonly owner: object
}

/** An empty slot is `undefined` (encoded as `{}`): most slots are empty and cost nothing this way. */
export type Slot = Bucket | Link | undefined

/**
 * One HAMT node: 256 slots. `epoch` is {@link CLEAN} for nodes that are in the store; a dirty node
 * records the write epoch that created it and may be changed in place only during that epoch
 * (a snapshot for iteration starts a new epoch, after which writes copy instead).
 */
export class Node {
  constructor(
    readonly slots: Slot[] = new Array<Slot>(SLOTS).fill(undefined),
    public epoch: number = CLEAN,
  ) {}

  get dirty(): boolean {
    return this.epoch !== CLEAN
  }

  /** A dirty copy for `epoch`; slots are shared, which is safe because buckets are immutable. */
  copy(epoch: number): Node {
    return new Node(this.slots.slice(), epoch)
  }
}
