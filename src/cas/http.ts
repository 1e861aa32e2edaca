import { integerOption } from '../check.js'
import { HamtError, StoreError } from '../errors.js'

/** How a store talks HTTP: shared by the Kubo store and the gateway reader. */
export interface HttpOptions {
  /** Sent with every request (for example an API key). */
  headers?: Record<string, string>
  /** Basic or bearer credentials, sent as an `Authorization` header. */
  auth?: { username: string; password: string } | { bearer: string }
  /** Your own `fetch` (a proxy agent, a test double, a fetch with cookies…); default the global one. */
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

  constructor(method: string, url: string, status: number, body: string) {
    super(`${method} ${url} answered HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`)
    this.status = status
  }
}

/** fetch with a concurrency limit, per-attempt timeouts, and retries with back-off for network failures. */
export class HttpClient {
  readonly #fetch: typeof globalThis.fetch
  readonly #headers: Record<string, string>
  readonly #retries: number
  readonly #retryDelayMs: number
  readonly #timeoutMs: number
  readonly #limit: number
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor(options: HttpOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
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
          const response = await this.#fetch(url, {
            method,
            headers: { ...this.#headers, ...init.headers },
            body: init.body?.(),
            signal,
          })
          if (!response.ok) {
            const body = await response.text().catch(() => '')
            throw new HttpStatusError(method, url, response.status, body.trim())
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
        await this.#sleep(attempt, init.signal)
      }
    }
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

/** fetch's network errors say only "fetch failed"; the reason (ECONNREFUSED…) is in their cause. */
function describeCause(cause: unknown): string {
  const error = cause as Error & { cause?: { code?: string; message?: string } }
  const detail = error?.cause?.code ?? error?.cause?.message
  return detail ? `${error.message} (${detail})` : String(error?.message ?? cause)
}
