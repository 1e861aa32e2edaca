import { CID } from 'multiformats/cid'
import type { MultihashDigest } from 'multiformats/hashes/interface'
import { integerOption } from '../check.js'
import { BlockNotFoundError, InvalidArgumentError, StoreError } from '../errors.js'
import { concatBytes } from './concat.js'
import { asCid } from './gateway.js'
import { type BlockHash, blockDigest, blockHashOption } from './id.js'
import { IdMap } from './id-map.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from './interface.js'
import { checkByteRange, sliceByteRange } from './range.js'
import { readUnixfsFile } from './unixfs.js'
import { type Block, buildUnixfsFile } from './unixfs-builder.js'
import { checkVerifiable, verifyBlock } from './verify.js'

const CODECS: Record<Codec, number> = { raw: 0x55, 'dag-cbor': 0x71 }
const DAG_PB = 0x70

/**
 * The part of an `interface-blockstore` Blockstore this store uses. `get` may return the bytes, a
 * promise of them, or (interface-blockstore 7) an iterable of their chunks.
 */
export interface BlockstoreLike {
  get(
    cid: CID,
    options?: AbortOptions,
  ): Uint8Array | Promise<Uint8Array> | Iterable<Uint8Array> | AsyncIterable<Uint8Array>
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): unknown
  has(cid: CID, options?: AbortOptions): boolean | Promise<boolean>
}

export interface BlockstoreStoreOptions {
  /** Hash of every block; default `blake3` (py-hamt's and KuboStore's). */
  hash?: 'blake3' | 'sha2-256'
  /** Values above this many bytes become a UnixFS file, as Kubo's `add` makes them; default 1 MiB. */
  chunkSize?: number
  /** Check every block read against its CID; default true. */
  verify?: boolean
  /** Bytes of blocks held before they are written to the blockstore; default 8 MiB. */
  writeBufferBytes?: number
  /** Blocks written to the blockstore at once during a flush; default 16. */
  writeConcurrency?: number
}

/**
 * A store over any `interface-blockstore` Blockstore: a Helia node's, `blockstore-fs`,
 * `blockstore-level`, `blockstore-core`'s memory one. It gives the IDs {@link KuboStore} gives for
 * the same data (CIDv1, BLAKE3, raw values and dag-cbor nodes, 1 MiB UnixFS chunks above that), so
 * a map written here has the root CID it would have on Kubo and in py-hamt.
 *
 * Writes wait in a write buffer (readable at once) until {@link BlockstoreStore.flush}, which
 * `HAMT.flush()` calls before it commits a root: a root is only returned once all its blocks are in
 * the blockstore.
 *
 * @example
 * ```ts
 * import { MemoryBlockstore } from 'blockstore-core/memory'
 * const store = new BlockstoreStore(new MemoryBlockstore())
 * const map = await HAMT.create({ store })
 * await map.set('answer', 42)
 * const root = await map.flush() // the CID KuboStore and py-hamt's KuboCAS give this map
 * ```
 */
export class BlockstoreStore implements ContentAddressedStore {
  readonly blockstore: BlockstoreLike
  readonly #hash: BlockHash
  readonly #chunkSize: number
  readonly #verify: boolean
  readonly #bufferLimit: number
  readonly #writeConcurrency: number
  /** Keyed by multihash, as blockstores key blocks: a raw and a dag-cbor CID name the same block. */
  readonly #buffer = new IdMap<Block>()
  #bufferBytes = 0
  #writing: Promise<void> = Promise.resolve()

  constructor(blockstore: BlockstoreLike, options: BlockstoreStoreOptions = {}) {
    if (typeof blockstore?.get !== 'function' || typeof blockstore.put !== 'function') {
      throw new InvalidArgumentError('blockstore must have get and put methods (an interface-blockstore)')
    }
    this.blockstore = blockstore
    this.#hash = blockHashOption(options.hash)
    this.#chunkSize = integerOption('chunkSize', options.chunkSize, 1 << 20)
    this.#verify = options.verify ?? true
    this.#bufferLimit = integerOption('writeBufferBytes', options.writeBufferBytes, 8 << 20, 0)
    this.#writeConcurrency = integerOption('writeConcurrency', options.writeConcurrency, 16)
  }

