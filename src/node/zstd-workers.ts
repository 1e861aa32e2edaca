import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { InvalidArgumentError } from '../errors.js'
import type { ZstdDecoder } from '../zarr/zstd.js'

export interface ZstdWorkerOptions {
  /** Worker threads; default the number of CPUs the process may use, at most 4. */
  threads?: number
}

/** A worker decoding with zstddec: the same WebAssembly decoder as in the main thread. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const ready = import(workerData.zstddec).then(async ({ ZSTDDecoder }) => {
  const decoder = new ZSTDDecoder()
  await decoder.init()
  return decoder
})
parentPort.on('message', async ({ id, compressed, size }) => {
  try {
    const out = (await ready).decode(compressed, size)
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

  constructor(zstddecUrl: string) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstddec: zstddecUrl } })
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

  decode(compressed: Uint8Array, size: number): Promise<Uint8Array> {
    const id = this.#nextId++
    if (this.#pending.size === 0) this.#worker.ref() // answers are on their way
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      // Copied, not transferred: the caller's buffer may be shared (a cache, a view of a larger block).
      this.#worker.postMessage({ id, compressed, size })
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
 * A zstd decoder for {@link registerZstdCodec} that decompresses on worker threads, so that chunks
 * decode on every core while the main thread fetches and assembles. Each frame goes to the thread
 * with the fewest waiting; a failed decode falls back to the reference codec in the main thread.
 * The threads start at once; idle, they do not keep the process alive; `close()` ends them.
 *
 * @example
 * ```ts
 * import { registerZstdCodec } from 'ts-hamt'
 * import { zstdWorkerDecoder } from 'ts-hamt/node'
 * registerZstdCodec({ decoder: zstdWorkerDecoder() })
 * ```
 */
export function zstdWorkerDecoder(options: ZstdWorkerOptions = {}): ZstdDecoder & { close(): Promise<void> } {
  const threads = options.threads ?? Math.min(availableParallelism(), 4)
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new InvalidArgumentError(`threads must be a positive integer, got ${String(options.threads)}`)
  }
  const zstddecUrl = import.meta.resolve('zstddec')
  // Started now, so that they are ready by the time the first chunks arrive.
  const pool = Array.from({ length: threads }, () => new DecodeThread(zstddecUrl))
  return {
    decode(compressed, size) {
      if (pool.length === 0) throw new Error('zstdWorkerDecoder: closed')
      const idlest = pool.reduce((best, thread) => (thread.load < best.load ? thread : best))
      return idlest.decode(compressed, size)
    },
    async close() {
      await Promise.all(pool.splice(0).map((thread) => thread.terminate()))
    },
  }
}
