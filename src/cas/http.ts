import { integerOption } from '../check.js'
import { HamtError, StoreError } from '../errors.js'
import { noteRetry } from '../telemetry/hooks.js'
import { PausableTimeout, raceAbort, sleep } from '../util/abort.js'
import { ConcurrencyLimit } from '../util/pool.js'
import { discard, discardBody, readBody } from './http-body.js'
import type { IpnsRecordMemory } from './interface.js'
import { RETRYABLE_POST_STATUSES, RETRYABLE_STATUSES, retryDelay } from './retry.js'

/** How a store talks HTTP: shared by the Kubo store and the gateway reader. */
export interface HttpOptions {
  /**
   * Sent with every request to the origins they are meant for (for example an API key): the RPC
   * URL and the first gateway, as py-hamt 3.6.0 does. Other gateways, and any redirect to another
   * origin, get only `Accept`, `Accept-Encoding`, `Accept-Language` and `User-Agent` from them.
   */
  headers?: Record<string, string>
  /** Basic or bearer credentials, sent as an `Authorization` header to the same origins as `headers`. */
  auth?: { username: string; password: string } | { bearer: string }
  /**
   * Your own `fetch` (a proxy agent, a test double, a fetch with cookies…). Default: in Node, one
   * `nodeHttpFetch()` of `ts-hamt/node` shared by every store (node:http keep-alive connections; about
   * half the CPU of Node's `fetch` on large reads); elsewhere the global `fetch`. Both speak
   * HTTP/1.1 in Node (20 and 24), even to a server that offers HTTP/2; browsers negotiate HTTP/2 or
   * 3 themselves. For HTTP/2 in Node, pass a fetch that negotiates it (undici's
   * `new Agent({ allowH2: true })` as its `dispatcher`).
   * A read ends on its own `timeoutMs` or signal even when this fetch heeds neither, and a body
   * left unread is cancelled without waiting for the cancel to settle.
   */
  fetch?: typeof globalThis.fetch
  /**
   * Requests in flight at once to each gateway, and to the RPC API; default 32 (py-hamt's
   * `concurrency`, which is per gateway too). A slot is held per attempt, not while waiting to retry.
   */
  concurrency?: number
  /**
   * Retries of one request after a network error, a timeout, or an answer that means "try again"
   * (HTTP 429, 500, 502, 503, 504; for Kubo's RPC not 500, its answer to every failed command);
   * other answers are final. Default 3 (py-hamt's `max_retries`).
   */
  retries?: number
  /**
   * First retry delay in ms, doubled each retry, ±25% jitter; default 100. A `Retry-After` header
   * (seconds or an HTTP date) on a 429/5xx replaces it; a gateway asking for a longer wait than
   * back-off is passed over at once when another gateway is left to try.
   */
  retryDelayMs?: number
  /**
   * The longest wait before a retry in ms, whether from back-off or `Retry-After`; default 300 000
   * (py-hamt's cap). The caller's `signal` ends a wait at any time.
   */
  maxRetryDelayMs?: number
  /**
   * Time limit of one request attempt in ms, counted from when it gets its slot (and not while an
   * unverified read waits for `unverifiedReadBytes`); default 60 000.
   */
  timeoutMs?: number
  /**
   * Failed reads in a row (after their retries; a 404 or wrong bytes count too) after which a
   * gateway is tried after the others, for `gatewayCooldownMs`; default 3 (py-hamt's).
   */
  gatewayFailureThreshold?: number
  /**
   * How long a failing gateway stays at the back of the order, in ms; default 30 000 (py-hamt's).
   * Then reads try it again, and one more failure sends it back.
   */
  gatewayCooldownMs?: number
  /**
   * Where the newest record of each IPNS name resolved from gateways is kept, so that no gateway
   * can move a name back to an older record while the newer one is valid (see `resolveName`).
   * Default: 16 MiB in this process, least recently resolved names forgotten first. Pass a `Map`
   * to forget none, or your own {@link IpnsRecordMemory} (on disk) to keep them across processes.
   */
  ipnsRecords?: IpnsRecordMemory
}

