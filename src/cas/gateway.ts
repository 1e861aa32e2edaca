import { code as dagPbCode } from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import {
  BlockNotFoundError,
  HamtError,
  InvalidArgumentError,
  RangeNotSatisfiableError,
  StoreError,
} from '../errors.js'
import { traceGateway } from '../telemetry/hooks.js'
import { type HttpClient, HttpStatusError, readBody } from './http.js'
import type { AbortOptions, ByteRange, LoadOptions } from './interface.js'
import { checkByteRange, resolveByteRange, sliceByteRange } from './range.js'
import { readUnixfsFile } from './unixfs.js'
import { type Blake3Digest, checkVerifiable, verifyBlock } from './verify.js'

/**
 * The largest raw block accepted from a gateway: IPFS blocks stay within 2 MiB (bitswap's limit),
 * so twice that is generous; a gateway that streams more is cut off rather than trusted with memory.
 */
export const MAX_BLOCK_BYTES = 4 << 20

/** Gateway URL forms as py-hamt takes them: `http://h:8080`, `…/`, `…/ipfs`, `…/ipfs/` → `http://h:8080/ipfs/`. */
export function normalizeGatewayUrl(url: string): string {
  checkHttpUrl('gateways', url)
  let base = url.replace(/\/+$/, '')
  if (!base.endsWith('/ipfs')) base = `${base}/ipfs`
  return `${base}/`
}

/** The `gateways` option of the stores that read from gateways: one URL or several, in order; checked here. */
export function gatewayList(gateways: unknown): readonly string[] {
  if (typeof gateways !== 'string' && !Array.isArray(gateways)) {
    throw new InvalidArgumentError('gateways must be a URL or an array of URLs')
  }
  const urls: readonly string[] = typeof gateways === 'string' ? [gateways] : gateways
  if (urls.length === 0) throw new InvalidArgumentError('gateways: at least one gateway is needed')
  for (const url of urls) checkHttpUrl('gateways', url)
  return urls
}

export function checkHttpUrl(name: string, url: unknown): asserts url is string {
  let parsed: URL
  try {
    parsed = new URL(String(url))
  } catch {
    throw new InvalidArgumentError(`${name} must be an http(s) URL, got ${JSON.stringify(url)}`)
  }
  if (typeof url !== 'string' || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new InvalidArgumentError(`${name} must be an http(s) URL, got ${JSON.stringify(url)}`)
  }
}

/**
 * Reads blocks and files from IPFS HTTP gateways, trying each gateway in order until one answers
 * well. With `verify`, every block is fetched raw (`?format=raw`) and checked against its CID before
 * use; files above one block (dag-pb) are assembled from verified blocks, fetching only the blocks
 * a byte range needs. Without it, the gateway is asked for the range directly (py-hamt's behaviour).
 */
export class GatewayReader {
  readonly urls: readonly string[]
  readonly #http: HttpClient
  readonly #verify: boolean
  readonly #blake3Digest: Blake3Digest | undefined

  constructor(
    urls: readonly string[],
    http: HttpClient,
    verify: boolean,
    options: { blake3Digest?: Blake3Digest } = {},
  ) {
    if (urls.length === 0) throw new InvalidArgumentError('gateways: at least one gateway is needed')
    this.urls = [...new Set(urls.map(normalizeGatewayUrl))]
    this.#http = http
    this.#verify = verify
    this.#blake3Digest = options.blake3Digest
  }

  async load(cid: CID, options: LoadOptions = {}): Promise<Uint8Array> {
    if (options.range !== undefined) checkByteRange(options.range)
    return this.#fromFirstThatAnswers(cid, options.signal, (url) => this.#loadFrom(url, cid, options))
  }

  /** One block's bytes (for a UnixFS file, its root node), fetched raw and, with `verify`, checked. */
  async getBlock(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    if (this.#verify) checkVerifiable(cid)
    return this.#fromFirstThatAnswers(cid, options.signal, (url) =>
      this.#fetchRawBlock(url, cid, options.signal),
    )
  }

