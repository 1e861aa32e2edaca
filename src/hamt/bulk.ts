import { copyBytes } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { Slabs } from '../cas/slabs.js'
import { isEncodedNow } from '../codec/dag-cbor.js'
import { describeValue, HashExhaustedError, InvalidArgumentError } from '../errors.js'
import { mapPool } from '../util/pool.js'
import type { KeyHasher } from './keys.js'
import { type NodeLoader, saveFailure } from './loader.js'
import { Bucket, CLEAN, type HeldPointer, Link, Node, placeOf, SLOTS, type Slot } from './node.js'
import { encodeNode } from './node-encoder.js'
import { compareDagCborKeys } from './utf8.js'
import { encodeValue } from './values.js'

// A bulk build hashes every key once, saves the values in batches, then builds the canonical tree
// bottom-up by partitioning the entries on one hash byte per level (a stable MSD radix sort). Each
// node is encoded and saved as soon as its children are, so only the nodes on the paths being built
// are in memory, never the whole tree.

/** Values encoded and saved per batch: bounds the encoded bytes held at once. */
const VALUE_BATCH = 1024
/** A BLAKE3 or SHA-256 multihash: the first size of the table's ID bytes (it grows as needed). */
const TYPICAL_ID_BYTES = 34

export type BulkContext = {
  hasher: KeyHasher
  loader: NodeLoader
  maxBucketSize: number
  valuesAreBytes: boolean
  /** Store saves in flight at once. */
  concurrency: number
  /** The store copies the bytes at its save call (`copiesAtSave`): nodes are encoded into scratch. */
  copyAtSave: boolean
  signal: AbortSignal | undefined
  /** Hears each value's and node's ID as its save returns (a collection keeps them while the build runs). */
  onSaved: (id: StoreId) => void
}

/**
 * `HAMT.setMany`'s entries (a synchronous iterable) checked, hashed and encoded (byte values copied)
 * at the call, as each `set` does at its own; throws for the first bad entry.
 */
export function encodeEntries(
  entries: Iterable<readonly [string, unknown]>,
  hasher: KeyHasher,
  valuesAreBytes: boolean,
): { keys: string[]; hashes: Uint8Array[]; values: Uint8Array[] } {
  checkEntries(entries, false)
  const keys: string[] = []
  const hashes: Uint8Array[] = []
  const values: Uint8Array[] = []
  const slabs = valuesAreBytes ? new Slabs() : undefined
  for (const entry of entries) {
    const [key, value] = checkEntry(entry, keys.length)
    hashes.push(hasher.hash(key))
    // A byte value taken at the call (its save may start after the caller refilled its array), small
    // ones into shared slabs: an ArrayBuffer each was a quarter of a setMany's time on a MemoryStore.
    const data = encodeValue(key, value, valuesAreBytes)
    values.push(slabs !== undefined && data === value ? slabs.copy(data) : data)
    keys.push(key)
  }
  return { keys, hashes, values }
}

/**
 * Every entry read, in input order: index `i` is the `i`-th entry, duplicates included. Byte IDs are
 * kept as bytes, not as the store's arrays: a million ~100-byte views that outlived every young GC
 * were most of the build's garbage collection (see `TreeBuilder.build` for where they go).
 */
type Table = {
  keys: string[]
  /** Entry `i`'s byte ID is `ids[idEnds[i - 1]..idEnds[i])`; empty for a CID, which is in `cids`. */
  ids: Uint8Array
  idEnds: Uint32Array
  cids: Map<number, StoreId>
  /** Pointers added so far (values are saved in input order, so pointer `i` is entry `i`'s). */
  pointerCount: number
  /** The keys' hashes back to back, `hashLength` bytes each. */
  hashes: Uint8Array
  hashLength: number
}

/** `array`, or a copy twice as long (or more) when it has less than `needed` elements. */
function withRoom<T extends Uint8Array | Uint32Array>(array: T, needed: number): T {
  if (needed <= array.length) return array
  let length = array.length * 2
  while (length < needed) length *= 2
  const grown = new (array.constructor as new (length: number) => T)(length)
  grown.set(array)
  return grown
}

/** Adds the next entry's value ID to the table. */
function addPointer(table: Table, id: StoreId): void {
  const index = table.pointerCount++
  let end = index === 0 ? 0 : (table.idEnds[index - 1] as number)
  table.idEnds = withRoom(table.idEnds, index + 1)
  if (id instanceof Uint8Array) {
    table.ids = withRoom(table.ids, end + id.length)
    table.ids.set(id, end)
    end += id.length
  } else table.cids.set(index, id)
  table.idEnds[index] = end
}

/** Room the table keeps for an ID saved straight into it (see {@link addPointerNow}). */
const ID_ROOM = 64

