// A small HTTP/1.1 client over `net` for nodeHttpFetch's plain-http GETs. node:http hands a body over
// in 64 KiB Buffers through its parser and a stream (about 0.15 s of main-thread CPU for the Zarr
// benchmark's 80 MB); here a body with a declared length up to `preallocate` bytes is read by the
// socket straight into its final buffer (`onread` with the buffer's unfilled part, ~0.05 s), and
// every other body (chunked, until close, larger, content-encoded) is streamed through a Readable.
import type { IncomingHttpHeaders } from 'node:http'
import net from 'node:net'
import { Readable } from 'node:stream'

/** Longest response head accepted (node:http's default `maxHeaderSize`). */
const MAX_HEAD = 16 * 1024
/** Longest chunk-size line (with extensions) or trailer line of a chunked body. */
const MAX_LINE = 4096
/** Where the socket reads when it is not reading into a body. */
const SCRATCH = 64 * 1024

/** The answer to one request: status, headers, and the body as a Readable (the one node:http's shape). */
export class RawMessage extends Readable {
  statusCode = 0
  statusMessage = ''
  /** Header names in lower case; repeated headers joined with `, ` (set-cookie kept as a list). */
  headers: IncomingHttpHeaders = {}
  rawHeaders: string[] = []
  /** True once the whole body has arrived. */
  complete = false
  /**
   * With a declared length up to the preallocation limit: the body, filled in place by the socket;
   * resolved when complete. The Readable side then yields it whole, once.
   */
  whole: Promise<Uint8Array<ArrayBuffer>> | undefined
  #onRead: () => void
  #onDestroy: (error: Error | null) => void

  constructor(onRead: () => void, onDestroy: (error: Error | null) => void) {
    super()
    this.#onRead = onRead
    this.#onDestroy = onDestroy
  }

  override _read(): void {
    this.#onRead()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#onDestroy(error)
    callback(error)
  }
}

/** A request that went out on a kept-alive connection the server had already closed. */
export class StaleConnection extends Error {}

type Framing =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked' }
  | { kind: 'close' }

type Pending = {
  message: RawMessage
  head: boolean
  resolve: (message: RawMessage) => void
  reject: (error: Error) => void
  /** Bytes of the response seen so far (0: the server may have closed an idle connection). */
  seen: number
}

/** One kept-alive connection; carries one request at a time. */
class Connection {
  readonly socket: net.Socket
  #pool: Pool
  #scratch = new Uint8Array(SCRATCH)
  /** Bytes of a response head (or chunk line) gathered so far. */
  #head: Uint8Array = new Uint8Array(0)
  #pending: Pending | undefined
  #framing: Framing = { kind: 'none' }
  #keepAlive = true
  /** The body being filled in place, and how much of it is. */
  #whole:
    | {
        bytes: Uint8Array<ArrayBuffer>
        filled: number
        resolve: (b: Uint8Array<ArrayBuffer>) => void
        reject: (e: Error) => void
      }
    | undefined
  #chunk: 'size' | 'data' | 'crlf' | 'trailer' = 'size'
  #chunkLeft = 0
  #paused = false
  /** How many requests this connection has carried. */
  used = 0
  closed = false

