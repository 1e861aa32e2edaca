import type { CID } from 'multiformats/cid'
import { integerOption } from '../check.js'
import { BlockNotFoundError, InvalidArgumentError, InvalidValueError, StoreError } from '../errors.js'
import { mapPool } from '../util/pool.js'
import type { Batch, BufferedBlock } from './block-buffer.js'
import { BufferedBlocks, codecCode, type FlushConfirmation } from './buffered-blocks.js'
import { CidQueue } from './cid-queue.js'
import { afterMicrotasks, type CollectableAccess, collectable, WriterRegistry } from './collectable.js'
import { concatBytes } from './concat.js'
import { type BlockHash, blockDigest, blockHashOption, copyBytes, ownBytes, plainView, toCid } from './id.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from './interface.js'
import { callsOwnMethod, ownMethods } from './own-method.js'
import { TENTATIVE_PUTS, type TentativePuts } from './tentative-puts.js'
import { buildUnixfsFile } from './unixfs-builder.js'
import { checkVerifiable, verifyBlock } from './verify.js'

/**
 * The key of a blockstore's own collection key, when stores over other blockstore objects share its
 * blocks (every FsBlockstore on one directory): their puts, writers and imports one collection sees.
 */
export const COLLECTION_KEY: unique symbol = Symbol('ts-hamt.collectionKey')

/** The key of a store's largest block for `putBlock` (a DiskStore's, which reads no larger block file). */
export const MAX_PUT_BYTES: unique symbol = Symbol('ts-hamt.maxPutBytes')

