import { code as dagCborCode } from '@ipld/dag-cbor'
import { code as dagPbCode } from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { code as rawCode } from 'multiformats/codecs/raw'
import { InvalidArgumentError } from '../errors.js'
import { type Batch, BlockBuffer, type BufferedBlock, type WriteBlocks } from './block-buffer.js'
import { type BlockHash, blockDigest, blockDigestNow, copyBytes, inlineBlock, toCid } from './id.js'
import type { AbortOptions, Codec, LoadOptions, StoreId } from './interface.js'
import { checkByteRange, sliceByteRange } from './range.js'
import type { TentativePuts } from './tentative-puts.js'
import { readUnixfsFile } from './unixfs.js'
import { checkVerifiable, verifyBlock } from './verify.js'

/** The multicodec of each {@link Codec} a store saves under. */
const CODEC_CODES: Readonly<Record<Codec, number>> = { raw: rawCode, 'dag-cbor': dagCborCode }

/** The multicodec code of `codec`; an InvalidArgumentError for anything but 'raw' and 'dag-cbor'. */
export function codecCode(codec: Codec): number {
  const code = Object.hasOwn(CODEC_CODES, codec) ? CODEC_CODES[codec] : undefined
  if (code === undefined) throw new InvalidArgumentError(`codec must be 'raw' or 'dag-cbor', got ${codec}`)
  return code
}

/** True for a UnixFS file node (dag-pb): its value is the file it roots, read block by block. */
export function isFileRoot(cid: CID): boolean {
  return cid.code === dagPbCode
}

/** How a store confirms that the blocks it wrote are still there (a store's, under `blockstore.ts`'s CONFIRM_FLUSH). */
export interface FlushConfirmation {
  /**
   * Run at the end of each `flush` (a DiskStore's marker held: no other process's collection ran
   * since the blocks were written); until it passes, the flush's blocks stay buffered.
   */
  confirm(): Promise<void>
  /** Told, in the buffer's turn, before blocks leave a full write buffer with no flush to confirm them. */
  writingEarly(): void
  /** Told when the caller's own `putBlock` buffered a block (no map or import owns it): only a flush confirms it. */
  unownedPut(): void
}

/** Where a CID store's blocks live beyond its write buffer (a blockstore, a Kubo daemon). */
export interface BlockTransport {
  /** One block's bytes, checked against its CID; a BlockNotFoundError when it is not there. */
  getBlock(cid: CID, options: AbortOptions): Promise<Uint8Array>
  hasBlock(cid: CID, options: AbortOptions): Promise<boolean>
  /** Writes buffered blocks (see {@link WriteBlocks}). */
  writeBlocks: WriteBlocks
  /** Told, in the buffer's turn, before blocks leave a full buffer with no flush (see `FlushConfirmation`). */
  writingEarly?(): void
  /** A value that is not buffered, when the transport reads values its own way (a gateway's ranges). */
  load?(cid: CID, options: LoadOptions): Promise<Uint8Array>
}

/**
 * The one block path of the CID stores: reads see buffered blocks first and then the transport, a
 * UnixFS file is assembled from its blocks, and written blocks wait in a {@link BlockBuffer}.
 */
export class BufferedBlocks {
  readonly #buffer: BlockBuffer
  readonly #transport: BlockTransport

  /** `limit`: bytes buffered before a write goes to the transport. */
  constructor(limit: number, transport: BlockTransport) {
    this.#buffer = new BlockBuffer(limit, transport.writeBlocks)
    this.#transport = transport
  }

  /** Bytes waiting in the write buffer. */
  get bufferedBytes(): number {
    return this.#buffer.bytes
  }

