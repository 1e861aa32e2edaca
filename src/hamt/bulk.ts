import { copyBytes } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { describeValue, HashExhaustedError, InvalidArgumentError } from '../errors.js'
import { mapPool } from '../util/pool.js'
import type { KeyHasher } from './keys.js'
import { type NodeLoader, saveFailure } from './loader.js'
import { Bucket, CLEAN, Link, Node, SLOTS, type Slot } from './node.js'
import { encodeNode } from './node-encoder.js'
import { compareDagCborKeys } from './utf8.js'
import { encodeValue } from './values.js'

// A bulk build hashes every key once, saves the values in batches, then builds the canonical tree
// bottom-up by partitioning the entries on one hash byte per level (a stable MSD radix sort). Each
// node is encoded and saved as soon as its children are, so only the nodes on the paths being built
// are in memory, never the whole tree.

/** Values encoded and saved per batch: bounds the encoded bytes held at once. */
const VALUE_BATCH = 1024

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
 * `HAMT.setMany`'s entries (a synchronous iterable) checked, hashed and encoded at the call, as each
 * `set` does at its own; throws for the first bad entry.
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
  for (const entry of entries) {
    const [key, value] = checkEntry(entry, keys.length)
    hashes.push(hasher.hash(key))
    values.push(encodeValue(key, value, valuesAreBytes))
    keys.push(key)
  }
  return { keys, hashes, values }
}

/** Every entry read, in input order: index `i` is the `i`-th entry, duplicates included. */
type Table = {
  keys: string[]
  pointers: StoreId[]
  /** The keys' hashes back to back, `hashLength` bytes each. */
  hashes: Uint8Array
  hashLength: number
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
    this.table = { keys: [], pointers: [], hashes: new Uint8Array(1024 * hashLength), hashLength }
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
    if ((index + 1) * length > table.hashes.length) {
      const grown = new Uint8Array(table.hashes.length * 2)
      grown.set(table.hashes)
      table.hashes = grown
    }
    const hashes = table.hashes
    for (let i = 0, at = index * length; i < length; i++, at++) hashes[at] = hash[i] as number
    const data = encodeValue(key, value, this.#context.valuesAreBytes)
    // A store in memory saves at once (see `SAVE_NOW`): then there is never a batch to wait for. Not
    // while a batch waits (its `save` was patched meanwhile): the pointers are kept in input order.
    const saved = this.#batch.length === 0 ? this.#context.loader.saveNow(data) : undefined
    // A batched byte value is copied: the caller may refill its buffer for the next entry before the batch saves.
    if (saved === undefined) this.#batch.push(data === value ? copyBytes(data) : data)
    else {
      this.#context.onSaved(saved)
      this.table.pointers.push(saved)
    }
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
    const pointers = this.table.pointers
    for (const id of ids) pointers.push(id)
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

  constructor(table: Table, order: Uint32Array, context: BulkContext) {
    this.#table = table
    this.#order = order
    this.#context = context
    this.#scratch = new Uint32Array(order.length)
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
    for (let slot = 0; slot < SLOTS; slot++) {
      const from = starts[slot] as number
      const to = starts[slot + 1] as number
      if (from === to) continue
      const bucket = this.#bucket(from, to)
      if (bucket !== undefined) slots[slot] = bucket
      else deeper.push(slot)
    }
    if (deeper.length > 0 && depth + 1 >= this.#table.hashLength) {
      const key = this.#table.keys[this.#order[starts[deeper[0] as number] as number] as number] as string
      throw new HashExhaustedError(
        `key ${JSON.stringify(key)} needs hash byte ${depth + 1} but its hash has only ${this.#table.hashLength} bytes: ` +
          'too many keys share one hash prefix for this bucket size (nothing was built)',
      )
    }
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

  /**
   * The bucket of `order[from..to)` when they hold at most `maxBucketSize` distinct keys, each with
   * its last value, in DAG-CBOR key order; else `undefined` (the range needs a child node).
   */
  #bucket(from: number, to: number): Bucket | undefined {
    const { keys: allKeys, pointers: allPointers } = this.#table
    const order = this.#order
    if (to - from === 1) {
      // Most buckets of a large map: no arrays to build and drop.
      const entry = order[from] as number
      this.size++
      return new Bucket(allKeys[entry] as string, allPointers[entry] as StoreId)
    }
    const limit = this.#context.maxBucketSize
    const keys: string[] = []
    const pointers: StoreId[] = []
    // From the last entry back: the first time a key is seen is its last value. Each new key is
    // inserted in DAG-CBOR key order, so the bucket is built sorted.
    next: for (let i = to - 1; i >= from; i--) {
      const entry = order[i] as number
      const key = allKeys[entry] as string
      for (let j = 0; j < keys.length; j++) if (keys[j] === key) continue next
      if (keys.length === limit) return undefined
      let at = keys.length
      keys.push(key)
      pointers.push(allPointers[entry] as StoreId)
      for (; at > 0 && compareDagCborKeys(keys[at - 1] as string, key) > 0; at--) {
        keys[at] = keys[at - 1] as string
        pointers[at] = pointers[at - 1] as StoreId
      }
      keys[at] = key
      pointers[at] = allPointers[entry] as StoreId
    }
    this.size += keys.length
    return new Bucket(keys, pointers, true)
  }
}