  constructor(pool: Pool) {
    this.#pool = pool
    this.socket = net.connect({
      host: pool.host,
      port: pool.port,
      onread: {
        buffer: () => {
          const whole = this.#whole
          return whole !== undefined ? whole.bytes.subarray(whole.filled) : this.#scratch
        },
        callback: (n: number, buffer: Uint8Array) => this.#onData(n, buffer),
      },
    } as net.NetConnectOpts)
    this.socket.setNoDelay(true)
    this.socket.on('error', (error) => this.#fail(error))
    this.socket.on('end', () => this.#onEnd())
    this.socket.on('close', () => this.#fail(new Error('connection closed')))
  }

  send(request: string, message: RawMessage, head: boolean): Promise<RawMessage> {
    this.used++
    this.#head = new Uint8Array(0)
    this.#framing = { kind: 'none' }
    this.#keepAlive = true
    return new Promise((resolve, reject) => {
      this.#pending = { message, head, resolve, reject, seen: 0 }
      this.socket.write(request, 'latin1')
    })
  }

  /** Pauses reading while a streamed body's reader is behind. */
  pause(): void {
    if (!this.#paused) {
      this.#paused = true
      this.socket.pause()
    }
  }

  resume(): void {
    if (this.#paused) {
      this.#paused = false
      this.socket.resume()
    }
  }

  destroy(): void {
    this.socket.destroy()
  }

  #onData(n: number, buffer: Uint8Array): boolean {
    const pending = this.#pending
    if (pending === undefined) {
      // Bytes while idle (junk after a response, or a close notice): the connection is not reused.
      this.#fail(new Error('unexpected bytes on an idle connection'))
      return false
    }
    pending.seen += n
    try {
      const whole = this.#whole
      if (whole !== undefined) {
        whole.filled += n
        if (whole.filled === whole.bytes.length) {
          this.#whole = undefined
          this.#finish(false)
          whole.resolve(whole.bytes)
        }
        return true
      }
      this.#consume(buffer.subarray(0, n))
    } catch (error) {
      this.#fail(error as Error)
    }
    return true
  }

  /** Takes bytes read into the scratch buffer: head, then body per its framing. */
  #consume(bytes: Uint8Array): void {
    let rest = bytes
    while (rest.length > 0 && this.#pending !== undefined) {
      rest = this.#pending.message.statusCode === 0 ? this.#takeHead(rest) : this.#takeBody(rest)
    }
    // Bytes past the response's end were junk: #finish closed the connection.
  }

  /**
   * One CRLF-ended line of a chunked body (a size line, a chunk's end, a trailer), from what was
   * kept of it before and `bytes`; undefined (and kept) until its end arrives.
   */
  #takeLine(bytes: Uint8Array): { line: string; rest: Uint8Array } | undefined {
    const kept = this.#head.length
    // Only as much of `bytes` as a line may take is joined to what was kept.
    const joined = this.#appendHead(bytes.subarray(0, MAX_LINE + 2), Number.POSITIVE_INFINITY)
    const end = indexOfCrlf(joined, 1)
    if (end < 0) {
      if (joined.length > MAX_LINE) throw new Error('chunk line too long')
      this.#head = joined
      return undefined
    }
    this.#head = new Uint8Array(0)
    const line = Buffer.from(joined.buffer, joined.byteOffset, end).toString('latin1')
    return { line, rest: bytes.subarray(end + 2 - kept) }
  }

