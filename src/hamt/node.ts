import type { StoreId } from '../cas/interface.js'

/** Slots per node: one per value of a hash byte. */
export const SLOTS = 256

/** The epoch of clean nodes: they came from (or went to) the store and are never mutated. */
export const CLEAN = -1

/**
 * A slot's key→pointer map, never mutated once built (a change makes a new bucket), so clean nodes
 * and snapshots can share it. Parallel arrays: buckets hold a handful of entries, a scan beats a Map.
 */
export class Bucket {
  constructor(
    readonly keys: readonly string[],
    readonly pointers: readonly StoreId[],
  ) {}

  get size(): number {
    return this.keys.length
  }

  indexOf(key: string): number {
    return this.keys.indexOf(key)
  }

  /** A bucket with `key` set to `pointer` (replaced if present). */
  with(key: string, pointer: StoreId): Bucket {
    const index = this.keys.indexOf(key)
    if (index >= 0) {
      const pointers = this.pointers.slice()
      pointers[index] = pointer
      return new Bucket(this.keys, pointers)
    }
    return new Bucket([...this.keys, key], [...this.pointers, pointer])
  }

  /** A bucket without the entry at `index`, or `undefined` when that leaves it empty. */
  without(index: number): Bucket | undefined {
    if (this.keys.length === 1) return undefined
    return new Bucket(
      this.keys.filter((_, i) => i !== index),
      this.pointers.filter((_, i) => i !== index),
    )
  }
}

/**
 * A slot that points to a child node: by `id` once the child is in the store, or by the in-memory
 * `node` while the child has unflushed changes. Exactly one of the two is set.
 */
export class Link {
  private constructor(
    readonly id: StoreId | undefined,
    readonly node: Node | undefined,
  ) {}

  static toStored(id: StoreId): Link {
    return new Link(id, undefined)
  }

  static toDirty(node: Node): Link {
    return new Link(undefined, node)
  }
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