  async #fromFirstThatAnswers(
    cid: CID,
    signal: AbortSignal | undefined,
    read: (url: string) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const failures: Array<{ url: string; error: unknown }> = []
    for (const url of this.urls) {
      try {
        return await traceGateway(url, cid, () => read(url))
      } catch (error) {
        // The caller's abort and a range outside the value are answers, not gateway failures.
        if (signal?.aborted || error instanceof RangeNotSatisfiableError) throw error
        failures.push({ url, error })
      }
    }
    throw summarize(cid, failures)
  }

  async #loadFrom(url: string, cid: CID, options: LoadOptions): Promise<Uint8Array> {
    const fetchBlock = (block: CID): Promise<Uint8Array> => this.#fetchRawBlock(url, block, options.signal)
    if (this.#verify) checkVerifiable(cid)
    if (cid.code === dagPbCode) {
      if (this.#verify) return readUnixfsFile(cid, fetchBlock, options.range)
      return this.#fetchFileRange(url, cid, options.range, options.signal)
    }
    const block = await fetchBlock(cid)
    if (options.range === undefined) return block
    return sliceByteRange(block, options.range)
  }

  async #fetchRawBlock(url: string, cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    const bytes = await this.#http.request(
      'GET',
      `${url}${cid}?format=raw`,
      { headers: { accept: 'application/vnd.ipld.raw' }, signal },
      (response) => readBody(response, MAX_BLOCK_BYTES, `${url}${cid}`),
    )
    if (this.#verify) await verifyBlock(cid, bytes, url, this.#blake3Digest)
    return bytes
  }

  /** Unverified file read with an HTTP Range header; a 206 must say which bytes it carries. */
  async #fetchFileRange(
    url: string,
    cid: CID,
    range: ByteRange | undefined,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const source = `${url}${cid}`
    // A zero-length range names no byte (`bytes=5-4` is malformed): ask for the byte at its offset,
    // so the gateway still says whether the offset is inside the file, and return none.
    const empty = range !== undefined && 'offset' in range && range.length === 0
    const asked: ByteRange | undefined = empty ? { offset: range.offset, length: 1 } : range
    const headers: Record<string, string> = asked === undefined ? {} : { range: rangeHeader(asked) }
    try {
      return await this.#http.request('GET', source, { headers, signal }, async (response) => {
        // Unverified reads trust the gateway's bytes, not its lengths: a range is read only as far as it goes.
        if (range === undefined || response.status === 200) {
          // A gateway that ignores Range sends the whole file: read it only up to the range's end.
          const bounded = range !== undefined && 'offset' in range && range.length !== undefined
          const body = bounded
            ? await readBody(response, range.offset + (range.length ?? 0), source, true)
            : new Uint8Array(await response.arrayBuffer())
          return range === undefined ? body : sliceByteRange(body, range)
        }
        const wanted = asked !== undefined && 'suffix' in asked ? asked.suffix : asked?.length
        const body = await readBody(response, wanted ?? Number.POSITIVE_INFINITY, source)
        if (response.status !== 206) throw notSaying(source)
        checkPartialAnswer(source, range, response.headers.get('content-range'), body)
        return empty ? new Uint8Array(0) : body
      })
    } catch (error) {
      if (range !== undefined && error instanceof HttpStatusError && error.status === 416) {
        return unsatisfiedRange(source, range, error)
      }
      throw error
    }
  }
}

function notSaying(source: string): StoreError {
  return new StoreError(`${source}: the answer to a Range request does not say which bytes it carries`)
}

/**
 * A 206 must carry the bytes the range selects, as its `Content-Range` says: where it names the
 * file's size, a range reaching outside the file is refused as every other path refuses it.
 */
function checkPartialAnswer(
  source: string,
  range: ByteRange,
  contentRange: string | null,
  body: Uint8Array,
): void {
  const answered = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '')
  if (answered === null) throw notSaying(source)
  const [first, last, total] = [Number(answered[1]), Number(answered[2]), answered[3]]
  if (last - first + 1 !== body.length) throw notSaying(source)
  if ('offset' in range && range.length === 0) return // one byte asked to locate the offset, none given back
  let start: number | undefined
  let length: number | undefined
  if (total !== '*') {
    const [from, to] = resolveByteRange(range, Number(total))
    ;[start, length] = [from, to - from]
  } else if ('offset' in range) [start, length] = [range.offset, range.length]
  else length = range.suffix
  if ((start !== undefined && first !== start) || (length !== undefined && body.length !== length)) {
    throw new StoreError(
      `${source}: asked for range ${JSON.stringify(range)}, the gateway sent bytes ${first}-${last}`,
    )
  }
}

function rangeHeader(range: ByteRange): string {
  if ('suffix' in range) return `bytes=-${range.suffix}`
  return `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`
}

/**
 * A 416 selects no byte, which is right for a range that selects none at the file's end (offset =
 * size, a suffix of 0): with the size it names (`Content-Range: bytes *\/size`), the range is
 * resolved as every other path resolves it; without it, the range is out of the file.
 */
function unsatisfiedRange(source: string, range: ByteRange, error: HttpStatusError): Uint8Array {
  const size = /^bytes \*\/(\d+)$/.exec(error.headers.get('content-range') ?? '')?.[1]
  if (size === undefined) {
    throw new RangeNotSatisfiableError(
      `${source}: the gateway found range ${JSON.stringify(range)} outside the file`,
    )
  }
  const [start, end] = resolveByteRange(range, Number(size))
  if (start !== end) {
    throw new StoreError(
      `${source}: the gateway refused range ${JSON.stringify(range)} of a ${size}-byte file`,
      { cause: error },
    )
  }
  return new Uint8Array(0)
}

/**
 * One error for a read that failed on every gateway: not found anywhere; else wrong bytes, which
 * callers must see as such; else the one gateway's own error; else all failures in one message.
 */
function summarize(cid: CID, failures: Array<{ url: string; error: unknown }>): Error {
  const notFound = (error: unknown): boolean => error instanceof HttpStatusError && error.status === 404
  const detail = failures.map(({ url, error }) => `${url}: ${(error as Error).message}`).join('; ')
  if (failures.every(({ error }) => notFound(error))) {
    return new BlockNotFoundError(`no gateway has ${cid} (${detail})`)
  }
  const integrity = failures.find(({ error }) => error instanceof HamtError && error.code === 'ERR_INTEGRITY')
  if (integrity !== undefined) return integrity.error as HamtError
  const only = failures.length === 1 ? failures[0]?.error : undefined
  if (only instanceof HamtError) return only
  return new StoreError(`reading ${cid} failed on every gateway: ${detail}`, {
    cause: failures.at(-1)?.error,
  })
}

/** Kept for the stores that import it from here; it is {@link toCid}. */