  #appendHead(bytes: Uint8Array, max: number): Uint8Array<ArrayBuffer> {
    const head = new Uint8Array(this.#head.length + bytes.length)
    head.set(this.#head)
    head.set(bytes, this.#head.length)
    // A head of `max` bytes may still be waiting for the last 3 bytes of its CRLF CRLF.
    if (head.length > max + 3 && indexOfCrlf(head, 2) < 0) throw new Error('response head too large')
    return head
  }

  #takeHead(bytes: Uint8Array): Uint8Array {
    const kept = this.#head.length
    // Only as much of `bytes` as a head may take is joined: the body behind it stays where it was read.
    const head = this.#appendHead(bytes.subarray(0, MAX_HEAD + 4), MAX_HEAD)
    const end = indexOfCrlf(head, 2)
    if (end < 0) {
      this.#head = head
      return new Uint8Array(0)
    }
    if (end > MAX_HEAD) throw new Error('response head too large')
    this.#head = new Uint8Array(0)
    const rest = bytes.subarray(end + 4 - kept)
    const pending = this.#pending as Pending
    const lines = Buffer.from(head.buffer, head.byteOffset, end).toString('latin1').split('\r\n')
    const status = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/.exec(lines[0] as string)
    if (status === null) throw new Error('malformed status line')
    const code = Number(status[2])
    const message = pending.message
    const headers: IncomingHttpHeaders = {}
    const raw: string[] = []
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon)
      if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new Error('malformed header line')
      const value = line.slice(colon + 1).trim()
      raw.push(name, value)
      const key = name.toLowerCase()
      const before = headers[key]
      if (key === 'set-cookie') headers[key] = [...((before as string[] | undefined) ?? []), value]
      else headers[key] = before === undefined ? value : `${before as string}, ${value}`
    }
    if (code < 200) {
      if (code === 101) throw new Error('unexpected protocol switch')
      return rest // 100 Continue, 103 Early Hints: the answer follows
    }
    const connection = String(headers.connection ?? '').toLowerCase()
    if (status[1] === '0' || connection.split(',').some((t) => t.trim() === 'close')) this.#keepAlive = false
    const encoding = headers['transfer-encoding']
    const length = headers['content-length']
    if (pending.head || code === 204 || code === 304) this.#framing = { kind: 'none' }
    else if (encoding !== undefined) {
      const codings = String(encoding)
        .split(',')
        .map((t) => t.trim().toLowerCase())
      if (codings.at(-1) !== 'chunked') throw new Error(`unsupported transfer-encoding ${String(encoding)}`)
      if (length !== undefined) this.#keepAlive = false
      this.#framing = { kind: 'chunked' }
      this.#chunk = 'size'
    } else if (length !== undefined) {
      const values = new Set(
        String(length)
          .split(',')
          .map((v) => v.trim()),
      )
      const declared = values.size === 1 ? ([...values][0] as string) : ''
      if (!/^\d{1,16}$/.test(declared) || !Number.isSafeInteger(Number(declared))) {
        throw new Error(`malformed content-length ${String(length)}`)
      }
      this.#framing = { kind: 'length', remaining: Number(declared) }
    } else this.#framing = { kind: 'close' }
    // Only a head that parsed whole makes an answer (a failure before this is the request's).
    message.statusCode = code
    message.statusMessage = status[3] ?? ''
    message.headers = headers
    message.rawHeaders = raw
    const framing = this.#framing
    const plain = headers['content-encoding'] === undefined
    if (
      framing.kind === 'length' &&
      plain &&
      framing.remaining > 0 &&
      framing.remaining <= this.#pool.preallocate
    ) {
      // Read in place: what came with the head first, then the socket fills the rest.
      // Not zeroed (every byte is written before it is handed out; a cut body is dropped): ~10 ms
      // less for 80 MB than a zero-filled array, which the allocator clears first.
      const bytes = new Uint8Array(Buffer.allocUnsafeSlow(framing.remaining).buffer)
      const first = rest.subarray(0, bytes.length)
      bytes.set(first)
      let resolveWhole!: (b: Uint8Array<ArrayBuffer>) => void
      let rejectWhole!: (e: Error) => void
      message.whole = new Promise((resolve, reject) => {
        resolveWhole = resolve
        rejectWhole = reject
      })
      // Read by bytes() or not at all: a rejection nobody awaits is not unhandled.
      message.whole.catch(() => {})
      message.whole.then(
        (body) => {
          if (message.destroyed) return
          message.push(body)
          message.push(null)
        },
        () => {},
      )
      this.#whole = { bytes, filled: first.length, resolve: resolveWhole, reject: rejectWhole }
      if (rest.length > bytes.length) this.#keepAlive = false
      pending.resolve(message)
      if (first.length === bytes.length) {
        const whole = this.#whole
        this.#whole = undefined
        this.#finish(false)
        whole.resolve(bytes)
      }
      return new Uint8Array(0)
    }
    pending.resolve(message)
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.remaining === 0)) {
      this.#finish(rest.length > 0)
      message.push(null)
    }
    return rest
  }

  /** Body bytes for a streamed body; returns what is left past the body's end. */
  #takeBody(bytes: Uint8Array): Uint8Array {
    const message = (this.#pending as Pending).message
    const framing = this.#framing
    const deliver = (part: Uint8Array): void => {
      // A copy: the scratch buffer is read into again.
      if (part.length > 0 && !message.push(Buffer.from(part))) this.pause()
    }
    if (framing.kind === 'close') {
      deliver(bytes)
      return new Uint8Array(0)
    }
    if (framing.kind === 'length') {
      const part = bytes.subarray(0, framing.remaining)
      framing.remaining -= part.length
      deliver(part)
      if (framing.remaining === 0) {
        this.#finish(bytes.length > part.length)
        message.push(null)
      }
      return bytes.subarray(part.length)
    }
    if (framing.kind === 'chunked') {
      let rest = bytes
      while (rest.length > 0 && this.#pending !== undefined) {
        if (this.#chunk === 'data') {
          const part = rest.subarray(0, this.#chunkLeft)
          this.#chunkLeft -= part.length
          deliver(part)
          rest = rest.subarray(part.length)
          if (this.#chunkLeft === 0) this.#chunk = 'crlf'
          continue
        }
        const taken = this.#takeLine(rest)
        if (taken === undefined) return new Uint8Array(0)
        rest = taken.rest
        const text = taken.line
        if (this.#chunk === 'crlf') {
          if (text !== '') throw new Error('malformed chunk end')
          this.#chunk = 'size'
        } else if (this.#chunk === 'size') {
          const size = /^([0-9A-Fa-f]{1,13})[ \t]*(;.*)?$/.exec(text)
          if (size === null) throw new Error('malformed chunk size')
          this.#chunkLeft = Number.parseInt(size[1] as string, 16)
          this.#chunk = this.#chunkLeft === 0 ? 'trailer' : 'data'
        } else if (text === '') {
          // The end of the trailers: the body is complete.
          this.#finish(rest.length > 0)
          message.push(null)
          return rest
        }
      }
      return rest
    }
    return bytes
  }

  /**
   * The response is complete: the connection goes back to the pool, or is closed when the server
   * said so, or sent bytes past the response's end (`extra`).
   */
  #finish(extra: boolean): void {
    const pending = this.#pending
    if (pending === undefined) return
    pending.message.complete = true
    this.#pending = undefined
    this.resume()
    if (this.#keepAlive && !extra && !this.closed) this.#pool.release(this)
    else {
      this.#pool.drop(this)
      this.destroy()
    }
  }

  #onEnd(): void {
    if (
      this.#pending !== undefined &&
      this.#framing.kind === 'close' &&
      this.#pending.message.statusCode !== 0
    ) {
      this.#keepAlive = false
      const message = this.#pending.message
      this.#finish(false)
      message.push(null)
      return
    }
    this.#fail(new Error('connection closed'))
  }

  /** The connection is gone: the request in flight, if any, fails. */
  #fail(error: Error): void {
    if (!this.closed) {
      this.closed = true
      this.#pool.drop(this)
      this.socket.destroy()
    }
    const pending = this.#pending
    this.#pending = undefined
    if (pending === undefined) return
    const whole = this.#whole
    this.#whole = undefined
    if (pending.message.statusCode === 0) {
      const code = (error as { code?: unknown }).code
      const stale =
        this.used > 1 &&
        pending.seen === 0 &&
        (code === undefined || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED')
      pending.reject(
        stale ? new StaleConnection('the server closed the connection', { cause: error }) : error,
      )
      return
    }
    const cut = new TypeError('terminated: connection closed before the body ended', { cause: error })
    whole?.reject(cut)
    // As node:http's messages: an error event only for a reader listening (others see the close).
    const message = pending.message
    if (!message.destroyed) message.destroy(message.listenerCount('error') > 0 ? cut : undefined)
  }

  /** The reader gave up on the body (destroyed it): the connection cannot be reused. */
  abandon(message: RawMessage): void {
    if (this.#pending?.message === message) {
      this.#whole?.reject(new TypeError('terminated: the body was abandoned'))
      this.#whole = undefined
      this.#fail(new Error('the body was abandoned'))
    }
  }
}

