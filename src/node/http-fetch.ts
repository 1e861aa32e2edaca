import type { IncomingMessage } from 'node:http'
import { pipeline, type Readable, type Transform } from 'node:stream'
import zlib from 'node:zlib'
import { InvalidArgumentError } from '../errors.js'
import { Pool, type RawMessage, StaleConnection } from './http1.js'
import { zstdBodyDecoder } from './zstd-body.js'

/** An answer's head and body: node:http's `IncomingMessage`, or our HTTP/1.1 client's `RawMessage`. */
type Incoming = IncomingMessage | RawMessage

export interface NodeHttpFetchOptions {
  /** Connections kept open per host; default 32 (the HTTP client's default concurrency). */
  maxSockets?: number
  /** The fetch that handles every other request (with a body, or answered by a redirect); default the global one. */
  fallback?: typeof globalThis.fetch
}

type NodeResponseClass = ReturnType<typeof defineNodeResponse>
/** Made at the first answer: `extends Response` loads Node's fetch (undici), 15-40 ms of CPU on Node 20. */
let nodeResponse: NodeResponseClass | undefined

/** A {@link defineNodeResponse} response (the class made on the first call). */
function newNodeResponse(...args: ConstructorParameters<NodeResponseClass>): Response {
  nodeResponse ??= defineNodeResponse()
  return new nodeResponse(...args)
}

/**
 * A response over Node's `IncomingMessage`, returned as soon as the headers arrive: `arrayBuffer()`
 * and friends read the message directly (no trip through web streams, which cost Node's `fetch`
 * about 1 ms for each 500 KB body), while `body` streams it, so a reader can stop at any length.
 * A content-encoded body is decoded as fetch decodes it, as it is read.
 */
function defineNodeResponse() {
  return class NodeResponse extends Response {
    readonly #message: Incoming
    /** The message, or the last of the decoders it is piped through. */
    readonly #source: Readable
    readonly #signal: AbortSignal | undefined
    readonly #empty: boolean
    #used = false
    #stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined

    constructor(message: Incoming, init: ResponseInit, url: string, empty: boolean, signal?: AbortSignal) {
      super(null, init)
      this.#message = message
      this.#signal = signal
      this.#empty = empty
      this.#source = empty ? message : decoded(message)
      if (empty) message.resume()
      Object.defineProperty(this, 'url', { value: url })
    }

    override get bodyUsed(): boolean {
      return this.#used
    }

    override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
      if (this.#stream === undefined) {
        this.#stream = this.#empty ? null : streamOf(this.#message, this.#source, this.#signal)
      }
      return this.#stream
    }

    override async arrayBuffer(): Promise<ArrayBuffer> {
      const bytes = await this.bytes()
      if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer
      return bytes.slice().buffer
    }

    override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
      if (this.#used || this.#stream != null)
        throw new TypeError('Body is unusable: Body has already been read')
      this.#used = true
      if (this.#empty) return new Uint8Array(0)
      const whole =
        'whole' in this.#message && this.#source === this.#message ? this.#message.whole : undefined
      // A declared length is the length on the wire: it sizes the buffer only for a body not encoded.
      const declared =
        this.#source === this.#message ? Number(this.#message.headers['content-length']) : Number.NaN
      return (whole ?? readBody(this.#source, declared)).catch((error: unknown) => {
        throw this.#signal?.aborted ? this.#signal.reason : error
      })
    }

    override async text(): Promise<string> {
      return new TextDecoder().decode(await this.bytes())
    }

    override async json(): Promise<unknown> {
      return JSON.parse(await this.text())
    }
  }
}

/** As fetch decodes them: at most this many codings are undone, and unknown ones are left as they are. */
const MAX_CODINGS = 5

function decoderFor(coding: string): Transform | undefined {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip()
    case 'deflate':
      return zlib.createInflate()
    case 'br':
      return zlib.createBrotliDecompress()
    case 'zstd':
      return zstdBodyDecoder() // Node 22.15+ and 23.8+ only
    default:
      return undefined
  }
}

/**
 * The message's body with its `Content-Encoding` undone (the last coding applied first). A body in
 * a coding we cannot undo is handed over as it came, as fetch hands it over.
 */
