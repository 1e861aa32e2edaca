import { code as dagPbCode } from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import { integerOption } from '../check.js'
import {
  BlockNotFoundError,
  type GatewayFailure,
  GatewaysFailedError,
  HamtError,
  IntegrityError,
  InvalidArgumentError,
  IpnsRecordError,
  RangeNotSatisfiableError,
} from '../errors.js'
import { traceGateway } from '../telemetry/hooks.js'
import { ConcurrencyLimit } from '../util/pool.js'
import { GatewayHealth } from './gateway-health.js'
import {
  OverUnverifiedReadBytesError,
  rangeHeader,
  readUnverifiedAnswer,
  unsatisfiedRange,
} from './gateway-range.js'
import { type HttpClient, HttpStatusError } from './http.js'
import { readBody } from './http-body.js'
import { inlineBlock } from './id.js'
import type { AbortOptions, ByteRange, IpnsRecordMemory, LoadOptions } from './interface.js'
import type { IpnsName } from './ipns-name.js'
import {
  bestIpnsRecord,
  IPNS_RECORD_TYPE,
  type IpnsRecordFields,
  NewestRecords,
  readIpnsRecordAnswer,
  verifyIpnsRecord,
} from './ipns-record.js'
import { checkByteRange, sliceByteRange } from './range.js'
import { type BudgetShare, ReadBudget, ReadBudgetError } from './read-budget.js'
import { readUnixfsFile } from './unixfs.js'
import { type Blake3Digest, checkVerifiable, verifyBlock } from './verify.js'

/**
 * The largest raw block accepted from a gateway: IPFS blocks stay within 2 MiB (bitswap's limit),
 * so twice that is generous; a gateway that streams more is cut off rather than trusted with memory.
 */
export const MAX_BLOCK_BYTES = 4 << 20

/** The default of `unverifiedReadBytes`: the most one unverified read of a whole file takes. */
export const UNVERIFIED_READ_BYTES = 256 << 20

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

/** A gateway as the reader keeps it: its URL, its record of failures, its own concurrency limit. */
interface Gateway {
  url: string
  health: GatewayHealth
  limit: ConcurrencyLimit
}

/** Settings of a {@link GatewayReader} beyond its URLs and client. */
export interface GatewayReaderOptions {
  blake3Digest?: Blake3Digest
  gatewayFailureThreshold?: number
  gatewayCooldownMs?: number
  ipnsRecords?: IpnsRecordMemory
  unverifiedReadBytes?: number
}

/**
 * Reads blocks and files from IPFS HTTP gateways: healthy gateways first, then those with a free
 * slot, each tried in turn until one answers well (never raced: that would spend every gateway's
 * rate limit at once). With `verify`, every block is fetched raw (`?format=raw`) and checked
 * against its CID before use; files above one block (dag-pb) are assembled from verified blocks,
 * each block failing over on its own, fetching only the blocks a byte range needs. Without it, the
 * gateway is asked for the range directly (py-hamt's behaviour).
 */
export class GatewayReader {
  readonly urls: readonly string[]
  readonly #gateways: readonly Gateway[]
  readonly #http: HttpClient
  readonly #verify: boolean
  /** What an unverified read of a whole file (or a range without end) may take: nothing else bounds it. */
  readonly #unverifiedReadBytes: number
  /** What all unverified reads of unknown length hold at once: `unverifiedReadBytes` too. */
  readonly #readBudget: ReadBudget
  readonly #blake3Digest: Blake3Digest | undefined
  readonly #newestRecords: NewestRecords
  /** What each record fetched was verified to say, so one resolution verifies it once. */
  readonly #verifiedRecords = new WeakMap<Uint8Array, IpnsRecordFields>()