/** The index of `\r\n` (`pairs` 1) or `\r\n\r\n` (`pairs` 2) in `bytes`, or -1. */
function indexOfCrlf(bytes: Uint8Array, pairs: 1 | 2): number {
  const needle = pairs === 1 ? 2 : 4
  for (let i = 0; i + needle <= bytes.length; i++) {
    if (
      bytes[i] === 13 &&
      bytes[i + 1] === 10 &&
      (pairs === 1 || (bytes[i + 2] === 13 && bytes[i + 3] === 10))
    ) {
      return i
    }
  }
  return -1
}

/** Kept-alive connections to one host and port, at most `maxSockets` at once. */
export class Pool {
  readonly #idle: Connection[] = []
  readonly #all = new Set<Connection>()
  readonly #waiting: Array<(connection: Connection | undefined) => void> = []

  constructor(
    readonly host: string,
    readonly port: number,
    readonly maxSockets: number,
    readonly preallocate: number,
  ) {}

  /** Sends a request (its head only: GET and HEAD carry no body) and resolves with the answer's head. */
  async request(request: string, head: boolean, signal?: AbortSignal): Promise<RawMessage> {
    const connection = await this.#acquire(signal)
    let onAbort: (() => void) | undefined
    const message = new RawMessage(
      () => {
        if (!message.complete) connection.resume()
      },
      (error) => {
        if (signal !== undefined && onAbort !== undefined) signal.removeEventListener('abort', onAbort)
        if (!message.complete || error !== null) connection.abandon(message)
      },
    )
    if (signal !== undefined) {
      onAbort = () => {
        connection.abandon(message)
        const reason = message.listenerCount('error') > 0 ? (signal.reason as Error) : undefined
        if (!message.destroyed) message.destroy(reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      message.on('end', () => signal.removeEventListener('abort', onAbort as () => void))
    }
    try {
      return await connection.send(request, message, head)
    } catch (error) {
      if (signal !== undefined && onAbort !== undefined) signal.removeEventListener('abort', onAbort)
      throw error
    }
  }

  #acquire(signal?: AbortSignal): Promise<Connection> {
    signal?.throwIfAborted()
    const idle = this.#idle.pop()
    if (idle !== undefined) {
      idle.socket.ref()
      return Promise.resolve(idle)
    }
    if (this.#all.size < this.maxSockets) {
      const connection = new Connection(this)
      this.#all.add(connection)
      return Promise.resolve(connection)
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(take)
        if (i >= 0) this.#waiting.splice(i, 1)
        reject(signal?.reason)
      }
      const take = (connection: Connection | undefined): void => {
        signal?.removeEventListener('abort', onAbort)
        if (connection !== undefined) resolve(connection)
        else resolve(this.#acquire(signal))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(take)
    })
  }

  /** A connection done with its request: to the next waiter, or idle. */
  release(connection: Connection): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next(connection)
    else {
      // As node:http's keep-alive agent: an idle connection does not keep the process alive.
      connection.socket.unref()
      this.#idle.push(connection)
    }
  }

  /** A connection closed: a waiter may open a new one. */
  drop(connection: Connection): void {
    const i = this.#idle.indexOf(connection)
    if (i >= 0) this.#idle.splice(i, 1)
    if (this.#all.delete(connection)) this.#waiting.shift()?.(undefined)
  }
}