function decoded(message: Incoming): Readable {
  const codings = (message.headers['content-encoding'] ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
  if (codings.length === 0 || codings.length > MAX_CODINGS) return message
  const decoders = codings.reverse().map(decoderFor)
  if (!decoders.every((decoder) => decoder !== undefined)) {
    for (const decoder of decoders) decoder?.destroy()
    return message
  }
  // A failure anywhere (a cut connection, a corrupt stream) destroys every stage with that error.
  return pipeline([message, ...decoders], () => {}) as unknown as Readable
}

/** The body as a web stream that fails as fetch's do (TypeError, or the abort reason); cancel closes the connection. */
function streamOf(
  message: Incoming,
  source: Readable,
  signal?: AbortSignal,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  return new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next()
        if (!done)
          controller.enqueue(new Uint8Array(value.buffer as ArrayBuffer, value.byteOffset, value.length))
        else if (message.complete) controller.close()
        else throw new Error('connection closed before the body ended')
      } catch (cause) {
        controller.error(signal?.aborted ? signal.reason : new TypeError('terminated', { cause }))
      }
    },
    cancel() {
      source.destroy()
      message.destroy()
    },
  })
}

/**
 * Bodies that declare their length are received straight into one buffer up to this size; beyond
 * it, a declared length is only a claim, so the body is gathered as it arrives.
 */
const PREALLOCATE_LIMIT = 4 << 20

/** Node's http answers in chunks; with a declared length the body is copied once, into its final buffer. */
function readBody(source: Readable, declared: number): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const preallocate = Number.isSafeInteger(declared) && declared >= 0 && declared <= PREALLOCATE_LIMIT
    let out = preallocate ? new Uint8Array(declared) : undefined
    let length = 0
    let ended = false
    source.on('data', (chunk: Buffer) => {
      if (out !== undefined && length + chunk.length <= out.length) out.set(chunk, length)
      else {
        if (out !== undefined) chunks.push(Buffer.from(out.buffer, 0, length))
        out = undefined
        chunks.push(chunk)
      }
      length += chunk.length
    })
    source.on('end', () => {
      ended = true
      if (out !== undefined && length === out.length) resolve(out)
      else if (out !== undefined)
        reject(new TypeError(`terminated: body ended after ${length} of ${out.length} bytes`))
      else resolve(new Uint8Array(Buffer.concat(chunks, length)))
    })
    source.on('error', (cause) => reject(new TypeError('terminated', { cause })))
    // A connection closed mid-body may end the stream without 'end' or 'error'.
    source.on('close', () => {
      if (!ended) reject(new TypeError(`terminated: connection closed after ${length} bytes of the body`))
    })
    // Destroyed before this read began (a bad chunk in the read that brought the head): its 'close' is past.
    if (source.destroyed && !ended) reject(new TypeError('terminated: the body failed before it was read'))
  })
}

function headersOf(response: Incoming): Headers {
  const headers = new Headers()
  const raw = response.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  return headers
}

/** A request sent on a kept-alive connection that the server had closed: nothing reached it. */
class StaleSocket extends Error {}

/** Errors of a connection closed under a request before any answer (a reset, a write to a closed socket). */
function closedBeforeAnswer(cause: unknown): boolean {
  const code = (cause as { code?: unknown })?.code
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED'
}

/**
 * Sends a GET until it goes out on a connection the server still has. A server may close a
 * kept-alive connection at any time (nginx after `keepalive_requests` or its idle timeout) and a
 * request may be on the way on it; such a request never reached the server, so it is sent again at
 * once (as Node's docs advise). Each failed try destroys one stale pooled socket, so after at most
 * `maxSockets` of them a new connection is made; past that the failure is the caller's.
 */
async function sendOnLiveSocket(send: () => Promise<Incoming>, maxSockets: number): Promise<Incoming> {
  for (let tries = 0; ; tries++) {
    try {
      return await send()
    } catch (error) {
      if (!(error instanceof StaleSocket || error instanceof StaleConnection)) throw error
      if (tries >= maxSockets) throw new TypeError('fetch failed', { cause: error.cause })
    }
  }
}

/**
 * A `fetch` for Node that sends GET and HEAD requests without a body over keep-alive connections
 * (`http:` with a small HTTP/1.1 client of its own that reads a body of declared length, up to
 * 4 MiB, straight into its final buffer; `https:` through `node:https`), and everything else to
 * `fallback`. Node's own `fetch` parses HTTP in WebAssembly and streams bodies through web streams:
 * reading a 100 MB dataset from a local Kubo costs about twice the CPU (bench/notes.md), and
 * `node:http` hands bodies over in 64 KiB pieces (a third of the main thread's work left in that read). Failures behave as `fetch`'s: network errors are
 * `TypeError`s, an aborted signal rejects with its reason, HTTP errors are responses. A body sent
 * with `Content-Encoding` gzip, deflate or br (zstd where `node:zlib` has it) is decoded as it is
 * read, as `fetch` does, so a reader's length limit counts decoded bytes. A request that went out
 * on a kept-alive connection the server had just closed is sent again on another. HTTP/1.1 only:
 * `node:http` has no HTTP/2 (see the README for what each runtime negotiates).
 *
 * @example
 * ```ts
 * import { KuboStore } from 'ts-hamt'
 * import { nodeHttpFetch } from 'ts-hamt/node'
 * const store = new KuboStore({ rpcUrl: null, gateways: 'http://127.0.0.1:8080', fetch: nodeHttpFetch() })
 * ```
 */
