import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { copyBytes } from '../cas/id.js'
import type { Blake3Digest } from '../cas/verify.js'
import { InvalidArgumentError } from '../errors.js'
import { blake3, loadBlake3 } from '../hash/blake3.js'
import type { ZstdDecoder } from '../zarr/zstd.js'
import { zlibDecoder } from '../zstd/zlib.js'
import { nativeBlake3Digest } from './native-blake3.js'

export interface NodeWorkersOptions {
  /**
   * Worker threads for the WebAssembly builds; 0 works in the calling thread. Default: one fewer
   * than the CPUs, at most 4. They start with the first task that needs them.
   */
  threads?: number
  /**
   * Use what the runtime does natively where it can (default true): zstd with Node's `zlib` (22.15+,
   * already off the main thread) and BLAKE3 with `@napi-rs/blake-hash` when installed. Each beat
   * its WebAssembly build on a worker thread in a whole Zarr read; `false` sends both to the threads.
   */
  native?: boolean
}

/** What {@link nodeWorkers} gives: a zstd decoder and a BLAKE3 hasher sharing one set of threads. */
export interface NodeWorkers {
  /** For `registerZstdCodec({ decoder })`. */
  readonly zstdDecoder: ZstdDecoder
  /** For `new KuboStore({ blake3Digest })`: blocks under 64 KiB are hashed in the calling thread. */
  readonly blake3Digest: Blake3Digest
  /**
   * Ends the threads once the tasks called before it are answered; later calls reject with
   * `ERR_INVALID_ARGUMENT` (an `InvalidArgumentError` naming the closed pool).
   */
  close(): Promise<void>
}

type FoxgloveZstd = { isLoaded: Promise<unknown>; decompress(frame: Uint8Array, size: number): Uint8Array }

