import http from 'node:http'
import https from 'node:https'
import { InvalidArgumentError } from '../errors.js'

export interface NodeHttpFetchOptions {
  /** Connections kept open per host; default 32 (the HTTP client's default concurrency). */
  maxSockets?: number
  /** The fetch that handles every other request (with a body, or answered by a redirect); default the global one. */
  fallback?: typeof globalThis.fetch
}

/**
 * A response whose body is already in memory: reading it is a view, not a trip through web streams
 * (which cost Node's `fetch` about 1 ms for each 500 KB body).
 */
class BufferedResponse extends Response {
  readonly #bytes: Uint8Array<ArrayBuffer>
  #used = false

  constructor(bytes: Uint8Array<ArrayBuffer>, init: ResponseInit, url: string) {
    super(null, init)
    this.#bytes = bytes
    Object.defineProperty(this, 'url', { value: url })
  }

  override get bodyUsed(): boolean {
    return this.#used
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const bytes = this.#take()
    return new ReadableStream({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes)
        controller.close()
      },
    })
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take()
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer
    return bytes.slice().buffer
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#take()
  }

  override async text(): Promise<string> {
    return new TextDecoder().decode(this.#take())
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  #take(): Uint8Array<ArrayBuffer> {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read')
    this.#used = true
    return this.#bytes
  }
}

/** Bodies up to this size that declare their length are received straight into one buffer. */
const PREALLOCATE_LIMIT = 256 << 20

/** Node's http answers in chunks; with a Content-Length the body is copied once, into its final buffer. */
function readBody(response: http.IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const declared = Number(response.headers['content-length'])
    const chunks: Buffer[] = []
    const preallocate = Number.isSafeInteger(declared) && declared >= 0 && declared <= PREALLOCATE_LIMIT
    let out = preallocate ? new Uint8Array(declared) : undefined
    let length = 0
    let ended = false
    response.on('data', (chunk: Buffer) => {
      if (out !== undefined && length + chunk.length <= out.length) out.set(chunk, length)
      else {
        if (out !== undefined) chunks.push(Buffer.from(out.buffer, 0, length))
        out = undefined
        chunks.push(chunk)
      }
      length += chunk.length
    })
    response.on('end', () => {
      ended = true
      if (out !== undefined && length === out.length) resolve(out)
      else if (out !== undefined)
        reject(new TypeError(`terminated: body ended after ${length} of ${out.length} bytes`))
      else resolve(new Uint8Array(Buffer.concat(chunks, length)))
    })
    response.on('error', (cause) => reject(new TypeError('terminated', { cause })))
    // A connection closed mid-body may end the stream without 'end' or 'error'.
    response.on('close', () => {
      if (!ended) reject(new TypeError(`terminated: connection closed after ${length} bytes of the body`))
    })
  })
}

function headersOf(response: http.IncomingMessage): Headers {
  const headers = new Headers()
  const raw = response.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  return headers
}

/**
 * A `fetch` for Node that sends GET and HEAD requests without a body through `node:http`/`node:https`
 * with keep-alive connections, and everything else to `fallback`. Node's own `fetch` parses HTTP in
 * WebAssembly and streams bodies through web streams: reading a 100 MB dataset from a local Kubo
 * costs about twice the CPU (bench/notes.md). Failures behave as `fetch`'s: network errors are
 * `TypeError`s, an aborted signal rejects with its reason, HTTP errors are responses.
 *
 * @example
 * ```ts
 * import { KuboStore } from 'ts-hamt'
 * import { nodeHttpFetch } from 'ts-hamt/node'
 * const store = new KuboStore({ rpcUrl: null, gatewayUrl: 'http://127.0.0.1:8080', fetch: nodeHttpFetch() })
 * ```
 */
export function nodeHttpFetch(options: NodeHttpFetchOptions = {}): typeof globalThis.fetch {
  const maxSockets = options.maxSockets ?? 32
  if (!Number.isSafeInteger(maxSockets) || maxSockets < 1) {
    throw new InvalidArgumentError(`maxSockets must be a positive integer, got ${String(options.maxSockets)}`)
  }
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets }),
    'https:': new https.Agent({ keepAlive: true, maxSockets }),
  }
  const fallback = options.fallback ?? globalThis.fetch.bind(globalThis)

  return async function fetch(input, init = {}) {
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase()
    const url = new URL(input instanceof Request ? input.url : String(input))
    const plain = (method === 'GET' || method === 'HEAD') && init.body == null && !(input instanceof Request)
    const agent = agents[url.protocol as keyof typeof agents]
    if (!plain || agent === undefined) return fallback(input, init)
    init.signal?.throwIfAborted()
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method,
        agent,
        headers: Object.fromEntries(new Headers(init.headers)),
        signal: init.signal ?? undefined,
      })
      request.on('response', resolve)
      request.on('error', (cause) => {
        reject(init.signal?.aborted ? init.signal.reason : new TypeError('fetch failed', { cause }))
      })
      request.end()
    })
    // Redirects are rare on a gateway; the fallback follows them as fetch does.
    const status = response.statusCode ?? 0
    if (status >= 300 && status < 400 && response.headers.location !== undefined) {
      response.resume()
      return fallback(input, init)
    }
    const body = await readBody(response).catch((error: unknown) => {
      throw init.signal?.aborted ? init.signal.reason : error
    })
    const nullBody = method === 'HEAD' || status === 204 || status === 304
    return new BufferedResponse(
      nullBody ? new Uint8Array(0) : body,
      { status, statusText: response.statusMessage ?? '', headers: headersOf(response) },
      url.href,
    )
  }
}