  /** A value: a block, a byte range of it, or the file a dag-pb root names. */
  async load(id: StoreId, options: LoadOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    const cid = toCid(id, 'id')
    if (options.range !== undefined) checkByteRange(options.range)
    if (this.#transport.load !== undefined && !this.#buffer.has(cid))
      return this.#transport.load(cid, options)
    if (isFileRoot(cid)) return readUnixfsFile(cid, (block) => this.getBlock(block, options), options.range)
    const bytes = await this.getBlock(cid, options)
    return options.range === undefined ? bytes : sliceByteRange(bytes, options.range)
  }

  /** One block's bytes (for a UnixFS file, its root node): a copy of the buffered one, or the transport's. */
  async getBlock(block: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    const cid = toCid(block, 'cid')
    const buffered = this.#buffer.get(cid) ?? inlineBlock(cid)
    if (buffered !== undefined) return buffered.slice()
    return this.#transport.getBlock(cid, options)
  }

  /**
   * True when the block is buffered, is an identity CID (its bytes are in it, as `getBlock` reads
   * them), or the transport has it. With `batch`, a buffered block is held by the batch too.
   */
  async hasBlock(block: CID, options: AbortOptions = {}, batch?: Batch): Promise<boolean> {
    const cid = toCid(block, 'cid')
    if (this.#buffer.has(cid, batch) || inlineBlock(cid) !== undefined) return true
    return this.#transport.hasBlock(cid, options)
  }

  /**
   * Buffers a block under its CID once its bytes are checked against it (a CAR's block, say); with
   * `batch`, held until the batch is settled (see {@link BufferedBlocks.tentative}).
   */
  async putBlock(block: CID, bytes: Uint8Array, options?: AbortOptions, batch?: Batch): Promise<void> {
    options?.signal?.throwIfAborted()
    const cid = toCid(block, 'cid')
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array')
    checkVerifiable(cid)
    // Checked and buffered as one copy: the caller's array may change while the hash is awaited.
    const own = copyBytes(bytes)
    await verifyBlock(cid, own, 'putBlock')
    // Not keeping a CAR's CID objects (and their own ArrayBuffers) is most of a tiny block's cost.
    if (this.#buffer.add([{ cid, bytes: own }], false, batch)) await this.#flushFull(options)
  }

  /**
   * A batch of tentative puts through the store's `put` and `has` (its `putBlock` and `hasBlock`
   * with a batch; `has` undefined when the caller's `hasBlock` is not the store's own).
   */
  tentative(
    put: (cid: CID, bytes: Uint8Array, options: AbortOptions | undefined, batch: Batch) => Promise<void>,
    has: ((cid: CID, options: AbortOptions | undefined, batch: Batch) => Promise<boolean>) | undefined,
  ): TentativePuts {
    const batch: Batch = {}
    return {
      put: (cid, bytes, options) => put(cid, bytes, options, batch),
      hasBlock: has && ((cid, options) => has(cid, options, batch)),
      keep: () => this.#buffer.settle(batch, true),
      drop: () => this.#buffer.settle(batch, false),
    }
  }

  /**
   * Buffers `data` as one block of multicodec `code` and returns its CID (`saw` gets it first). Hashed
   * and copied before this returns when the hash can be (see `blockDigestNow`), else hashed from a copy
   * taken now: a caller changing its array once it called `save` changes nothing, and the CID always
   * names the bytes buffered (the copy came after an awaited hash: a block that failed its CID).
   */
  async addBlock(
    data: Uint8Array,
    code: number,
    hash: BlockHash,
    options: AbortOptions | undefined,
    saw?: (cid: CID) => void,
  ): Promise<CID> {
    let bytes = data
    let digest = blockDigestNow(hash, bytes)
    if (digest === undefined) {
      bytes = copyBytes(data)
      digest = await blockDigest(hash, bytes)
    }
    const cid = CID.createV1(code, digest)
    saw?.(cid)
    await this.add([{ cid, bytes }], options)
    return cid
  }

  /** Buffers blocks whose CIDs were computed here (copies are kept), flushing when the buffer is full. */
  async add(blocks: readonly BufferedBlock[], options?: AbortOptions): Promise<void> {
    if (this.#buffer.add(blocks, true)) await this.#flushFull(options)
  }

  /** A full buffer's flush: its blocks leave unconfirmed (the transport is told). */
  #flushFull(options: AbortOptions | undefined): Promise<void> {
    return this.#buffer.flush(options, undefined, this.#transport.writingEarly?.bind(this.#transport))
  }

  /** Runs `fn` between flushes: no buffered block reaches the transport while it runs. */
  exclusive<T>(fn: () => Promise<T>, options?: AbortOptions): Promise<T> {
    return this.#buffer.exclusive(fn, options)
  }

  /** Writes every buffered block to the transport (after any flush under way); `confirm`: see {@link BlockBuffer.flush}. */
  flush(options?: AbortOptions, confirm?: () => Promise<void>): Promise<void> {
    return this.#buffer.flush(options, confirm)
  }
}
