import { BlockNotFoundError, describeValue, InvalidArgumentError } from '../errors.js'
import { blake3Multihash, loadBlake3 } from '../hash/blake3.js'
import { formatId } from './id.js'
import { IdMap } from './id-map.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from './interface.js'
import { checkByteRange, sliceByteRange } from './range.js'

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
export class MemoryStore implements ContentAddressedStore {
  readonly #blocks = new IdMap<Uint8Array>()

  private constructor() {}

  /** Creates an empty store (loads the BLAKE3 WASM module the IDs need). */
  static async create(): Promise<MemoryStore> {
    await loadBlake3()
    return new MemoryStore()
  }

  async save(data: Uint8Array, _codec: Codec, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    if (!(data instanceof Uint8Array)) {
      throw new InvalidArgumentError(`data must be a Uint8Array, got ${describeValue(data)}`)
    }
    const id = blake3Multihash(data)
    // Copy: the caller may reuse its buffer, and an ID must keep naming the same bytes.
    this.#blocks.set(id, data.slice())
    return id
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    if (!(id instanceof Uint8Array)) {
      throw new InvalidArgumentError(`MemoryStore IDs are multihash bytes, got ${describeValue(id)}`)
    }
    const block = this.#blocks.get(id)
    if (block === undefined) throw new BlockNotFoundError(`no block ${formatId(id)} in the memory store`)
    if (options?.range === undefined) return block.slice()
    checkByteRange(options.range)
    return sliceByteRange(block, options.range)
  }

  /** True when a block with this ID is stored. */
  has(id: StoreId): boolean {
    return id instanceof Uint8Array && this.#blocks.has(id)
  }

  /** How many blocks are stored. */
  get blockCount(): number {
    return this.#blocks.size
  }

  /** Total bytes of all stored blocks. */
  get byteCount(): number {
    let total = 0
    for (const [, block] of this.#blocks.entries()) total += block.length
    return total
  }

  /** Every stored block as `[id, bytes]`, for export and tests. */
  *blocks(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const [id, data] of this.#blocks.entries()) yield [id.slice(), data.slice()]
  }
}