/** An HTTP answer outside 2xx (after its retries, for 429 and 5xx ones); the status tells callers what happened. */
export class HttpStatusError extends StoreError {
  readonly status: number
  /** The answer's headers (a 416 says the file's size in `Content-Range`). */
  readonly headers: Headers

  constructor(method: string, url: string, status: number, body: string, headers = new Headers()) {
    super(`${method} ${url} answered HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`)
    this.status = status
    this.headers = headers
  }
}

/**
 * Reads a 2xx answer, given the attempt's signal (its timeout and the caller's abort) and `offClock`:
 * a wait passed through it (for something other than the server) does not count to the timeout.
 */
export type AttemptRead<T> = (
  response: Response,
  signal: AbortSignal,
  offClock: <U>(wait: Promise<U>) => Promise<U>,
) => Promise<T>

/** Configured headers that may go to any origin: content negotiation, never a credential (py-hamt's list). */
const FORWARDABLE_HEADERS = new Set(['accept', 'accept-encoding', 'accept-language', 'user-agent'])

/** As fetch: at most this many redirects per request, and only these statuses redirect. */
const MAX_REDIRECTS = 20
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/** Bytes of an error answer quoted in its HttpStatusError; the rest is not read. */
const ERROR_BODY_BYTES = 1024

/** Makes the fetch of stores given none; the Node entry point sets it (node:http), elsewhere it is the global fetch. */
let defaultFetch: () => typeof globalThis.fetch = () => globalThis.fetch.bind(globalThis)

/** Sets how stores given no `fetch` get one: for the runtime's entry point only (src/index.node.ts). */
export function setDefaultFetch(make: () => typeof globalThis.fetch): void {
  defaultFetch = make
}

/** Per-request settings of {@link HttpClient.request}. */
export interface RequestInit {
  headers?: Record<string, string>
  /** A function, so each attempt gets a fresh body. */
  body?: () => BodyInit
  signal?: AbortSignal
  /** The limit the attempts take their slots from (one per gateway); default the client's own. */
  limit?: ConcurrencyLimit
  /**
   * Another source can be asked instead: an answer whose `Retry-After` asks for a longer wait than
   * back-off would take ends the request with that answer rather than waiting.
   */
  failOver?: boolean
}

/**
 * fetch with a concurrency limit, per-attempt timeouts, and retries with back-off for network
 * failures and answers that mean "try again".
 */
export class HttpClient {
  readonly #fetch: typeof globalThis.fetch
  readonly #headers: Record<string, string>
  readonly #forwardableHeaders: Record<string, string>
  readonly #credentialedOrigins: ReadonlySet<string>
  readonly #retries: number
  readonly #retryDelayMs: number
  readonly #maxRetryDelayMs: number
  readonly #timeoutMs: number
  /** The `concurrency` option: the size of this client's own limit, and of each gateway's. */
  readonly concurrency: number
  readonly #limit: ConcurrencyLimit

  /** `credentialedFor`: the URLs whose origins get `headers` and `auth` in full. */
  constructor(options: HttpOptions = {}, credentialedFor: ReadonlyArray<string | null | undefined> = []) {
    this.#fetch = options.fetch ?? defaultFetch()
    this.concurrency = integerOption('concurrency', options.concurrency, 32)
    this.#limit = new ConcurrencyLimit(this.concurrency)
    this.#retries = integerOption('retries', options.retries, 3, 0)
    this.#retryDelayMs = integerOption('retryDelayMs', options.retryDelayMs, 100, 0)
    this.#maxRetryDelayMs = integerOption('maxRetryDelayMs', options.maxRetryDelayMs, 300_000, 0)
    this.#timeoutMs = integerOption('timeoutMs', options.timeoutMs, 60_000)
    this.#headers = { ...options.headers }
    const auth = options.auth
    if (auth !== undefined) {
      if ('bearer' in auth) this.#headers.authorization = `Bearer ${auth.bearer}`
      else this.#headers.authorization = `Basic ${btoa(`${auth.username}:${auth.password}`)}`
    }
    this.#forwardableHeaders = Object.fromEntries(
      Object.entries(this.#headers).filter(([name]) => FORWARDABLE_HEADERS.has(name.toLowerCase())),
    )
    this.#credentialedOrigins = new Set(credentialedFor.flatMap((url) => (url ? [originOf(url)] : [])))
  }