  /** Saves `data` and returns its CID (codec `codec`, or dag-pb for data above one chunk). */
  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<CID> {
    options?.signal?.throwIfAborted()
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Uint8Array')
    if (CODECS[codec] === undefined)
      throw new InvalidArgumentError(`codec must be 'raw' or 'dag-cbor', got ${codec}`)
    const digest = (bytes: Uint8Array): Promise<MultihashDigest> => blockDigest(this.#hash, bytes)
    let root: CID
    if (data.length <= this.#chunkSize) {
      root = CID.createV1(CODECS[codec], await digest(data))
      this.#bufferBlock({ cid: root, bytes: data.slice() })
    } else {
      const file = await buildUnixfsFile(data, this.#chunkSize, digest)
      for (const block of file.blocks) this.#bufferBlock(block)
      root = file.root
    }
    if (this.#bufferBytes >= this.#bufferLimit) await this.flush(options)
    return root
  }

  async load(id: StoreId, options: LoadOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    const cid = asCid(id, 'id')
    if (options.range !== undefined) checkByteRange(options.range)
    if (cid.code === DAG_PB) {
      return readUnixfsFile(cid, (block) => this.getBlock(block, options), options.range)
    }
    const bytes = await this.getBlock(cid, options)
    return options.range === undefined ? bytes : sliceByteRange(bytes, options.range)
  }

  /** The bytes of one block (for a UnixFS file, its root node), checked against the CID. */
  async getBlock(block: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    const cid = asCid(block, 'cid')
    if (this.#verify) checkVerifiable(cid)
    const pending = this.#buffer.get(cid.multihash.bytes)
    if (pending !== undefined) return pending.bytes.slice()
    let bytes: Uint8Array
    try {
      bytes = await collect(this.blockstore.get(cid, options))
    } catch (error) {
      if (options.signal?.aborted) throw error
      if (isNotFound(error)) throw new BlockNotFoundError(`block ${cid} is not in ${this.description}`)
      throw new StoreError(`reading block ${cid} failed: ${(error as Error).message}`, { cause: error })
    }
    if (this.#verify) await verifyBlock(cid, bytes, this.description)
    return bytes
  }

  /** Adds a block under its CID (after checking the bytes against it), e.g. from a CAR file. */
  async putBlock(block: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const cid = asCid(block, 'cid')
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array')
    checkVerifiable(cid)
    await verifyBlock(cid, bytes, 'putBlock')
    this.#bufferBlock({ cid, bytes: bytes.slice() })
    if (this.#bufferBytes >= this.#bufferLimit) await this.flush(options)
  }

  /** True when the block is buffered or in the blockstore. */
  async hasBlock(block: CID, options?: AbortOptions): Promise<boolean> {
    const cid = asCid(block, 'cid')
    return this.#buffer.has(cid.multihash.bytes) || (await this.blockstore.has(cid, options))
  }

  /**
   * Writes every buffered block to the blockstore. A failure leaves the unwritten blocks buffered
   * for the next flush; `HAMT.flush()` calls this before it commits a new root.
   */
  async flush(options?: AbortOptions): Promise<void> {
    const run = this.#writing.then(() => this.#writeBuffer(options))
    // A failed write must not poison the queue: the next flush retries what is still buffered.
    this.#writing = run.catch(() => {})
    await run
  }

  /** What this store is, for messages. */
  get description(): string {
    return 'the blockstore'
  }

  /** Bytes waiting in the write buffer. */
  get bufferedBytes(): number {
    return this.#bufferBytes
  }

  #bufferBlock(block: Block): void {
    const key = block.cid.multihash.bytes
    if (this.#buffer.has(key)) return
    this.#buffer.set(key, block)
    this.#bufferBytes += block.bytes.length
  }

  async #writeBuffer(options?: AbortOptions): Promise<void> {
    // Only what was buffered when the write started leaves the buffer, each block once it is written.
    const blocks = [...this.#buffer.entries()].map(([, block]) => block)
    let next = 0
    let failure: { error: unknown } | undefined
    const writeNext = async (): Promise<void> => {
      // After a failure no writer takes a new block, so nothing is still writing when flush() rejects.
      while (next < blocks.length && failure === undefined) {
        const block = blocks[next++] as Block
        try {
          options?.signal?.throwIfAborted()
          await this.blockstore.put(block.cid, block.bytes, options)
        } catch (error) {
          failure ??= { error }
          return
        }
        if (this.#buffer.delete(block.cid.multihash.bytes)) this.#bufferBytes -= block.bytes.length
      }
    }
    await Promise.allSettled(
      Array.from({ length: Math.min(this.#writeConcurrency, blocks.length) }, writeNext),
    )
    if (failure === undefined) return
    const { error } = failure
    if (options?.signal?.aborted) throw error
    throw new StoreError(`writing blocks to ${this.description} failed: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

/**
 * interface-store's NotFoundError (by name: several copies of the package may be loaded).
 * blockstore-fs wraps every read failure in one, so a wrapped file-system error must say ENOENT.
 */
function isNotFound(error: unknown): boolean {
  const { name, code, message } = (error ?? {}) as { name?: string; code?: string; message?: string }
  if (name !== 'NotFoundError' && code !== 'ERR_NOT_FOUND') return false
  return !/\bE[A-Z]{3,}\b/.test(message ?? '') || /\bENOENT\b/.test(message ?? '')
}

async function collect(
  result: Uint8Array | Promise<Uint8Array> | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<Uint8Array> {
  const value = await result
  if (value instanceof Uint8Array) return plain(value)
  const chunks: Uint8Array[] = []
  for await (const chunk of value) chunks.push(chunk)
  return plain(concatBytes(chunks))
}

/** Node's Buffers (blockstore-fs reads) as plain Uint8Arrays, as every other store returns. */
function plain(bytes: Uint8Array): Uint8Array {
  if (Object.getPrototypeOf(bytes) === Uint8Array.prototype) return bytes
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