  constructor(
    urls: readonly string[],
    http: HttpClient,
    verify: boolean,
    options: GatewayReaderOptions = {},
  ) {
    if (urls.length === 0) throw new InvalidArgumentError('gateways: at least one gateway is needed')
    this.urls = [...new Set(urls.map(normalizeGatewayUrl))]
    const threshold = integerOption('gatewayFailureThreshold', options.gatewayFailureThreshold, 3)
    const cooldownMs = integerOption('gatewayCooldownMs', options.gatewayCooldownMs, 30_000, 0)
    this.#gateways = this.urls.map((url) => ({
      url,
      health: new GatewayHealth(threshold, cooldownMs),
      limit: new ConcurrencyLimit(http.concurrency),
    }))
    this.#http = http
    this.#verify = verify
    this.#unverifiedReadBytes = integerOption(
      'unverifiedReadBytes',
      options.unverifiedReadBytes,
      UNVERIFIED_READ_BYTES,
    )
    this.#readBudget = new ReadBudget(this.#unverifiedReadBytes)
    this.#blake3Digest = options.blake3Digest
    this.#newestRecords = new NewestRecords(options.ipnsRecords)
  }

  async load(cid: CID, options: LoadOptions = {}): Promise<Uint8Array> {
    if (options.range !== undefined) checkByteRange(options.range)
    if (this.#verify) checkVerifiable(cid)
    const inline = inlineBlock(cid)
    if (inline !== undefined && cid.code !== dagPbCode) {
      return options.range === undefined ? inline.slice() : sliceByteRange(inline, options.range)
    }
    // A verified file is assembled here block by block, so each block fails over on its own.
    if (cid.code === dagPbCode && this.#verify) {
      return readUnixfsFile(cid, (block) => this.getBlock(block, { signal: options.signal }), options.range)
    }
    return this.#fromFirstThatAnswers(cid, options.signal, (gateway, failOver) =>
      this.#loadFrom(gateway, cid, options, failOver),
    )
  }

  /** One block's bytes (for a UnixFS file, its root node), fetched raw and, with `verify`, checked. */
  async getBlock(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    if (this.#verify) checkVerifiable(cid)
    const inline = inlineBlock(cid)
    if (inline !== undefined) return inline.slice()
    return this.#fromFirstThatAnswers(cid, options.signal, (gateway, failOver) =>
      this.#fetchRawBlock(gateway, cid, options.signal, failOver),
    )
  }

  /** Healthy gateways first, then those with a free slot; the configured order within each rank. */
  #ordered(): readonly Gateway[] {
    if (this.#gateways.length === 1) return this.#gateways
    const now = performance.now()
    const rank = new Map(
      this.#gateways.map((g) => [g, (g.health.healthy(now) ? 0 : 2) + (g.limit.saturated ? 1 : 0)]),
    )
    return [...this.#gateways].sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number))
  }

  /**
   * The signed record of an IPNS name, verified (signature against the name's key, validity): from
   * the first gateway that serves a valid one (`ask: 'first'`, the default: one request, as a
   * block read), or from every gateway at once, keeping the highest sequence (`ask: 'all'`). A
   * gateway that serves a refused record fails over to the next, as one serving wrong bytes does.
   * A name never moves back to an older record than one this reader verified before while that
   * one is valid.
   */
  async getIpnsRecord(
    name: IpnsName,
    options: AbortOptions & { ask?: 'first' | 'all' } = {},
  ): Promise<IpnsRecordFields> {
    const read = (gateway: Gateway, failOver: boolean): Promise<Uint8Array> =>
      this.#fetchIpnsRecord(gateway, name, options.signal, failOver)
    if (options.ask !== 'all' || this.#gateways.length === 1) {
      const bytes = await this.#fromFirstThatAnswers(name.path, options.signal, read)
      return this.#newestRecords.settle(name, bytes, this.#verifiedRecords.get(bytes))
    }
    const answers = await Promise.allSettled(
      this.#gateways.map((gateway) =>
        traceGateway(gateway.url, name.path, () =>
          this.#tryGateway(gateway, options.signal, (g) => read(g, true)),
        ),
      ),
    )
    options.signal?.throwIfAborted()
    const records = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []))
    if (records.length === 0) {
      const failures = answers.map((answer, i) => {
        const error = (answer as PromiseRejectedResult).reason
        const url = this.#gateways[i]?.url as string
        return { url, status: error instanceof HttpStatusError ? error.status : undefined, error }
      })
      throw summarize(name.path, failures)
    }
    const best = records[await bestIpnsRecord(name, records)] as Uint8Array
    return this.#newestRecords.settle(name, best, this.#verifiedRecords.get(best))
  }

  async #fromFirstThatAnswers(
    cid: CID | string,
    signal: AbortSignal | undefined,
    read: (gateway: Gateway, failOver: boolean) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const failures: GatewayFailure[] = []
    const ordered = this.#ordered()
    for (const [i, gateway] of ordered.entries()) {
      const failOver = i < ordered.length - 1
      try {
        return await traceGateway(gateway.url, cid, () =>
          this.#tryGateway(gateway, signal, (g) => read(g, failOver)),
        )
      } catch (error) {
        if (!isGatewayFailure(error, signal)) throw error
        const status = error instanceof HttpStatusError ? error.status : undefined
        failures.push({ url: gateway.url, status, error })
      }
    }
    throw summarize(cid, failures)
  }

  /**
   * One gateway's try at a read, its retries included; its health learns the outcome. The
   * caller's abort and a range outside the value are answers, not failures of the gateway.
   */
  async #tryGateway(
    gateway: Gateway,
    signal: AbortSignal | undefined,
    read: (gateway: Gateway) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    try {
      const bytes = await read(gateway)
      gateway.health.succeeded()
      return bytes
    } catch (error) {
      if (isGatewayFailure(error, signal)) gateway.health.failed(performance.now())
      throw error
    }
  }

  async #loadFrom(gateway: Gateway, cid: CID, options: LoadOptions, failOver: boolean): Promise<Uint8Array> {
    if (cid.code === dagPbCode) {
      return this.#fetchFileRange(gateway, cid, options.range, options.signal, failOver)
    }
    const block = await this.#fetchRawBlock(gateway, cid, options.signal, failOver)
    if (options.range === undefined) return block
    return sliceByteRange(block, options.range)
  }

  /** A record asked for as the trustless gateway spec says, its length and type checked before it is read. */
  async #fetchIpnsRecord(
    gateway: Gateway,
    name: IpnsName,
    signal: AbortSignal | undefined,
    failOver: boolean,
  ): Promise<Uint8Array> {
    const url = `${gateway.url.replace(/ipfs\/$/, 'ipns/')}${name.path.slice('/ipns/'.length)}`
    const bytes = await this.#http.request(
      'GET',
      `${url}?format=ipns-record`,
      { headers: { accept: IPNS_RECORD_TYPE }, signal, limit: gateway.limit, failOver },
      (response) => readIpnsRecordAnswer(response, name, url),
    )
    this.#verifiedRecords.set(bytes, await verifyIpnsRecord(name, bytes))
    return bytes
  }

  async #fetchRawBlock(
    gateway: Gateway,
    cid: CID,
    signal?: AbortSignal,
    failOver = false,
  ): Promise<Uint8Array> {
    const url = gateway.url
    const bytes = await this.#http.request(
      'GET',
      `${url}${cid}?format=raw`,
      { headers: { accept: 'application/vnd.ipld.raw' }, signal, limit: gateway.limit, failOver },
      (response) => readBody(response, MAX_BLOCK_BYTES, `${url}${cid}`),
    )
    if (this.#verify) await verifyBlock(cid, bytes, url, this.#blake3Digest)
    return bytes
  }

  /** Unverified file read with an HTTP Range header; a 206 must say which bytes it carries. */
  async #fetchFileRange(
    gateway: Gateway,
    cid: CID,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    failOver = false,
  ): Promise<Uint8Array> {
    const source = `${gateway.url}${cid}`
    // One share for the read's attempts and restarts: it keeps its age, so a restart is not starved.
    const share = this.#readBudget.share()
    try {
      return await this.#readUnverified(gateway, source, range, signal, failOver, share)
    } finally {
      share.end()
    }
  }

  async #readUnverified(
    gateway: Gateway,
    source: string,
    range: ByteRange | undefined,
    signal: AbortSignal | undefined,
    failOver: boolean,
    share: BudgetShare,
  ): Promise<Uint8Array> {
    const headers: Record<string, string> = range === undefined ? {} : { range: rangeHeader(range) }
    const most = this.#unverifiedReadBytes
    let attempts = 0
    for (;;) {
      try {
        return await this.#http.request(
          'GET',
          source,
          { headers, signal, limit: gateway.limit, failOver },
          async (response, attempt, offClock) => {
            const hold = (bytes: number): Promise<void> => {
              const holding = share.hold(bytes, attempt, (held) => budgetHeld(source, held, most))
              // Waiting for other reads' bytes is not the gateway's slowness: off the attempt's clock.
              return share.waits() ? offClock(holding) : holding
            }
            const current = ++attempts
            try {
              return await readUnverifiedAnswer(response, source, range, most, hold)
            } finally {
              // The bytes are the caller's now, or dropped. An attempt left behind (a fetch that heeds
              // no signal) that ends late leaves the share to the attempt after it.
              if (current === attempts) share.release()
            }
          },
        )
      } catch (error) {
        // Stopped for older reads to finish: starts again once they did.
        if (error instanceof ReadBudgetError) await share.turn(signal)
        else if (range !== undefined && error instanceof HttpStatusError && error.status === 416)
          return unsatisfiedRange(source, range, error)
        else throw error
      }
    }
  }
}