/** Saves the next entry's value where the store saves at once, its ID written into the table; false when it cannot. */
function addPointerNow(table: Table, data: Uint8Array, loader: NodeLoader): boolean {
  const index = table.pointerCount
  const end = index === 0 ? 0 : (table.idEnds[index - 1] as number)
  table.ids = withRoom(table.ids, end + ID_ROOM)
  const length = loader.saveInto(data, table.ids, end)
  if (length === 0) return false
  table.idEnds = withRoom(table.idEnds, index + 1)
  table.idEnds[index] = end + length
  table.pointerCount++
  return true
}

/**
 * Saves every value and builds the canonical tree for `entries` (the last value of a repeated key
 * wins); returns the saved root's ID, its node and the count of distinct keys. Throws the error
 * `set` would throw for the first bad entry; the store may then hold some of the values, as after
 * a failed `set`, but no node of the tree.
 */
export async function buildFromEntries(
  entries: Iterable<readonly [string, unknown]> | AsyncIterable<readonly [string, unknown]>,
  context: BulkContext,
): Promise<{ rootId: StoreId; root: Node; bytes: number; size: number }> {
  const table = await readEntries(entries, context)
  const order = new Uint32Array(table.keys.length)
  for (let i = 0; i < order.length; i++) order[i] = i
  const builder = new TreeBuilder(table, order, context)
  const built = await builder.build(0, order.length, 0)
  // Buffering stores upload here, as in a flush; an abort seen after it still returns nothing.
  await context.loader.flushStore({ signal: context.signal })
  context.signal?.throwIfAborted()
  return { ...built, size: builder.size }
}

/** Refuses anything but an iterable (or, when `orAsync`, an async iterable) of entries. */
export function checkEntries(entries: unknown, orAsync: boolean): void {
  if (
    entries === null ||
    typeof entries !== 'object' ||
    !(Symbol.iterator in entries || (orAsync && Symbol.asyncIterator in entries))
  ) {
    throw new InvalidArgumentError(
      `entries must be an${orAsync ? ' iterable or async' : ''} iterable of [key, value] pairs, got ${describeValue(entries)}`,
    )
  }
}

/** Entry `index` as a `[key, value]` array (the key is checked by the hasher). */
export function checkEntry(entry: unknown, index: number): readonly [string, unknown] {
  if (!Array.isArray(entry)) {
    throw new InvalidArgumentError(`entry ${index} must be a [key, value] array, got ${describeValue(entry)}`)
  }
  return entry as unknown as readonly [string, unknown]
}

/**
 * Hashes each key and saves each value, in input order. Only batch ends await: a sync iterable is
 * read without a promise per entry, and a batch's saves are all started at once (as `set` starts an
 * upload at once) and all settled before the batch counts as done or failed.
 */
async function readEntries(
  entries: Iterable<readonly [string, unknown]> | AsyncIterable<readonly [string, unknown]>,
  context: BulkContext,
): Promise<Table> {
  checkEntries(entries, true)
  const reader = new EntryReader(context)
  if (Symbol.asyncIterator in entries) {
    for await (const entry of entries) if (reader.add(entry)) await reader.saveBatch()
  } else {
    for (const entry of entries) if (reader.add(entry)) await reader.saveBatch()
  }
  await reader.saveBatch()
  return reader.table
}

class EntryReader {
  readonly table: Table
  readonly #context: BulkContext
  #batch: Uint8Array[] = []

  constructor(context: BulkContext) {
    this.#context = context
    const hashLength = context.hasher.length
    this.table = {
      keys: [],
      ids: new Uint8Array(1024 * TYPICAL_ID_BYTES),
      idEnds: new Uint32Array(1024),
      cids: new Map(),
      pointerCount: 0,
      hashes: new Uint8Array(1024 * hashLength),
      hashLength,
    }
  }

