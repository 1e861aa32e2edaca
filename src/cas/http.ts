import { integerOption } from '../check.js'
import { HamtError, StoreError } from '../errors.js'
import { noteRetry } from '../telemetry/hooks.js'
import { concatBytes } from './concat.js'

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
   * half the CPU of Node's `fetch` on large reads); elsewhere the global `fetch`.
   */
  fetch?: typeof globalThis.fetch
  /** Requests in flight at once; default 32. */
  concurrency?: number
  /** Retries after a network error or timeout (never after an HTTP answer); default 3. */
  retries?: number
  /** First retry delay in ms, doubled each retry, ±25% jitter; default 100. */
  retryDelayMs?: number
  /** Time limit of one request attempt in ms; default 60 000. */
  timeoutMs?: number
}

/** An HTTP answer outside 2xx: not retried, the status tells callers what happened. */
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

/** Configured headers that may go to any origin: content negotiation, never a credential (py-hamt's list). */
const FORWARDABLE_HEADERS = new Set(['accept', 'accept-encoding', 'accept-language', 'user-agent'])

/** As fetch: at most this many redirects per request, and only these statuses redirect. */
const MAX_REDIRECTS = 20
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/** Bytes of an error answer quoted in its HttpStatusError; the rest is not read. */
const ERROR_BODY_BYTES = 1024

/**
 * Reads a body of at most `limit` bytes, stopping at the first byte beyond it: a declared
 * Content-Length above the limit is refused before any byte is read, and a body without one (or
 * content-encoded, whose Content-Length is not what fetch hands over) is counted as it streams. With `truncate`, the first `limit` bytes are returned instead of an error.
 * Either way the rest of the body is not read (the connection is closed).
 */
export async function readBody(
  response: Response,
  limit: number,
  source: string,
  truncate = false,
): Promise<Uint8Array> {
  const tooLarge = (what: string): StoreError =>
    new StoreError(`${source}: the answer is ${what}, more than the ${limit} bytes it may have`)
  // A declared length counts only for a body not content-encoded: fetch decodes gzip and friends,
  // and a few hundred KB of gzip can declare themselves and then decode to gigabytes.
  const encoding = response.headers.get('content-encoding')?.trim().toLowerCase() ?? 'identity'
  const declared =
    encoding === 'identity' ? Number(response.headers.get('content-length') ?? Number.NaN) : Number.NaN
  if (declared > limit && !truncate) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge(`declared as ${declared} bytes`)
  }
  // fetch itself holds a body to its declared length, so this one is read whole.
  if (declared <= limit) return new Uint8Array(await response.arrayBuffer())
  const body = response.body
  if (body === null) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.length
    if (length > limit) {
      await reader.cancel().catch(() => {})
      if (truncate) return concatBytes(chunks).subarray(0, limit)
      throw tooLarge('longer')
    }
  }
  return concatBytes(chunks)
}

/** Makes the fetch of stores given none; the Node entry point sets it (node:http), elsewhere it is the global fetch. */
let defaultFetch: () => typeof globalThis.fetch = () => globalThis.fetch.bind(globalThis)

/** Sets how stores given no `fetch` get one: for the runtime's entry point only (src/index.node.ts). */
export function setDefaultFetch(make: () => typeof globalThis.fetch): void {
  defaultFetch = make
}

/** fetch with a concurrency limit, per-attempt timeouts, and retries with back-off for network failures. */
export class HttpClient {
  readonly #fetch: typeof globalThis.fetch
  readonly #headers: Record<string, string>
  readonly #forwardableHeaders: Record<string, string>
  readonly #credentialedOrigins: ReadonlySet<string>
  readonly #retries: number
  readonly #retryDelayMs: number
  readonly #timeoutMs: number
  readonly #limit: number
  #active = 0
  readonly #waiting: Array<() => void> = []

  /** `credentialedFor`: the URLs whose origins get `headers` and `auth` in full. */
  constructor(options: HttpOptions = {}, credentialedFor: ReadonlyArray<string | null | undefined> = []) {
    this.#fetch = options.fetch ?? defaultFetch()
    this.#limit = integerOption('concurrency', options.concurrency, 32)
    this.#retries = integerOption('retries', options.retries, 3, 0)
    this.#retryDelayMs = integerOption('retryDelayMs', options.retryDelayMs, 100, 0)
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
   * Sends a request and hands a 2xx response to `read`, whose result is returned. A non-2xx answer is
   * an {@link HttpStatusError} and is not retried. A network error or timeout, while connecting or
   * while `read` consumes the body, is retried; after the last retry it is a StoreError naming the
   * URL. `body` is a function so each attempt gets a fresh one.
   */
  async request<T>(
    method: 'GET' | 'POST',
    url: string,
    init: { headers?: Record<string, string>; body?: () => BodyInit; signal?: AbortSignal },
    read: (response: Response) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      init.signal?.throwIfAborted()
      const timeout = AbortSignal.timeout(this.#timeoutMs)
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
      try {
        return await this.#limited(async () => {
          const response = await this.#send(method, url, init, signal)
          if (!response.ok) {
            const body = await readBody(response, ERROR_BODY_BYTES, url, true).catch(() => undefined)
            const text = body === undefined ? '' : new TextDecoder().decode(body).trim()
            throw new HttpStatusError(method, url, response.status, text, response.headers)
          }
          return await read(response)
        })
      } catch (cause) {
        // The caller's own abort is final, so is an HTTP answer or a verdict of `read` (our errors);
        // a network failure or our timeout is worth another try.
        if (init.signal?.aborted) throw init.signal.reason
        if (cause instanceof HamtError) throw cause
        // fetch reports network failures (connecting, or a body cut short) as TypeError; anything
        // else, such as an answer that is not the JSON it should be, will not improve on a retry.
        if (!(cause instanceof TypeError) && !timeout.aborted) {
          throw new StoreError(`${method} ${url}: ${describeCause(cause)}`, { cause })
        }
        if (attempt >= this.#retries) {
          const why = timeout.aborted ? `timed out after ${this.#timeoutMs} ms` : describeCause(cause)
          throw new StoreError(`${method} ${url} failed after ${attempt + 1} attempts: ${why}`, { cause })
        }
        noteRetry(url, cause)
        await this.#sleep(attempt, init.signal)
      }
    }
  }

  /**
   * One attempt, following redirects here rather than in fetch, which would forward custom headers
   * (an API key) to whatever origin a redirect names: each hop gets the headers its origin may get.
   */
  async #send(
    method: 'GET' | 'POST',
    url: string,
    init: { headers?: Record<string, string>; body?: () => BodyInit },
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
      await response.body?.cancel().catch(() => {})
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

  async #limited<T>(run: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#active++
    try {
      return await run()
    } finally {
      this.#active--
      this.#waiting.shift()?.()
    }
  }

  #sleep(attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const base = this.#retryDelayMs * 2 ** attempt
    const delay = base * (0.75 + Math.random() * 0.5)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, delay)
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          reject(signal.reason)
        },
        { once: true },
      )
    })
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

/** fetch's network errors say only "fetch failed"; the reason (ECONNREFUSED…) is in their cause. */
function describeCause(cause: unknown): string {
  const error = cause as Error & { cause?: { code?: string; message?: string } }
  const detail = error?.cause?.code ?? error?.cause?.message
  return detail ? `${error.message} (${detail})` : String(error?.message ?? cause)
}