export function nodeHttpFetch(options: NodeHttpFetchOptions = {}): typeof globalThis.fetch {
  const maxSockets = options.maxSockets ?? 32
  if (!Number.isSafeInteger(maxSockets) || maxSockets < 1) {
    throw new InvalidArgumentError(`maxSockets must be a positive integer, got ${String(options.maxSockets)}`)
  }
  // Loaded here, not at import: in Node 24 node:http loads Node's fetch (undici), ~70 ms of CPU.
  const http = process.getBuiltinModule('node:http')
  const https = process.getBuiltinModule('node:https')
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets }),
    'https:': new https.Agent({ keepAlive: true, maxSockets }),
  }
  const fallback = options.fallback ?? globalThis.fetch.bind(globalThis)
  // Plain http goes through our HTTP/1.1 client (./http1.ts), one pool per host and port.
  const pools = new Map<string, Pool>()
  const poolFor = (url: URL): Pool => {
    const key = url.host
    let pool = pools.get(key)
    if (pool === undefined) {
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
      pool = new Pool(host, Number(url.port || 80), maxSockets, PREALLOCATE_LIMIT)
      pools.set(key, pool)
    }
    return pool
  }

  return async function fetch(input, init = {}) {
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase()
    const url = new URL(input instanceof Request ? input.url : String(input))
    const plain = (method === 'GET' || method === 'HEAD') && init.body == null && !(input instanceof Request)
    const agent = agents[url.protocol as keyof typeof agents]
    if (!plain || agent === undefined) return fallback(input, init)
    init.signal?.throwIfAborted()
    const headers = new Headers(init.headers)
    const raw = url.protocol === 'http:' && url.username === '' && url.password === ''
    const sendRaw = async (): Promise<Incoming> => {
      let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\n`
      if (!headers.has('host')) head += `Host: ${url.host}\r\n`
      for (const [name, value] of headers) head += `${name}: ${value}\r\n`
      if (!headers.has('connection')) head += 'Connection: keep-alive\r\n'
      try {
        return await poolFor(url).request(`${head}\r\n`, method === 'HEAD', init.signal ?? undefined)
      } catch (cause) {
        if (init.signal?.aborted) throw init.signal.reason
        if (cause instanceof StaleConnection) throw cause
        throw new TypeError('fetch failed', { cause })
      }
    }
    const send = (): Promise<Incoming> =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const request = (url.protocol === 'https:' ? https : http).request(url, {
          method,
          agent,
          headers: Object.fromEntries(headers),
          signal: init.signal ?? undefined,
        })
        request.on('response', resolve)
        request.on('error', (cause) => {
          if (init.signal?.aborted) reject(init.signal.reason)
          else if (request.reusedSocket && closedBeforeAnswer(cause))
            reject(new StaleSocket('the server closed the connection', { cause }))
          else reject(new TypeError('fetch failed', { cause }))
        })
        request.end()
      })
    const response = await sendOnLiveSocket(raw ? sendRaw : send, maxSockets)
    // Redirects are rare on a gateway: with `redirect: 'manual'` the caller sees them (HttpClient
    // decides which headers the next origin may get); otherwise the fallback follows them as fetch does.
    const status = response.statusCode ?? 0
    if (status >= 300 && status < 400 && response.headers.location !== undefined) {
      if (init.redirect === 'manual') {
        response.destroy() // its body is not wanted, and may not end
        return newNodeResponse(
          response,
          { status, statusText: response.statusMessage ?? '', headers: headersOf(response) },
          url.href,
          true,
        )
      }
      response.resume()
      if (init.redirect === 'error') throw new TypeError(`fetch failed: ${url.href} redirected`)
      return fallback(input, init)
    }
    const nullBody = method === 'HEAD' || status === 204 || status === 304
    return newNodeResponse(
      response,
      { status, statusText: response.statusMessage ?? '', headers: headersOf(response) },
      url.href,
      nullBody,
      init.signal ?? undefined,
    )
  }
}