  /** Takes one entry; true when the batch of values is full and must be saved before the next. */
  add(entry: unknown): boolean {
    this.#context.signal?.throwIfAborted()
    const table = this.table
    const index = table.keys.length
    const [key, value] = checkEntry(entry, index)
    // As in set: the key and its hash are checked before the value is encoded. The hash is copied
    // into the table at once (`hashNow` reuses its buffer); the entry counts only once it is added.
    const hash = this.#context.hasher.hashNow(key)
    const length = table.hashLength
    const hashes = withRoom(table.hashes, (index + 1) * length)
    table.hashes = hashes
    for (let i = 0, at = index * length; i < length; i++, at++) hashes[at] = hash[i] as number
    // Encoded into a shared buffer when it can be: saved at once (copied) or copied into the batch.
    const data = encodeValue(key, value, this.#context.valuesAreBytes, true)
    // A store in memory saves at once (see `SAVE_NOW`): then there is never a batch to wait for. Not
    // while a batch waits (its `save` was patched meanwhile): the pointers are kept in input order.
    // Its ID is written straight into the table: bytes, never a CID, so no collection's view needs it.
    const savedInto = this.#batch.length === 0 && addPointerNow(table, data, this.#context.loader)
    const saved = savedInto || this.#batch.length > 0 ? undefined : this.#context.loader.saveNow(data)
    // A batched byte value is copied: the caller may refill its buffer for the next entry before the batch saves.
    if (saved !== undefined) {
      this.#context.onSaved(saved)
      addPointer(table, saved)
    } else if (!savedInto) this.#batch.push(data === value || isEncodedNow(data) ? copyBytes(data) : data)
    table.keys.push(key)
    return this.#batch.length === VALUE_BATCH
  }

  async saveBatch(): Promise<void> {
    const batch = this.#batch
    if (batch.length === 0) return
    this.#batch = []
    const { loader, signal } = this.#context
    const options = { signal }
    const saves = batch.map(async (data) => {
      const id = await loader.saveUnwrapped(data, 'raw', options)
      this.#context.onSaved(id)
      return id
    })
    let ids: StoreId[]
    try {
      ids = await Promise.all(saves)
    } catch (error) {
      // Every save of the batch settles before the failure is reported: nothing runs on after it.
      await Promise.allSettled(saves)
      throw saveFailure('raw', error, signal)
    }
    for (const id of ids) addPointer(this.table, id)
  }
}

/** Builds and saves the nodes of the tree, depth-first; `order` is permuted in place as it goes. */
class TreeBuilder {
  /** Distinct keys placed so far. */
  size = 0
  readonly #table: Table
  readonly #order: Uint32Array
  readonly #context: BulkContext
  /** Scratch for the partition of one range; a range is sorted and copied back before any await. */
  readonly #scratch: Uint32Array
  readonly #counts = new Uint32Array(SLOTS + 1)
  /** Scratch for the entries one node's buckets keep (see `#pick`), filled and used before any await. */
  readonly #picked: Uint32Array
  #pickedLength = 0

  constructor(table: Table, order: Uint32Array, context: BulkContext) {
    this.#table = table
    this.#order = order
    this.#context = context
    this.#scratch = new Uint32Array(order.length)
    this.#picked = new Uint32Array(Math.min(order.length, SLOTS * context.maxBucketSize))
  }

  /** The node for the entries `order[start..end)`, which share the first `depth` hash bytes, saved. */
  async build(
    start: number,
    end: number,
    depth: number,
  ): Promise<{ rootId: StoreId; root: Node; bytes: number }> {
    const starts = this.#partition(start, end, depth)
    const slots = new Array<Slot>(SLOTS).fill(undefined)
    const deeper: number[] = []
    // First which entries each bucket keeps (in `#picked`), then their IDs copied into one slab
    // of this node's: only its buckets reference it, so a later set that replaces one keeps at most
    // this node's IDs alive, and the build makes one array a node instead of one a value.
    /** Each bucket's slot and the end of its entries in `#picked`, side by side. */
    const bucketSlots: number[] = []
    this.#pickedLength = 0
    let slabBytes = 0
    for (let slot = 0; slot < SLOTS; slot++) {
      const from = starts[slot] as number
      const to = starts[slot + 1] as number
      if (from === to) continue
      const at = this.#pickedLength
      if (!this.#pick(from, to)) {
        deeper.push(slot)
        continue
      }
      bucketSlots.push(slot, this.#pickedLength)
      for (let i = at; i < this.#pickedLength; i++) slabBytes += this.#idLength(this.#picked[i] as number)
    }
    if (deeper.length > 0 && depth + 1 >= this.#table.hashLength) {
      const key = this.#table.keys[this.#order[starts[deeper[0] as number] as number] as number] as string
      throw new HashExhaustedError(
        `key ${JSON.stringify(key)} needs hash byte ${depth + 1} but its hash has only ${this.#table.hashLength} bytes: ` +
          'too many keys share one hash prefix for this bucket size (nothing was built)',
      )
    }
    this.#makeBuckets(slots, bucketSlots, slabBytes)
    // The root's subtrees are built side by side so a slow store has saves in flight; below it one
    // at a time, which keeps the saves in flight (and the nodes held) near `concurrency`.
    const concurrency = depth === 0 ? this.#context.concurrency : 1
    await mapPool(
      deeper,
      concurrency,
      async (slot) => {
        const child = await this.build(starts[slot] as number, starts[slot + 1] as number, depth + 1)
        slots[slot] = Link.toStored(child.rootId)
      },
      this.#context.signal,
    )
    const root = new Node(slots, CLEAN)
    const bytes = encodeNode(
      root,
      () => {
        throw new Error('a bulk-built node links only to saved children')
      },
      this.#context.copyAtSave,
    )
    const size = bytes.length
    const rootId = await this.#context.loader.save(bytes, 'dag-cbor', { signal: this.#context.signal })
    this.#context.onSaved(rootId)
    return { rootId, root, bytes: size }
  }

  /**
   * Stable counting sort of `order[start..end)` on hash byte `depth`; returns where each slot's
   * entries start (257 offsets, absolute). Entries keep their input order within a slot.
   */
  #partition(start: number, end: number, depth: number): Uint32Array {
    const { hashes, hashLength } = this.#table
    const order = this.#order
    const counts = this.#counts
    counts.fill(0)
    for (let i = start; i < end; i++) {
      const next = (hashes[(order[i] as number) * hashLength + depth] as number) + 1
      counts[next] = (counts[next] as number) + 1
    }
    counts[0] = start
    for (let slot = 1; slot <= SLOTS; slot++)
      counts[slot] = (counts[slot] as number) + (counts[slot - 1] as number)
    const starts = counts.slice()
    const scratch = this.#scratch
    for (let i = start; i < end; i++) {
      const entry = order[i] as number
      const slot = hashes[entry * hashLength + depth] as number
      scratch[counts[slot] as number] = entry
      counts[slot] = (counts[slot] as number) + 1
    }
    order.set(scratch.subarray(start, end), start)
    return starts
  }

  /** Byte length of entry `entry`'s ID in the table (0 for a CID). */
  #idLength(entry: number): number {
    const ends = this.#table.idEnds
    return (ends[entry] as number) - (entry === 0 ? 0 : (ends[entry - 1] as number))
  }

