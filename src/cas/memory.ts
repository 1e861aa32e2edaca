import { BlockNotFoundError, describeValue, InvalidArgumentError } from '../errors.js'
import { blake3MultihashInto, loadBlake3 } from '../hash/blake3.js'
import { BlockIndex } from './block-index.js'
import { copyAtSave } from './copy-at-save.js'
import { copyBytes, formatId } from './id.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from './interface.js'
import { callsOwnMethod, ownMethods } from './own-method.js'
import { checkByteRange, sliceByteRange } from './range.js'
import { READ_NOW, type ReadsNow, SAVE_INTO, SAVE_NOW, type SavesNow } from './read-now.js'

/**
 * Blocks up to this size are copied into shared arena chunks instead of an array each: a
 * Uint8Array costs ~180 bytes of V8 objects whatever its length, more than a small value block, and
 * a million of them made every major GC of a large store slow.
 */
const SMALL_BLOCK = 4096
const CHUNK = 1 << 20
/** A small block's place: its offset in the arena times this, plus its length (< this). */
const PLACE = 8192
/** Every ID is a BLAKE3-256 multihash: `1e 20` and 32 bytes. */
const ID_LENGTH = 34
const ID_CHUNK = ID_LENGTH * 480

/**
 * A store in memory whose IDs are the BLAKE3-256 multihash of the data (`1e 20` + 32 bytes), exactly
 * as py-hamt's `InMemoryCAS`, so in-memory roots are equal in both libraries.
 *
 * @example
 * ```ts
 * const store = await MemoryStore.create()
 * const map = await HAMT.create({ store })
 * ```
 */
export class MemoryStore implements ContentAddressedStore, ReadsNow, SavesNow {
  /** A small block's place in the arena (see {@link PLACE}), or -1 - its index in `#large`. */
  readonly #blocks = new BlockIndex(ID_LENGTH)
  /** Blocks above {@link SMALL_BLOCK}, each its own copy. */
  readonly #large: Uint8Array[] = []
  readonly #chunks: Uint8Array[] = []
  /** Bytes used in the last chunk. */
  #used = 0
  /** Where the IDs handed out live (see `#nextId`), and the bytes of it used. */
  #idChunk = new Uint8Array(0)
  #idsUsed = 0
  /** Where `SAVE_INTO` hashes a block: its ID is copied into the caller's bytes. */
  readonly #scratchId = new Uint8Array(ID_LENGTH)

  private constructor() {}

  /** `save` copies the bytes before it returns (see `copy-at-save.ts`). */
  get [copyAtSave](): unknown {
    return MemoryStore.prototype.save
  }

  /** Creates an empty store (loads the BLAKE3 WASM module the IDs need). */
  static async create(): Promise<MemoryStore> {
    await loadBlake3()
    return new MemoryStore()
  }

  /**
   * Saves a copy of `data`; returns its ID, a view into a buffer shared with other IDs of this
   * store: copy it (`slice()`) before transferring its buffer. A map's `flush()` gives a copy.
   */
  async save(data: Uint8Array, _codec: Codec, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    if (!(data instanceof Uint8Array)) {
      throw new InvalidArgumentError(`data must be a Uint8Array, got ${describeValue(data)}`)
    }
    return this.#save(data)
  }