/** The key of a store's `FlushConfirmation` (see `buffered-blocks.ts`; a DiskStore's: its writer marker). */
export const CONFIRM_FLUSH: unique symbol = Symbol('ts-hamt.confirmFlush')

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
  /** Every block (interface-blockstore's `getAll`); garbage collection needs it and `delete`. */
  getAll?(options?: AbortOptions): Iterable<{ cid: CID }> | AsyncIterable<{ cid: CID }>
  delete?(cid: CID, options?: AbortOptions): unknown
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
  readonly #writeConcurrency: number
  readonly #blocks: BufferedBlocks
  /** The collection on this store's blockstore, shared by every store over it (see `car/gc.ts`). */
  readonly #collection: Collection
  /** True while this store runs that collection. */
  #collecting = false

  constructor(blockstore: BlockstoreLike, options: BlockstoreStoreOptions = {}) {
    if (typeof blockstore?.get !== 'function' || typeof blockstore.put !== 'function') {
      throw new InvalidArgumentError('blockstore must have get and put methods (an interface-blockstore)')
    }
    this.blockstore = blockstore
    this.#collection = collectionOf(
      (blockstore as { [COLLECTION_KEY]?: object })[COLLECTION_KEY] ?? blockstore,
    )
    this.#hash = blockHashOption(options.hash)
    this.#chunkSize = integerOption('chunkSize', options.chunkSize, 1 << 20)
    this.#verify = options.verify ?? true
    const bufferLimit = integerOption('writeBufferBytes', options.writeBufferBytes, 8 << 20, 0)
    this.#writeConcurrency = integerOption('writeConcurrency', options.writeConcurrency, 16)
    this.#blocks = new BufferedBlocks(bufferLimit, {
      getBlock: (cid, options) => this.#read(cid, options),
      hasBlock: async (cid, options) => await this.blockstore.has(cid, options),
      writeBlocks: (blocks, written, options) => this.#write(blocks, written, options),
      writingEarly: () => this.#confirmation?.writingEarly(),
    })
  }

  /** Saves `data` and returns its CID (codec `codec`, or dag-pb for data above one chunk). */
  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<CID> {
    options?.signal?.throwIfAborted()
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Uint8Array')
    const code = codecCode(codec)
    if (data.length <= this.#chunkSize)
      return this.#blocks.addBlock(data, code, this.#hash, options, (cid) => this.#sawPut(cid))
    // Copied now: the caller may change its array while the chunks' hashes are awaited.
    const file = await buildUnixfsFile(copyBytes(data), this.#chunkSize, (bytes) =>
      blockDigest(this.#hash, bytes),
    )
    for (const block of file.blocks) this.#sawPut(block.cid)
    await this.#blocks.add(file.blocks, options)
    return file.root
  }

  load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return this.#blocks.load(id, options)
  }

  /** The bytes of one block (for a UnixFS file, its root node), checked against the CID. */
  getBlock(block: CID, options?: AbortOptions): Promise<Uint8Array> {
    return this.#blocks.getBlock(block, options)
  }

  /** Adds a block under its CID (after checking the bytes against it), e.g. from a CAR file. */
  putBlock(block: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    // The caller's own block, whatever map lives: a map or import given up does not settle it.
    return this.#putBlock(block, bytes, options, undefined).then(() => this.#confirmation?.unownedPut())
  }

  /** Puts an import may still undo (see `tentative-puts.ts`), when `putBlock` is this class's own. */
  [TENTATIVE_PUTS](via: object): TentativePuts | undefined {
    if (!callsOwnMethod(via, 'putBlock', OWN.putBlock) || !(#blocks in this)) return undefined
    // Until the import ends its puts (and the blocks it found held) are in no root: a collection
    // beginning meanwhile keeps them (a full buffer may have written them), see `CollectableAccess.unsettled`.
    const log = new CidQueue()
    const { unsettled } = this.#collection
    unsettled.add(log)
    const puts = this.#blocks.tentative(
      (cid, bytes, options, batch) => {
        log.push(toCid(cid, 'cid'))
        return this.#putBlock(cid, bytes, options, batch)
      },
      callsOwnMethod(via, 'hasBlock', OWN.hasBlock)
        ? (cid, options, batch) =>
            // The import relies on it from now on: a collection beginning later keeps it from the log,
            // one under way as a put, seen before its next batch is deleted.
            this.#hasBlock(cid, options, batch, () => {
              const id = toCid(cid, 'cid')
              log.push(id)
              if (this.#collection.watches.size > 0) this.#sawPut(id)
            })
        : undefined,
    )
    return {
      ...puts,
      keep: () => {
        puts.keep()
        // Its root reaches the caller a few microtasks later: a collection beginning before then
        // keeps the log still (as `SaveHolds` a flush's saves), then those under way are handed it.
        afterMicrotasks(() => {
          unsettled.delete(log)
          if (this.#collection.watches.size > 0) for (const cid of log) this.#sawPut(cid)
          this.importSettled(true)
        })
      },
      drop: () => {
        unsettled.delete(log)
        puts.drop()
        this.importSettled(false)
      },
    }
  }

  /** An import through this store kept (`kept`) or dropped its puts (a subclass holding them for it lets go). */
  protected importSettled(_kept: boolean): void {}

  /** The largest block `putBlock` takes: any here (the blockstore holds what it is given). */
  get [MAX_PUT_BYTES](): number {
    return Number.POSITIVE_INFINITY
  }

  #putBlock(block: CID, bytes: Uint8Array, options: AbortOptions | undefined, batch: Batch | undefined) {
    const most = this[MAX_PUT_BYTES]
    if (bytes?.length > most) {
      const message = `block ${block} is ${bytes.length} bytes, more than the ${most} a block of ${this.description} can be`
      return Promise.reject(new InvalidValueError(message))
    }
    if (this.#collection.watches.size > 0) this.#sawPut(toCid(block, 'cid'))
    return this.#blocks.putBlock(block, bytes, options, batch)
  }

  /** True when the block is buffered or in the blockstore. */
  hasBlock(block: CID, options?: AbortOptions): Promise<boolean> {
    return this.#hasBlock(block, options, undefined)
  }

  /** `onHeld` runs when the block is there, before any collection's batch can delete it. */
  #hasBlock(
    block: CID,
    options: AbortOptions | undefined,
    batch: Batch | undefined,
    onHeld?: () => void,
  ): Promise<boolean> {
    const ask = async (): Promise<boolean> => {
      const held = await this.#blocks.hasBlock(block, options, batch)
      if (held) onHeld?.()
      return held
    }
    // During a garbage collection the answer waits for the batch being deleted (see car/gc.ts).
    const exclusive = this.#collection.exclusive
    if (exclusive !== undefined) return exclusive(ask, options ?? {})
    return ask()
  }

  /**
   * Writes every buffered block to the blockstore. A failure leaves the unwritten blocks buffered
   * for the next flush; `HAMT.flush()` calls this before it commits a new root.
   */
  flush(options?: AbortOptions): Promise<void> {
    const confirmation = this.#confirmation
    return this.#blocks.flush(options, confirmation && (() => confirmation.confirm()))
  }

  get #confirmation(): FlushConfirmation | undefined {
    return (this as { [CONFIRM_FLUSH]?: FlushConfirmation })[CONFIRM_FLUSH]
  }

  /** What this store is, for messages. */
  get description(): string {
    return 'the blockstore'
  }

  /** Bytes waiting in the write buffer. */
  get bufferedBytes(): number {
    return this.#blocks.bufferedBytes
  }

  /** Garbage collection's access: listing and deleting blocks, and the puts made while it runs. */
  [collectable](): CollectableAccess {
    const { blockstore } = this
    const { getAll, delete: remove } = blockstore
    return {
      description: this.description,
      begin: async () => {
        if (typeof getAll !== 'function' || typeof remove !== 'function') {
          throw new InvalidArgumentError(noListing(this.description))
        }
        if (this.#collection.exclusive !== undefined)
          throw new StoreError(`a garbage collection is already running on ${this.description}`)
        this.#collecting = true
        this.#collection.exclusive = (fn, options) => this.#blocks.exclusive(fn, options)
        return async () => {
          this.#collecting = false
          this.#collection.exclusive = undefined
        }
      },
      watchPuts: (onPut) => {
        const watch = (cid: CID): void => onPut(cid)
        this.#collection.watches.add(watch)
        return () => this.#collection.watches.delete(watch)
      },
      flush: (options) => this.flush(options),
      getBlock: (cid, options) => this.getBlock(cid, options),
      hasBlock: (cid, options) => this.#blocks.hasBlock(cid, options),
      list: (options) => listCids(getAll?.call(blockstore, options) ?? []),
      size: async (cid, options) => {
        try {
          return (await collect(blockstore.get(cid, options))).length
        } catch (error) {
          if (isNotFound(error)) return undefined
          throw error
        }
      },
      remove: async (cid, options) => {
        await remove?.call(blockstore, cid, options)
      },
      exclusive: (fn, options) => this.#blocks.exclusive(fn, options),
      addWriter: (writer) => this.#collection.writers.add(writer),
      writers: () => this.#collection.writers.live(),
      released: (cids) => {
        if (this.#collection.watches.size > 0) for (const cid of cids) this.#sawPut(cid)
      },
      unsettled: () => unsettledPuts(this.#collection.unsettled),
    }
  }

  #sawPut(cid: CID): void {
    for (const watch of this.#collection.watches) watch(cid)
  }

  async #read(cid: CID, options: AbortOptions): Promise<Uint8Array> {
    if (this.#verify) checkVerifiable(cid)
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

  /** Up to `writeConcurrency` puts at once; after a failure none starts, and what was written leaves the buffer. */
  async #write(
    blocks: readonly BufferedBlock[],
    written: (block: BufferedBlock) => void,
    options: AbortOptions | undefined,
  ): Promise<void> {
    const writeAll = async (): Promise<void> => {
      await mapPool(
        blocks,
        this.#writeConcurrency,
        async (block) => {
          if (this.#collection.watches.size > 0) this.#sawPut(block.cid)
          // A blockstore keeps what it is given (in memory, or by structured clone into IndexedDB, which
          // copies the whole buffer), and a tiny buffered block is a view into a shared 64 KiB slab.
          await this.blockstore.put(block.cid, ownBytes(block.bytes), options)
          written(block)
        },
        options?.signal,
      )
    }
    // Another store over this blockstore collecting: its deletes and these writes take turns.
    const exclusive = this.#collecting ? undefined : this.#collection.exclusive
    try {
      await (exclusive === undefined ? writeAll() : exclusive(writeAll, options ?? {}))
    } catch (error) {
      // The caller's abort as its reason (blockstore-fs wraps it in a PutFailedError): not a store failure.
      if (options?.signal?.aborted) throw options.signal.reason
      throw new StoreError(`writing blocks to ${this.description} failed: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }
}

/**
 * The class's own methods as defined, not as found later on the prototype: a putBlock or hasBlock
 * patched there (a test's spy, an injected failure) is a replaced method, called, not skipped.
 */
const OWN = ownMethods(BlockstoreStore.prototype, 'putBlock', 'hasBlock')

/** A blockstore's garbage collection: the puts of every store over it are seen, its deletes exclusive. */
interface Collection {
  readonly watches: Set<(cid: CID) => void>
  /** Maps writing through any store over the blockstore, whose unflushed blocks a collection keeps. */
  readonly writers: WriterRegistry
  /** The puts of each import under way through a store over the blockstore (see `CollectableAccess.unsettled`). */
  readonly unsettled: Set<CidQueue>
  /** The collecting store's turn-taking (see `CollectableAccess.exclusive`) while one runs. */
  exclusive: (<T>(fn: () => Promise<T>, options: AbortOptions) => Promise<T>) | undefined
}

/** By blockstore object (or its `COLLECTION_KEY`): two stores over one (a Helia node's) share its collection. */
const collections = new WeakMap<object, Collection>()

function collectionOf(blockstore: object): Collection {
  let collection = collections.get(blockstore)
  if (collection === undefined) {
    collection = {
      watches: new Set(),
      writers: new WriterRegistry(),
      unsettled: new Set(),
      exclusive: undefined,
    }
    collections.set(blockstore, collection)
  }
  return collection
}

function* unsettledPuts(logs: Set<CidQueue>): Iterable<CID> {
  for (const log of logs) yield* log
}

const noListing = (description: string): string =>
  `cannot collect garbage in ${description}: its blockstore has no getAll and delete (an interface-blockstore has both)`

async function* listCids(pairs: Iterable<{ cid: CID }> | AsyncIterable<{ cid: CID }>): AsyncIterable<CID> {
  for await (const { cid } of pairs) yield cid
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
  // Node's Buffers (blockstore-fs reads) as plain Uint8Arrays, as every other store returns.
  if (value instanceof Uint8Array) return plainView(value)
  const chunks: Uint8Array[] = []
  for await (const chunk of value) chunks.push(chunk)
  return plainView(concatBytes(chunks))
}
