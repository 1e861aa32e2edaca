import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { equals } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import { code as rawCode } from 'multiformats/codecs/raw'
import { integerOption } from '../check.js'
import { BlockNotFoundError, IntegrityError, InvalidArgumentError, StoreError } from '../errors.js'
import type { Batch, BufferedBlock } from './block-buffer.js'
import { BufferedBlocks, codecCode, isFileRoot } from './buffered-blocks.js'
import { checkHttpUrl, GatewayReader, gatewayList } from './gateway.js'
import { HttpClient, type HttpOptions, HttpStatusError } from './http.js'
import { readBody } from './http-body.js'
import { type BlockHash, blockDigest, blockHashOption, copyBytes, toCid } from './id.js'
import type {
  AbortOptions,
  Codec,
  ContentAddressedStore,
  LoadOptions,
  NameResolver,
  ResolvedName,
  ResolveNameOptions,
  StoreId,
} from './interface.js'
import { checkImportAnswer, pinsOf, readJson, rpcAnswerBytes } from './kubo-answers.js'
import {
  createKey,
  type KuboNames,
  type PublishedName,
  type PublishNameOptions,
  publishName,
  resolveName,
} from './kubo-names.js'
import { callsOwnMethod, ownMethods } from './own-method.js'
import { TENTATIVE_PUTS, type TentativePuts } from './tentative-puts.js'
import { unixfsFileRoot } from './unixfs-builder.js'
import type { Blake3Digest } from './verify.js'

export interface KuboStoreOptions extends HttpOptions {
  /** Kubo's RPC API, for writes and pins; default `http://127.0.0.1:5001`. `null`: a read-only store. */
  rpcUrl?: string | null
  /** One gateway or several (tried in order); default `http://127.0.0.1:8080`. */
  gateways?: string | readonly string[]
  /** Hash of `add`; default `blake3` (py-hamt's). */
  hash?: 'blake3' | 'sha2-256'
  /** Chunker of `add`; default `size-1048576` (py-hamt's). Data above one chunk becomes a UnixFS file. */
  chunker?: string
  /** Pin every block as it is added (py-hamt's `pin_on_add`); default false. */
  pinOnAdd?: boolean
  /** Check every block read against its CID; default true. */
  verify?: boolean
  /**
   * With `verify: false`, the most bytes that this store's reads of whole files (or of ranges without
   * a length) hold at once, together, which nothing else bounds there; default 256 MiB. Reads wait
   * their turn, oldest first. A file larger than it is `ERR_STORE` from the first gateway that
   * answers (its size, not the gateway's fault: the next is not asked).
   */
  unverifiedReadBytes?: number
  /** How blocks under BLAKE3 CIDs are hashed to verify them; default in this thread (see {@link Blake3Digest}). */
  blake3Digest?: Blake3Digest
  /** Bytes of blocks held for batched upload before they are sent; default 8 MiB. */
  writeBufferBytes?: number
}

export type { PublishedName, PublishNameOptions }

/** The most an `add` answer (one JSON line) may be. */
const ADD_ANSWER_BYTES = 64 << 10

/**
 * A store on an IPFS Kubo daemon, with py-hamt `KuboCAS`'s IDs: data is added as CIDv1 with BLAKE3
 * and 1 MiB chunks, values are raw CIDs and nodes dag-cbor CIDs. Reads go to the HTTP gateway and
 * every block is verified against its CID.
 *
 * Writes are batched: a block of at most one chunk gets the CID that `add` would give it, computed
 * here, and waits in a write buffer; the buffer goes to Kubo as one CAR (`dag/import`) when it is
 * full or on {@link KuboStore.flush} (which `HAMT.flush()` calls). Larger data is added at once.
 *
 * @example
 * ```ts
 * const store = new KuboStore({ rpcUrl: 'http://127.0.0.1:5001', gateways: 'http://127.0.0.1:8080' })
 * const map = await HAMT.create({ store })
 * await map.set('answer', 42)
 * const root = await map.flush() // a CID, readable by py-hamt and any gateway
 * ```
 */
export class KuboStore implements ContentAddressedStore, NameResolver {
  readonly rpcUrl: string | null
  readonly #gateway: GatewayReader
  readonly #http: HttpClient
  readonly #hash: BlockHash
  readonly #chunkSize: number | undefined
  readonly #addUrl: string | undefined
  readonly #pinOnAdd: boolean
  readonly #blocks: BufferedBlocks
  readonly #names: KuboNames

