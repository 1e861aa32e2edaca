import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { InvalidArgumentError } from '../errors.js'
import type { ZstdDecoder } from '../zarr/zstd.js'

export interface NodeZstdOptions {
  /** Worker threads; 0 decodes in the calling thread. Default: one fewer than the CPUs, at most 4. */
  threads?: number
}

type FoxgloveZstd = { isLoaded: Promise<unknown>; decompress(frame: Uint8Array, size: number): Uint8Array }

// @foxglove/wasm-zstd is the fastest WebAssembly zstd on the benchmark's chunks (bench/zstd.ts), but
// it loads its .wasm with fs: Node only, hence here and not in the browser-safe codec.
const require = createRequire(import.meta.url)
const FOXGLOVE = require.resolve('@foxglove/wasm-zstd')

/** A worker decoding frames with the same decoder as the calling thread would. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const zstd = require(workerData.decoder)
parentPort.on('message', async ({ id, frame, size }) => {
  try {
    await zstd.isLoaded
    const decoded = zstd.decompress(frame, size)
    // A small Buffer is a view into Node's shared pool, which must not be transferred.
    const whole = decoded.byteOffset === 0 && decoded.byteLength === decoded.buffer.byteLength
    const out = whole ? new Uint8Array(decoded.buffer) : Uint8Array.prototype.slice.call(decoded)
    parentPort.postMessage({ id, out }, [out.buffer])
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) })
  }
})`

type Pending = { resolve: (out: Uint8Array) => void; reject: (error: Error) => void }

/** One worker thread and the decodes it has not answered yet. */
class DecodeThread {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #nextId = 0

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { decoder: FOXGLOVE } })
    this.#worker.unref() // an idle pool must not keep the process alive
    this.#worker.on('message', ({ id, out, error }: { id: number; out?: Uint8Array; error?: string }) => {
      const pending = this.#pending.get(id)
      this.#pending.delete(id)
      if (this.#pending.size === 0) this.#worker.unref()
      if (out !== undefined) pending?.resolve(out)
      else pending?.reject(new Error(`zstd worker: ${error}`))
    })
    this.#worker.on('error', (error) => this.#failAll(error))
    this.#worker.on('exit', (code) => this.#failAll(new Error(`zstd worker exited with code ${code}`)))
  }

  get load(): number {
    return this.#pending.size
  }

  decode(frame: Uint8Array, size: number): Promise<Uint8Array> {
    const id = this.#nextId++
    if (this.#pending.size === 0) this.#worker.ref() // answers are on their way
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      // The caller's buffer may be shared (a cache, a view of a larger block), so a copy goes; one
      // memcpy and a transfer cost about a fifth of what structured-cloning the view does.
      const copy = frame.slice()
      this.#worker.postMessage({ id, frame: copy, size }, [copy.buffer])
    })
  }

  terminate(): Promise<number> {
    return this.#worker.terminate()
  }

  #failAll(error: Error): void {
    for (const { reject } of this.#pending.values()) reject(error)
    this.#pending.clear()
  }
}

/**
 * A faster zstd decoder for {@link registerZstdCodec} in Node: @foxglove/wasm-zstd (1.4× zstddec per
 * chunk, bench/zstd.ts), on worker threads so that chunks decode on the other cores while the main
 * thread fetches, verifies and assembles. Each frame goes to the thread with the fewest waiting; a
 * failed decode falls back to the reference codec. Threads start at once; idle, they do not keep the
 * process alive; `close()` ends them.
 *
 * @example
 * ```ts
 * import { registerZstdCodec } from 'ts-hamt'
 * import { nodeZstdDecoder } from 'ts-hamt/node'
 * registerZstdCodec({ decoder: nodeZstdDecoder() })
 * ```
 */
export function nodeZstdDecoder(options: NodeZstdOptions = {}): ZstdDecoder & { close(): Promise<void> } {
  const threads = options.threads ?? Math.min(Math.max(availableParallelism() - 1, 1), 4)
  if (!Number.isSafeInteger(threads) || threads < 0) {
    throw new InvalidArgumentError(`threads must be a non-negative integer, got ${String(options.threads)}`)
  }
  let closed = false
  if (threads === 0) {
    const zstd = require(FOXGLOVE) as FoxgloveZstd
    return {
      async decode(frame, size) {
        if (closed) throw new Error('nodeZstdDecoder: closed')
        await zstd.isLoaded
        const out = zstd.decompress(frame, size) // a Buffer: handed on as a plain Uint8Array view
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
      },
      async close() {
        closed = true
      },
    }
  }
  const pool = Array.from({ length: threads }, () => new DecodeThread())
  return {
    decode(frame, size) {
      if (closed) throw new Error('nodeZstdDecoder: closed')
      const idlest = pool.reduce((best, thread) => (thread.load < best.load ? thread : best))
      return idlest.decode(frame, size)
    },
    async close() {
      closed = true
      await Promise.all(pool.map((thread) => thread.terminate()))
    },
  }
}