// @foxglove/wasm-zstd is the fastest WebAssembly zstd on the benchmark's chunks (bench/zstd.ts), but
// it loads its .wasm with fs: Node only, hence here and not in the browser-safe codec.
const require = createRequire(import.meta.url)
const MODULES = { zstd: require.resolve('@foxglove/wasm-zstd'), hashWasm: require.resolve('hash-wasm') }
/** Posting a block to a thread costs a copy and a round trip; below this, hashing in place is cheaper. */
const SMALL_BLOCK = 64 << 10

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const zstd = require(workerData.zstd)
const hasher = require(workerData.hashWasm).createBLAKE3(256)
async function run(task) {
  if (task.op === 'blake3') {
    const h = await hasher
    h.init()
    h.update(task.bytes)
    return h.digest('binary')
  }
  await zstd.isLoaded
  const decoded = zstd.decompress(task.frame, task.size)
  // A small Buffer is a view into Node's shared pool, which must not be transferred.
  const whole = decoded.byteOffset === 0 && decoded.byteLength === decoded.buffer.byteLength
  return whole ? new Uint8Array(decoded.buffer) : Uint8Array.prototype.slice.call(decoded)
}
parentPort.on('message', async (task) => {
  try {
    const out = await run(task)
    parentPort.postMessage({ id: task.id, out }, [out.buffer])
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String(error) })
  }
})`

/** `size` is the frame's declared size, or with `unsized` the most it may decode to (foxglove takes either). */
type Task =
  | { op: 'zstd'; frame: Uint8Array; size: number; unsized?: true }
  | { op: 'blake3'; bytes: Uint8Array }
type Pending = { resolve: (out: Uint8Array) => void; reject: (error: Error) => void }

/** A thread ended or failed with the task pending: no verdict on the task, which is run again here. */
class ThreadGone extends Error {}

/** One worker thread and the tasks it has not answered yet. */
class WorkerThread {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #nextId = 0
  /** Set once the thread has failed or exited: it takes no more tasks. */
  #dead = false

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: MODULES })
    this.#worker.unref() // an idle pool must not keep the process alive
    this.#worker.on('message', ({ id, out, error }: { id: number; out?: Uint8Array; error?: string }) => {
      const pending = this.#pending.get(id)
      this.#pending.delete(id)
      if (this.#pending.size === 0) this.#worker.unref()
      if (out !== undefined) pending?.resolve(out)
      else pending?.reject(new Error(`ts-hamt worker: ${error}`))
    })
    this.#worker.on('error', (error) =>
      this.#failAll(new ThreadGone('ts-hamt worker failed', { cause: error })),
    )
    this.#worker.on('exit', (code) =>
      this.#failAll(new ThreadGone(`ts-hamt worker exited with code ${code}`)),
    )
  }

  get load(): number {
    return this.#pending.size
  }

  /** The caller's buffer may be shared (a cache, a view of a larger block, a Buffer): a copy is transferred. */
  run(task: Task): Promise<Uint8Array> {
    const id = this.#nextId++
    if (this.#pending.size === 0) this.#worker.ref() // answers are on their way
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      const data = copyBytes(task.op === 'zstd' ? task.frame : task.bytes)
      const message = task.op === 'zstd' ? { ...task, id, frame: data } : { ...task, id, bytes: data }
      // One memcpy and a transfer cost about a fifth of structured-cloning the view.
      this.#worker.postMessage(message, [data.buffer])
    })
  }

  terminate(): Promise<number> {
    return this.#worker.terminate()
  }

  get alive(): boolean {
    return !this.#dead
  }

  #failAll(error: Error): void {
    this.#dead = true
    for (const { reject } of this.#pending.values()) reject(error)
    this.#pending.clear()
  }
}

/**
 * The CPU-heavy steps of reading Zarr from IPFS in Node, each where it costs least: zstd with Node's
 * `zlib` on libuv's threads and BLAKE3 with `@napi-rs/blake-hash` (native, in this thread: hashing
 * 500 KB takes less than posting it to a thread) where the runtime has them; otherwise zstd by
 * @foxglove/wasm-zstd (1.4× zstddec per chunk, bench/zstd.ts) and BLAKE3 of large blocks by hash-wasm
 * on worker threads, so that they run on the other cores while the main thread fetches and
 * assembles. Each task goes to the thread with the fewest waiting, and one whose thread dies under it
 * is done in the calling thread; a whole frame they refuse once they have decoded one is
 * ERR_INVALID_VALUE (the zstd codec does not ask numcodecs about it).
 * Threads start with the first task that needs them; idle, they do not keep the process alive.
 *
 * @example
 * ```ts
 * import { KuboStore } from 'ts-hamt'
 * import { nodeHttpFetch, nodeWorkers } from 'ts-hamt/node'
 * import { registerZstdCodec } from 'ts-hamt/zstd'
 * const workers = nodeWorkers()
 * registerZstdCodec({ decoder: workers.zstdDecoder })
 * const store = new KuboStore({ rpcUrl: null, fetch: nodeHttpFetch(), blake3Digest: workers.blake3Digest })
 * ```
 */
export function nodeWorkers(options: NodeWorkersOptions = {}): NodeWorkers {
  const threads = options.threads ?? Math.min(Math.max(availableParallelism() - 1, 1), 4)
  if (!Number.isSafeInteger(threads) || threads < 0) {
    throw new InvalidArgumentError(`threads must be a non-negative integer, got ${String(options.threads)}`)
  }
  const native = options.native ?? true
  if (typeof native !== 'boolean') {
    throw new InvalidArgumentError(`native must be a boolean, got ${String(options.native)}`)
  }
  const nativeZstd = native ? zlibDecoder : undefined
  const nativeBlake3 = native ? nativeBlake3Digest() : undefined
  let pool: WorkerThread[] | undefined
  /** Tasks given to the threads and not yet answered: close() lets them finish, as they were called before it. */
  const inFlight = new Set<Promise<unknown>>()
  let closed = false
  const open = (): void => {
    if (closed)
      throw new InvalidArgumentError(
        'nodeWorkers is closed: its zstdDecoder and blake3Digest take no more tasks',
      )
  }
  const inThread = async (task: Task): Promise<Uint8Array> => {
    if (task.op === 'blake3') {
      await loadBlake3()
      return blake3(task.bytes)
    }
    const zstd = require(MODULES.zstd) as FoxgloveZstd
    await zstd.isLoaded
    const out = zstd.decompress(task.frame, task.size) // a Buffer: handed on as a plain Uint8Array view
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }
  const run = async (task: Task): Promise<Uint8Array> => {
    open()
    if (task.op === 'zstd' && nativeZstd !== undefined) {
      const { frame, size } = task
      return task.unsized && nativeZstd.decodeUnsized
        ? nativeZstd.decodeUnsized(frame, size)
        : nativeZstd.decode(frame, size)
    }
    if (task.op === 'blake3' && nativeBlake3 !== undefined) {
      const digest = await nativeBlake3(task.bytes) // a Buffer: handed on as a plain Uint8Array view
      return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
    }
    // A small block is hashed here: posting it would cost more than hashing it.
    if (task.op === 'blake3' && task.bytes.length < SMALL_BLOCK) return inThread(task)
    pool ??= Array.from({ length: threads }, () => new WorkerThread())
    const alive = pool.filter((thread) => thread.alive)
    // No thread (threads: 0, or every one failed): the calling thread does it.
    if (alive.length === 0) return inThread(task)
    const thread = alive.reduce((best, thread) => (thread.load < best.load ? thread : best))
    // A thread that died says nothing of the task: the calling thread does it (the dead one gets no more).
    const answer = thread.run(task).catch((error: unknown) => {
      if (error instanceof ThreadGone) return inThread(task)
      throw error
    })
    const settled: Promise<unknown> = answer.then(
      () => inFlight.delete(settled),
      () => inFlight.delete(settled),
    )
    inFlight.add(settled)
    return answer
  }
  return {
    zstdDecoder: {
      name: 'nodeWorkers',
      decode: (frame, size) => run({ op: 'zstd', frame, size }),
      decodeUnsized: (frame, maxSize) => run({ op: 'zstd', frame, size: maxSize, unsized: true }),
    },
    blake3Digest: (bytes) => run({ op: 'blake3', bytes }),
    async close() {
      closed = true
      // A thread ended with a decode pending made its valid frame a refusal (ERR_INVALID_VALUE).
      await Promise.all([...inFlight])
      await Promise.all((pool ?? []).map((thread) => thread.terminate()))
    },
  }
}