  constructor(options: KuboStoreOptions = {}) {
    const rpcUrl = options.rpcUrl === undefined ? 'http://127.0.0.1:5001' : options.rpcUrl
    if (rpcUrl !== null) checkHttpUrl('rpcUrl', rpcUrl)
    // As py-hamt: the base URL, with or without a trailing slash or /api/v0.
    this.rpcUrl = rpcUrl === null ? null : rpcUrl.replace(/\/+$/, '').replace(/\/api\/v0$/, '')
    const gateways = gatewayList(options.gateways ?? 'http://127.0.0.1:8080')
    // Credentials go to the daemon and the first gateway only, as py-hamt sends them.
    this.#http = new HttpClient(options, [this.rpcUrl, gateways[0]])
    if (options.blake3Digest !== undefined && typeof options.blake3Digest !== 'function') {
      throw new InvalidArgumentError('blake3Digest must be a function from bytes to a digest')
    }
    this.#gateway = new GatewayReader(gateways, this.#http, options.verify ?? true, options)
    this.#hash = blockHashOption(options.hash)
    const chunker = options.chunker ?? 'size-1048576'
    if (!/^(size-[1-9]\d*|rabin(-[1-9]\d*-[1-9]\d*-[1-9]\d*)?)$/.test(chunker)) {
      throw new InvalidArgumentError(
        `chunker must be size-<bytes> or rabin[-min-avg-max], got ${JSON.stringify(chunker)}`,
      )
    }
    // Only a fixed-size chunker says for sure that data up to its size stays one raw block.
    this.#chunkSize = chunker.startsWith('size-') ? Number(chunker.slice(5)) : undefined
    this.#pinOnAdd = options.pinOnAdd ?? false
    this.#blocks = new BufferedBlocks(
      integerOption('writeBufferBytes', options.writeBufferBytes, 8 << 20, 0),
      {
        getBlock: (cid, options) => this.#gateway.getBlock(cid, options),
        hasBlock: (cid, options) =>
          this.rpcUrl === null ? this.#gatewayHas(cid, options) : this.#repoHas(cid, options),
        load: (cid, options) => this.#gateway.load(cid, options),
        // Uploads run one at a time, in order; each batch is what the buffer held when it started.
        writeBlocks: (blocks, _written, options) => this.#upload(blocks, options),
      },
    )
    this.#names = {
      rpc:
        this.rpcUrl === null ? undefined : (command, params, options) => this.#rpc(command, params, options),
      gateway: this.#gateway,
    }
    if (this.rpcUrl !== null) {
      const params = new URLSearchParams({
        hash: this.#hash,
        chunker,
        pin: String(this.#pinOnAdd),
        'cid-version': '1',
      })
      this.#addUrl = `${this.rpcUrl}/api/v0/add?${params}`
    }
  }

  /** The gateways reads go to, in the order they are tried, each as `…/ipfs/` (duplicates once). */
  get gateways(): readonly string[] {
    return this.#gateway.urls
  }

  /** Saves `data` and returns its CID (codec `codec`, or dag-pb for data above one chunk). */
  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<CID> {
    options?.signal?.throwIfAborted()
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Uint8Array')
    const code = codecCode(codec)
    this.#writable('save')
    // Copied now: the caller may change its array while the upload is under way.
    if (this.#chunkSize === undefined || data.length > this.#chunkSize)
      return this.#addNow(copyBytes(data), code, options)
    return this.#blocks.addBlock(data, code, this.#hash, options)
  }

  /**
   * Sends every buffered block to Kubo. A failure leaves the blocks buffered for the next flush;
   * `HAMT.flush()` calls this before it commits a new root.
   */
  flush(options?: AbortOptions): Promise<void> {
    return this.#blocks.flush(options)
  }

  load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return this.#blocks.load(id, options)
  }

  /** One block's bytes (for a UnixFS file, its root node): buffered, or from a gateway and checked. */
  getBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    return this.#blocks.getBlock(cid, options)
  }

  /** True when the block is buffered or Kubo's repo holds it (read-only: when a gateway serves it). */
  hasBlock(cid: CID, options?: AbortOptions): Promise<boolean> {
    return this.#blocks.hasBlock(cid, options)
  }

  /** Adds a block under its CID (after checking the bytes against it), e.g. from a CAR file. */
  putBlock(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    return this.#putBlock(cid, bytes, options, undefined)
  }

  /** Puts an import may still undo (see `tentative-puts.ts`), when `putBlock` is this class's own. */
  [TENTATIVE_PUTS](via: object): TentativePuts | undefined {
    if (!callsOwnMethod(via, 'putBlock', OWN.putBlock) || !(#blocks in this)) return undefined
    return this.#blocks.tentative(
      (cid, bytes, options, batch) => this.#putBlock(cid, bytes, options, batch),
      callsOwnMethod(via, 'hasBlock', OWN.hasBlock)
        ? (cid, options, batch) => this.#blocks.hasBlock(cid, options, batch)
        : undefined,
    )
  }

  async #putBlock(cid: CID, bytes: Uint8Array, options: AbortOptions | undefined, batch: Batch | undefined) {
    options?.signal?.throwIfAborted()
    this.#writable('putBlock')
    await this.#blocks.putBlock(cid, bytes, options, batch)
  }

  /**
   * Whether the daemon's repo holds the block, without its bytes: `block/stat` offline (a global
   * option of Kubo's), so peers are not asked. Trusted as `dag/import` is, if it names this block.
   */
  async #repoHas(cid: CID, options: AbortOptions): Promise<boolean> {
    const answer = await this.#rpc('block/stat', { arg: String(cid), offline: 'true' }, options).catch(
      (error: unknown) => {
        // Kubo (v0.43): HTTP 500 "block was not found locally (offline): ipld: could not find <cid>".
        if (error instanceof HttpStatusError && error.status === 500 && /could not find/.test(error.message))
          return false
        throw error
      },
    )
    if (answer === false) return false
    // Kubo names the CID as asked: another answer (a proxy's page, another block) is no yes.
    if ((answer as { Key?: unknown } | null)?.Key !== String(cid))
      throw new StoreError(`block/stat ${cid} answered ${JSON.stringify(answer)?.slice(0, 200)}`)
    return true
  }

  async #gatewayHas(cid: CID, options: AbortOptions): Promise<boolean> {
    try {
      await this.#gateway.getBlock(cid, options)
      return true
    } catch (error) {
      if (error instanceof BlockNotFoundError) return false
      throw error
    }
  }

  /** Pins `id` (and, recursively, everything it links to: a HAMT root pins the whole map). */
  async pin(id: StoreId, options: AbortOptions & { recursive?: boolean } = {}): Promise<void> {
    await this.#rpc(
      'pin/add',
      { arg: String(toCid(id, 'id')), recursive: String(options.recursive ?? true) },
      options,
    )
  }

  async unpin(id: StoreId, options: AbortOptions & { recursive?: boolean } = {}): Promise<void> {
    await this.#rpc(
      'pin/rm',
      { arg: String(toCid(id, 'id')), recursive: String(options.recursive ?? true) },
      options,
    )
  }

  /** Moves a recursive pin from `from` to `to` (a new root of the same map shares most blocks). */
  async updatePin(
    from: StoreId,
    to: StoreId,
    options: AbortOptions & { unpin?: boolean } = {},
  ): Promise<void> {
    const params = new URLSearchParams()
    params.append('arg', String(toCid(from, 'from')))
    params.append('arg', String(toCid(to, 'to')))
    params.append('unpin', String(options.unpin ?? true))
    await this.#rpc('pin/update', params, options)
  }

  /**
   * Points the IPNS name of the daemon's key `key` (default `self`) at `root` (`name/publish`) and
   * returns the name and the new record's sequence. Open the root later as `/ipns/<name>`.
   *
   * @example
   * ```ts
   * const kubo = new KuboStore({ rpcUrl, gateways: gatewayUrl })
   * const { name } = await kubo.createKey('era5')
   * await kubo.publishName(root, { key: 'era5', lifetime: '72h' })
   * const reopened = await HAMT.open(name, { store: kubo }) // the root just published
   * ```
   */
  publishName(root: StoreId | string, options: PublishNameOptions = {}): Promise<PublishedName> {
    return publishName(this.#names, root, options)
  }

  /** Makes a new key on the daemon (`key/gen`) and returns its name (`/ipns/k51…`) for {@link KuboStore.publishName}. */
  createKey(
    key: string,
    options: AbortOptions & { type?: 'ed25519' | 'rsa' } = {},
  ): Promise<{ key: string; name: string }> {
    return createKey(this.#names, key, options)
  }

  /**
   * Follows an IPNS name to the root it points to. With an RPC URL the daemon resolves it
   * (`name/resolve`; the daemon is trusted, as with writes); a read-only store (`rpcUrl: null`)
   * fetches and verifies the signed records from its gateways, as `TrustlessGatewayStore` does.
   */
  resolveName(name: string, options: ResolveNameOptions = {}): Promise<ResolvedName> {
    return resolveName(this.#names, name, options)
  }

  /** The pins of the daemon: `{ cid, type }` with type `recursive`, `direct` or `indirect`. */
  async listPins(
    options: AbortOptions & { type?: 'all' | 'recursive' | 'direct' | 'indirect' } = {},
  ): Promise<Array<{ cid: CID; type: string }>> {
    return pinsOf(await this.#rpc('pin/ls', { type: options.type ?? 'recursive' }, options))
  }

  /** Bytes waiting in the write buffer. */
  get bufferedBytes(): number {
    return this.#blocks.bufferedBytes
  }

  /** One `dag/import` of every block given; the buffer drops them all once Kubo accounted for them. */
  async #upload(blocks: readonly BufferedBlock[], options?: AbortOptions): Promise<void> {
    const car = encodeCar(blocks, this.#pinOnAdd)
    const params = new URLSearchParams({ 'pin-roots': String(this.#pinOnAdd), stats: 'true' })
    const url = `${this.rpcUrl}/api/v0/dag/import?${params}`
    // Kubo answers a line per root (when pinning) and a line of stats: about 150 bytes a block.
    const limit = ADD_ANSWER_BYTES + 256 * blocks.length
    const answer = await this.#http.request(
      'POST',
      url,
      { body: () => form(car), signal: options?.signal },
      (r) => readBody(r, limit, url),
    )
    checkImportAnswer(new TextDecoder().decode(answer), blocks, this.#pinOnAdd)
  }

  /**
   * One `add` request, as py-hamt does it: for data above one chunk, which Kubo turns into a file.
   * With a fixed-size chunker the answer must be the file's CID as laid out here; a rabin chunker's
   * boundaries are Kubo's own, so its answer is taken as given.
   */
  async #addNow(data: Uint8Array, code: number, options?: AbortOptions): Promise<CID> {
    const url = this.#addUrl as string
    // Computed before the upload, so the check is of the bytes sent.
    const expected =
      this.#chunkSize === undefined
        ? undefined
        : await unixfsFileRoot(data, this.#chunkSize, (bytes) => blockDigest(this.#hash, bytes))
    const answer = await this.#http.request(
      'POST',
      url,
      { body: () => form(data), signal: options?.signal },
      (r) => readJson(r, ADD_ANSWER_BYTES, url),
    )
    const hash = (answer as { Hash?: unknown } | null)?.Hash
    let cid: CID
    try {
      cid = CID.parse(String(hash))
    } catch (cause) {
      throw new StoreError(`add: the answer names no CID (Hash ${JSON.stringify(hash)})`, { cause })
    }
    if (expected !== undefined && !cid.equals(expected)) {
      throw new IntegrityError(`add answered ${cid} for ${data.length} bytes whose file is ${expected}`)
    }
    // A rabin file's layout is Kubo's, but an answer of one raw block must be these bytes' hash.
    if (expected === undefined && !isFileRoot(cid)) {
      const digest = await blockDigest(this.#hash, data)
      if (!equals(cid.multihash.bytes, digest.bytes))
        throw new IntegrityError(`add answered ${cid} for ${data.length} bytes that hash otherwise`)
    }
    // As py-hamt: label a single-block answer with the codec asked for; a UnixFS file stays dag-pb.
    return isFileRoot(cid) ? cid : CID.createV1(code, cid.multihash)
  }

  async #rpc(
    command: string,
    params: Record<string, string> | URLSearchParams,
    options: AbortOptions,
  ): Promise<unknown> {
    this.#writable(command)
    const url = `${this.rpcUrl}/api/v0/${command}?${new URLSearchParams(params)}`
    return this.#http.request('POST', url, { signal: options.signal }, (r) =>
      readJson(r, rpcAnswerBytes(command), `${command} (${url})`),
    )
  }

  #writable(operation: string): void {
    if (this.rpcUrl === null)
      throw new StoreError(`cannot ${operation}: this KuboStore has no rpcUrl (read-only)`)
  }
}

/**
 * The class's own methods as defined, not as found later on the prototype: a putBlock or hasBlock
 * patched there (a test's spy, an injected failure) is a replaced method, called, not skipped.
 */
const OWN = ownMethods(KuboStore.prototype, 'putBlock', 'hasBlock')

function form(data: Uint8Array): FormData {
  const body = new FormData()
  body.append('file', new Blob([data as Uint8Array<ArrayBuffer>]))
  return body
}

/** The blocks as one CAR file; with pinning, every block is a root so `dag/import` pins each one. */
function encodeCar(buffered: readonly BufferedBlock[], everyBlockIsRoot: boolean): Uint8Array {
  // As `add` stores them: raw CIDs (Kubo keys blocks by multihash, so any codec label finds them).
  const blocks = buffered.map(({ cid, bytes }) => ({ cid: CID.createV1(rawCode, cid.multihash), bytes }))
  const roots = everyBlockIsRoot ? blocks.map((b) => b.cid) : []
  // The buffer writer lays the CAR out synchronously once its exact size is known; the streaming
  // CarWriter awaited once per block.
  const headerSize = CarBufferWriter.headerLength({ roots })
  const size = blocks.reduce((total, block) => total + CarBufferWriter.blockLength(block), headerSize)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots, headerSize })
  for (const block of blocks) writer.write(block)
  return writer.close()
}