  /**
   * Appends to `#picked` the entries a bucket of `order[from..to)` keeps when they hold at most
   * `maxBucketSize` distinct keys: each key's last entry, in DAG-CBOR key order; else false (the
   * range needs a child node) and `#picked` as before.
   */
  #pick(from: number, to: number): boolean {
    const keys = this.#table.keys
    const order = this.#order
    const picked = this.#picked
    const first = this.#pickedLength
    let length = first
    const limit = first + this.#context.maxBucketSize
    // From the last entry back: the first time a key is seen is its last value. Each new key is
    // inserted in DAG-CBOR key order, so the bucket is built sorted.
    next: for (let i = to - 1; i >= from; i--) {
      const entry = order[i] as number
      const key = keys[entry] as string
      for (let j = first; j < length; j++) if (keys[picked[j] as number] === key) continue next
      if (length === limit) return false
      let at = length++
      for (; at > first && compareDagCborKeys(keys[picked[at - 1] as number] as string, key) > 0; at--) {
        picked[at] = picked[at - 1] as number
      }
      picked[at] = entry
    }
    this.#pickedLength = length
    return true
  }

  /** Puts in `slots` the buckets of the entries `#picked` holds, slot after slot, their byte IDs in a new slab. */
  #makeBuckets(slots: Slot[], bucketSlots: readonly number[], slabBytes: number): void {
    const { keys, ids, idEnds, cids } = this.#table
    const picked = this.#picked
    const slab = slabBytes === 0 ? undefined : new Uint8Array(slabBytes)
    let written = 0
    /** Entry `entry`'s pointer: its place in the slab, a copy if no place can name it, or its CID. */
    const pointer = (entry: number): HeldPointer => {
      const end = idEnds[entry] as number
      const start = entry === 0 ? 0 : (idEnds[entry - 1] as number)
      if (start === end) return cids.get(entry) as StoreId
      // A byte loop, not `set(ids.subarray(...))`: that view was ~90 bytes of garbage a value.
      const place = placeOf(written, end - start)
      for (let i = start; i < end; i++) (slab as Uint8Array)[written++] = ids[i] as number
      return place ?? ids.slice(start, end)
    }
    let from = 0
    for (let b = 0; b < bucketSlots.length; b += 2) {
      const to = bucketSlots[b + 1] as number
      if (to - from === 1) {
        // Most buckets of a large map: no arrays to build and drop.
        const entry = picked[from] as number
        slots[bucketSlots[b] as number] = new Bucket(keys[entry] as string, pointer(entry), true, slab)
      } else {
        const bucketKeys = new Array<string>(to - from)
        const pointers = new Array<HeldPointer>(to - from)
        for (let i = from; i < to; i++) {
          const entry = picked[i] as number
          bucketKeys[i - from] = keys[entry] as string
          pointers[i - from] = pointer(entry)
        }
        slots[bucketSlots[b] as number] = new Bucket(bucketKeys, pointers, true, slab)
      }
      this.size += to - from
      from = to
    }
  }
}
