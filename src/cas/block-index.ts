import { hashIdBytes } from './id-map.js'

/**
 * A MemoryStore's index, ID bytes → a number (where the block is), in typed arrays: no object per
 * block. An `IdMap` kept an entry object, a `Map` slot and the ID array itself for each block
 * (~350 bytes), which a 1M-key map's GC walked again and again; here a block costs its ID bytes,
 * one float and two table slots. IDs are fixed-length (the store makes them all); open addressing
 * with linear probing at most half full, hashed with a seed of this index's own, so no choice of
 * IDs can make one index's probes long. Each entry keeps its hash (4 bytes) so growth rehashes no ID.
 */
export class BlockIndex {
  readonly #idLength: number
  readonly #seed = (Math.random() * 0x40000000) | 0
  /** ID bytes, block after block in insertion order. */
  #ids: Uint8Array
  #values: Float64Array
  /** Each entry's hash, so that growing the table hashes no ID again. */
  #hashes: Int32Array
  /** Entry number + 1 per slot, 0 when empty; the length is a power of two. */
  #table: Int32Array
  #size = 0
  /** The hash of the ID the last {@link BlockIndex.lookup} found absent. */
  #pending = 0

  constructor(idLength: number) {
    this.#idLength = idLength
    this.#ids = new Uint8Array(idLength * 1024)
    this.#values = new Float64Array(1024)
    this.#hashes = new Int32Array(1024)
    this.#table = new Int32Array(2048)
  }

  get size(): number {
    return this.#size
  }

  /**
   * The value of `id`, or undefined; of the ID at `id[start..start + length)` when given (an ID
   * inside a larger block, read where it is: no view made for it).
   */
  get(id: Uint8Array, start = 0, length = id.length): number | undefined {
    const entry = this.#find(id, start, length)
    return entry < 0 ? undefined : this.#values[entry]
  }

  /** Replaces the value of `id`; false when `id` is not here. */
  update(id: Uint8Array, value: number): boolean {
    const entry = this.#find(id, 0, id.length)
    if (entry < 0) return false
    this.#values[entry] = value
    return true
  }

  /** Adds `id` with `value`; `id` must not be here yet (ask {@link BlockIndex.get} first). */
  insert(id: Uint8Array, value: number): void {
    const found = this.lookup(id)
    if (found >= 0) throw new RangeError('this ID is here already')
    this.addAt(found, id, value)
  }

  /**
   * Where `id` is: its entry number (>= 0), or when absent a negative number that
   * {@link BlockIndex.addAt} takes to add it with no second probe, if nothing is added in between.
   * One probe and one hash, where `get` then `insert` took two of each.
   */
  lookup(id: Uint8Array): number {
    if (id.length !== this.#idLength) throw new RangeError(`IDs here are ${this.#idLength} bytes`)
    if ((this.#size + 1) * 2 > this.#table.length) this.#growTable()
    const hash = this.#hash(id, 0)
    const slot = this.#probe(id, 0, hash)
    const found = (this.#table[slot] as number) - 1
    if (found >= 0) return found
    this.#pending = hash
    return -1 - slot
  }

  /** The value of entry `entry` (a {@link BlockIndex.lookup} answer >= 0). */
  valueAt(entry: number): number {
    return this.#values[entry] as number
  }

  /** Adds `id` where {@link BlockIndex.lookup} (the last call) found it absent. */
  addAt(absent: number, id: Uint8Array, value: number): void {
    if (this.#size === this.#values.length) this.#growEntries()
    const entry = this.#size++
    this.#ids.set(id, entry * this.#idLength)
    this.#values[entry] = value
    this.#hashes[entry] = this.#pending
    this.#table[-1 - absent] = entry + 1
  }

  /** Every value in insertion order. */
  values(): Float64Array {
    return this.#values.subarray(0, this.#size)
  }

  /** Every `[id, value]` in insertion order; each ID a copy. */
  *entries(): IterableIterator<[Uint8Array, number]> {
    const n = this.#idLength
    for (let entry = 0; entry < this.#size; entry++) {
      yield [this.#ids.slice(entry * n, entry * n + n), this.#values[entry] as number]
    }
  }

  /** The entry number of the ID at `bytes[start..start + length)`, or -1. */
  #find(bytes: Uint8Array, start: number, length: number): number {
    if (length !== this.#idLength || start < 0 || start + length > bytes.length) return -1
    return (this.#table[this.#probe(bytes, start, this.#hash(bytes, start))] as number) - 1
  }

  /**
   * The table slot that holds the ID at `id[at..)` (of hash `hash`), or else the empty slot where
   * it would go.
   */
  #probe(id: Uint8Array, at: number, hash: number): number {
    const n = this.#idLength
    const table = this.#table
    const mask = table.length - 1
    const ids = this.#ids
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const found = (table[slot] as number) - 1
      if (found < 0) return slot
      const start = found * n
      let i = n - 1
      // Compared from the end: IDs share their multihash prefix.
      while (i >= 0 && ids[start + i] === id[at + i]) i--
      if (i < 0) return slot
    }
  }

  #place(entry: number, hash: number): void {
    const table = this.#table
    const mask = table.length - 1
    let slot = hash & mask
    while (table[slot] !== 0) slot = (slot + 1) & mask
    table[slot] = entry + 1
  }

  /** 31 bits from every byte of `bytes[start..start + idLength)`, seeded (the one ID hash). */
  #hash(bytes: Uint8Array, start: number): number {
    return hashIdBytes(bytes, start, this.#idLength, this.#seed)
  }

  #growTable(): void {
    this.#table = new Int32Array(this.#table.length * 2)
    const hashes = this.#hashes
    for (let entry = 0; entry < this.#size; entry++) this.#place(entry, hashes[entry] as number)
  }

  #growEntries(): void {
    const ids = new Uint8Array(this.#ids.length * 2)
    ids.set(this.#ids)
    this.#ids = ids
    const values = new Float64Array(this.#values.length * 2)
    values.set(this.#values)
    this.#values = values
    const hashes = new Int32Array(this.#hashes.length * 2)
    hashes.set(this.#hashes)
    this.#hashes = hashes
  }
}