  /**
   * Sends a request and hands a 2xx response to `read` (with the attempt's signal: its timeout and
   * the caller's abort), whose result is returned. A network error
   * or timeout (while connecting or while `read` consumes the body) and an answer of 429, 500, 502,
   * 503 or 504 are retried after a back-off; once retries run out, the last answer is an
   * {@link HttpStatusError} and a network failure a StoreError naming the URL. Other answers are an
   * HttpStatusError at once. The caller's signal ends the request, a wait for a slot, or a back-off.
   */
  async request<T>(method: 'GET' | 'POST', url: string, init: RequestInit, read: AttemptRead<T>): Promise<T> {
    const limit = init.limit ?? this.#limit
    let resent = 0
    for (let attempt = 0; ; attempt++) {
      init.signal?.throwIfAborted()
      let timedOut = false
      try {
        return await limit.run(async () => {
          // The attempt's time starts with its slot: waiting in the queue is not the server's fault.
          const timeout = new PausableTimeout(this.#timeoutMs)
          try {
            return await this.#attempt(method, url, init, timeout, read)
          } finally {
            timedOut = timeout.signal.aborted
            timeout.clear()
          }
        }, init.signal)
      } catch (thrown) {
        if (init.signal?.aborted) throw init.signal.reason
        // A GET that never reached the server goes again at once, without counting as a retry:
        // the closed connection is dropped from the pool, and the next one may be stale too.
        if (thrown instanceof ClosedBeforeAnswer && resent < MAX_RESENDS) {
          resent++
          attempt--
          continue
        }
        const cause = thrown instanceof ClosedBeforeAnswer ? thrown.cause : thrown
        const final = finalError(method, url, cause, timedOut)
        if (final !== undefined) throw final
        if (attempt >= this.#retries) {
          if (cause instanceof HttpStatusError) throw cause
          const why = timedOut ? `timed out after ${this.#timeoutMs} ms` : describeCause(cause)
          throw new StoreError(`${method} ${url} failed after ${attempt + 1} attempts: ${why}`, { cause })
        }
        const retryAfter = cause instanceof HttpStatusError ? cause.headers.get('retry-after') : null
        const wait = retryDelay(attempt, retryAfter, this.#retryDelayMs, this.#maxRetryDelayMs)
        // A busy gateway's "come back in an hour" must not hold a read another gateway can serve now.
        if (init.failOver && wait > this.#retryDelayMs * 2 ** Math.min(attempt, 52) * 1.25) throw cause
        noteRetry(url, cause)
        await sleep(wait, init.signal)
      }
    }
  }

  /** One attempt: send, refuse a non-2xx answer (quoting the start of its body), `read` the rest. */
  async #attempt<T>(
    method: 'GET' | 'POST',
    url: string,
    init: RequestInit,
    timeout: PausableTimeout,
    read: AttemptRead<T>,
  ): Promise<T> {
    const signal = init.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal
    // Raced with the signal: a caller's fetch that heeds none must still end at the timeout or abort
    // (an answer that comes after is dropped unread).
    const sending = this.#send(method, url, init, signal)
    const response = await raceAbort(sending, signal).catch((error: unknown) => {
      if (signal.aborted)
        sending.then(
          (late) => discard(late.body),
          () => {},
        )
      throw method === 'GET' && !signal.aborted && connectionClosed(error)
        ? new ClosedBeforeAnswer('the connection closed before an answer', { cause: error })
        : error
    })
    try {
      if (!response.ok) {
        const body = await raceAbort(readBody(response, ERROR_BODY_BYTES, url, true), signal).catch(
          () => undefined,
        )
        const text = body === undefined ? '' : new TextDecoder().decode(body).trim()
        throw new HttpStatusError(method, url, response.status, text, response.headers)
      }
      return await raceAbort(
        read(response, signal, (wait) => timeout.offClock(wait)),
        signal,
      )
    } finally {
      // A body left unread (an error, an abort mid-read) is not left open; a read one is a no-op.
      if (signal.aborted) discardBody(response)
    }
  }

  /**
   * One attempt, following redirects here rather than in fetch, which would forward custom headers
   * (an API key) to whatever origin a redirect names: each hop gets the headers its origin may get.
   */
  async #send(
    method: 'GET' | 'POST',
    url: string,
    init: RequestInit,
    signal: AbortSignal,
  ): Promise<Response> {
    let target = url
    for (let hops = 0; ; hops++) {
      const response = await this.#fetch(target, {
        method,
        headers: { ...this.#headersFor(target), ...init.headers },
        body: method === 'GET' ? undefined : init.body?.(),
        signal,
        redirect: 'manual',
      })
      // A browser hides where an opaque redirect goes: let it follow, with no credentials at all.
      if (response.type === 'opaqueredirect') {
        return this.#fetch(target, {
          method,
          headers: { ...this.#forwardableHeaders, ...init.headers },
          body: method === 'GET' ? undefined : init.body?.(),
          signal,
          redirect: 'follow',
        })
      }
      const location = response.headers.get('location')
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return response
      discard(response.body)
      if (hops >= MAX_REDIRECTS)
        throw new StoreError(`${method} ${url}: more than ${MAX_REDIRECTS} redirects`)
      target = redirectTarget(method, url, location, target)
      // As fetch: 303, and 301/302 after a POST, continue as a GET without the body.
      if (response.status === 303 || (method === 'POST' && response.status <= 302)) method = 'GET'
    }
  }

  #headersFor(url: string): Record<string, string> {
    return this.#credentialedOrigins.has(originOf(url)) ? this.#headers : this.#forwardableHeaders
  }
}