/**
 * A gateway's failure, as opposed to final answers: the caller's abort, a range outside the value, a
 * file over `unverifiedReadBytes` (its size, which the next gateway would send in full again), a read
 * stopped because other reads held the store's unverified bytes.
 */
function isGatewayFailure(error: unknown, signal: AbortSignal | undefined): boolean {
  return (
    !signal?.aborted &&
    !(error instanceof RangeNotSatisfiableError) &&
    !(error instanceof OverUnverifiedReadBytesError) &&
    !(error instanceof ReadBudgetError)
  )
}

function budgetHeld(source: string, held: number, most: number): ReadBudgetError {
  return new ReadBudgetError(
    `${source}: stopped at ${held} bytes for older reads, which with it held this store's unverifiedReadBytes (${most} bytes in all)`,
  )
}

/**
 * One error for a read that failed on every gateway: not found anywhere (every gateway said 404);
 * else the one gateway's own error; else all failures, each with its gateway, in one error.
 */
function summarize(cid: CID | string, failures: readonly GatewayFailure[]): Error {
  if (failures.every(({ status }) => status === 404)) {
    const detail = failures.map(({ url, error }) => `${url}: ${(error as Error).message}`).join('; ')
    return new BlockNotFoundError(`no gateway has ${cid} (${detail})`)
  }
  const only = failures.length === 1 ? failures[0]?.error : undefined
  if (only instanceof HamtError) return only
  // Wrong bytes from every gateway stay ERR_INTEGRITY, as from one: callers match on that code.
  if (failures.every(({ error }) => error instanceof IntegrityError)) {
    const detail = failures.map(({ url, error }) => `${url}: ${(error as Error).message}`).join('; ')
    return new IntegrityError(`every gateway served wrong bytes for ${cid} (${detail})`)
  }
  // A record refused by every gateway stays ERR_IPNS_RECORD, with the first gateway's reason.
  const first = failures[0]?.error
  if (first instanceof IpnsRecordError && failures.every(({ error }) => error instanceof IpnsRecordError)) {
    const detail = failures.map(({ url, error }) => `${url}: ${(error as Error).message}`).join('; ')
    return new IpnsRecordError(
      first.ipnsName,
      first.problem,
      `every gateway's record was refused (${detail})`,
      {
        cause: first,
      },
    )
  }
  return new GatewaysFailedError(`reading ${cid}`, failures)
}