  /**
   * Whether `store` (and `via`, the object the caller holds) may answer `name` without a promise: a
   * store whose method is replaced (a test's counting or failing store, a Proxy's trap) is asked through it.
   */
  static #answersNow(store: object, via: object, name: 'save' | 'load'): boolean {
    const own = OWN[name]
    return callsOwnMethod(store, name, own) && callsOwnMethod(via, name, own) && #blocks in store
  }

  /** `save` without a promise, for the HAMT's writes (see `SAVE_NOW`); undefined sends them to `save`. */
  [SAVE_NOW](data: Uint8Array, via: object): Uint8Array | undefined {
    if (!MemoryStore.#answersNow(this, via, 'save') || !(data instanceof Uint8Array)) return undefined
    return this.#save(data)
  }

  /** `SAVE_NOW` with the ID written into the caller's bytes: no array for a caller that copies it anyway. */
  [SAVE_INTO](data: Uint8Array, via: object, into: Uint8Array, at: number): number {
    if (!MemoryStore.#answersNow(this, via, 'save') || !(data instanceof Uint8Array)) return 0
    if (!(into instanceof Uint8Array) || at < 0 || at + ID_LENGTH > into.length) return 0
    const id = this.#scratchId
    blake3MultihashInto(data, id, 0)
    const found = this.#blocks.lookup(id)
    if (found < 0) this.#blocks.addAt(found, id, this.#store(data))
    into.set(id, at)
    return ID_LENGTH
  }

  #save(data: Uint8Array): Uint8Array {
    const id = this.#nextId()
    blake3MultihashInto(data, id, 0)
    const blocks = this.#blocks
    const found = blocks.lookup(id)
    // Same ID, same bytes: a block saved again is already here (and its ID's room is used again).
    if (found >= 0) return id.slice()
    // Copy: the caller may reuse its buffer, and an ID must keep naming the same bytes.
    blocks.addAt(found, id, this.#store(data))
    this.#idsUsed += ID_LENGTH
    return id
  }

  /** Keeps a copy of a new block's bytes; returns where it is (see `#blocks`). */
  #store(data: Uint8Array): number {
    if (data.length <= SMALL_BLOCK) return this.#place(data)
    this.#large.push(copyBytes(data))
    return -this.#large.length
  }

  /**
   * Room for the next ID, a view into a shared chunk: a 34-byte array of its own costs V8 ~250 bytes
   * in three objects, a view ~100 in one, and a large map keeps one ID per key. A view kept after
   * the store is gone holds at most its chunk (16 KB) alive.
   */
  #nextId(): Uint8Array {
    if (this.#idsUsed + ID_LENGTH > this.#idChunk.length) {
      this.#idChunk = new Uint8Array(ID_CHUNK)
      this.#idsUsed = 0
    }
    return this.#idChunk.subarray(this.#idsUsed, this.#idsUsed + ID_LENGTH)
  }

  /** Copies a small block into the arena and returns its place. */
  #place(data: Uint8Array): number {
    if (this.#chunks.length === 0 || this.#used + data.length > CHUNK) {
      this.#chunks.push(new Uint8Array(CHUNK))
      this.#used = 0
    }
    const offset = (this.#chunks.length - 1) * CHUNK + this.#used
    ;(this.#chunks.at(-1) as Uint8Array).set(data, this.#used)
    this.#used += data.length
    return offset * PLACE + data.length
  }

  /** A block's bytes: a view into the arena for a small one (callers copy). */
  #view(stored: number): Uint8Array {
    if (stored < 0) return this.#large[-1 - stored] as Uint8Array
    const length = stored % PLACE
    const offset = (stored - length) / PLACE
    const start = offset % CHUNK
    return (this.#chunks[(offset - start) / CHUNK] as Uint8Array).subarray(start, start + length)
  }

  /** A copy of a block's bytes, made straight from the arena (no view first: one array, not two). */
  #copy(stored: number): Uint8Array {
    if (stored < 0) return (this.#large[-1 - stored] as Uint8Array).slice()
    const length = stored % PLACE
    const offset = (stored - length) / PLACE
    const start = offset % CHUNK
    return (this.#chunks[(offset - start) / CHUNK] as Uint8Array).slice(start, start + length)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    if (!(id instanceof Uint8Array)) {
      throw new InvalidArgumentError(`MemoryStore IDs are multihash bytes, got ${describeValue(id)}`)
    }
    const stored = this.#blocks.get(id)
    if (stored === undefined) throw new BlockNotFoundError(`no block ${formatId(id)} in the memory store`)
    if (options?.range === undefined) return this.#copy(stored)
    const block = this.#view(stored)
    checkByteRange(options.range)
    return sliceByteRange(block, options.range)
  }

  /** `load` without a promise, for the HAMT's lookups (see `READ_NOW`); undefined sends them to `load`. */
  [READ_NOW](id: StoreId, via: object, borrow = false, start = 0, length = -1): Uint8Array | undefined {
    if (!MemoryStore.#answersNow(this, via, 'load') || !(id instanceof Uint8Array)) return undefined
    const stored = this.#blocks.get(id, start, length < 0 ? id.length : length)
    if (stored === undefined) return undefined
    return borrow ? this.#view(stored) : this.#copy(stored)
  }

  /** True when a block with this ID is stored. */
  has(id: StoreId): boolean {
    return id instanceof Uint8Array && this.#blocks.get(id) !== undefined
  }

  /** How many blocks are stored. */
  get blockCount(): number {
    return this.#blocks.size
  }

  /** Total bytes of all stored blocks. */
  get byteCount(): number {
    let total = 0
    for (const stored of this.#blocks.values()) total += this.#view(stored).length
    return total
  }

  /** Every stored block as `[id, bytes]`, for export and tests. */
  *blocks(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const [id, stored] of this.#blocks.entries()) yield [id, this.#view(stored).slice()]
  }
}

/**
 * The class's own methods as defined, not as found later on the prototype: a save or load patched
 * there (a test's spy, an injected failure) is a replaced method, called, not skipped.
 */
const OWN = ownMethods(MemoryStore.prototype, 'save', 'load')