/**
 * Where a redirect goes: as fetch, only to http(s); and not to userinfo of the answering server's
 * choosing, which Node's http would send as credentials (a relative Location keeps the URL's own).
 */
function redirectTarget(method: string, url: string, location: string, from: string): string {
  const previous = new URL(from)
  let next: URL | undefined
  try {
    next = new URL(location, previous)
  } catch {}
  if (
    next === undefined ||
    (next.protocol !== 'http:' && next.protocol !== 'https:') ||
    ((next.username !== '' || next.password !== '') &&
      (next.username !== previous.username || next.password !== previous.password))
  ) {
    throw new StoreError(`${method} ${url}: refused a redirect to ${JSON.stringify(location.slice(0, 100))}`)
  }
  return next.href
}

/** `scheme://host:port` with the scheme's default port left out, so `https://h` and `https://h:443` are one origin. */
function originOf(url: string): string {
  return new URL(url).origin
}

/** The error a failed attempt ends the request with, or undefined when another try may do better. */
function finalError(method: string, url: string, cause: unknown, timedOut: boolean): Error | undefined {
  if (cause instanceof HttpStatusError) {
    const statuses = method === 'GET' ? RETRYABLE_STATUSES : RETRYABLE_POST_STATUSES
    return statuses.has(cause.status) ? undefined : cause
  }
  // A verdict of `read` (our errors: too long, wrong bytes…) will not change on a retry.
  if (cause instanceof HamtError) return cause
  // fetch reports network failures (connecting, or a body cut short) as TypeError; anything
  // else, such as an answer that is not the JSON it should be, will not improve on a retry.
  if (cause instanceof TypeError || timedOut) return undefined
  return new StoreError(`${method} ${url}: ${describeCause(cause)}`, { cause })
}

/**
 * A request on a kept-alive connection that the server closed (nginx after `keepalive_requests`, or
 * idle): fetch rejects before any answer, with the socket's error as its cause.
 */
class ClosedBeforeAnswer extends Error {}

/**
 * Resends of one request after {@link ClosedBeforeAnswer}: undici keeps several idle connections
 * per origin even for one request at a time, and each may have been closed; a server that closes
 * every connection unanswered still costs only this many extra requests per request.
 */
const MAX_RESENDS = 3

function connectionClosed(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } })?.cause?.code
  return (
    error instanceof TypeError && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE')
  )
}

/** fetch's network errors say only "fetch failed"; the reason (ECONNREFUSED…) is in their cause. */
function describeCause(cause: unknown): string {
  const error = cause as Error & { cause?: { code?: string; message?: string } }
  const detail = error?.cause?.code ?? error?.cause?.message
  return detail ? `${error.message} (${detail})` : String(error?.message ?? cause)
}
