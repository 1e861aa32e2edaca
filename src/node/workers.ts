import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { copyBytes } from '../cas/id.js'
import type { Blake3Digest } from '../cas/verify.js'
import { InvalidArgumentError, OutOfMemoryError } from '../errors.js'
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

/** The Emscripten module of @foxglove/wasm-zstd: its own wrapper does not check that malloc succeeded. */
type FoxgloveModule = {
  _malloc(bytes: number): number
  _free(pointer: number): void
  _decompress(dst: number, dstSize: number, src: number, srcSize: number): number
  HEAPU8: Uint8Array
}
/** What a decode in the module gave: the bytes, or that its memory cannot grow to hold them. */
type Decompressed = { out: Uint8Array } | { outOfMemory: true }

/**
 * Decompresses in a module of our own, in a worker (as source text) and in this thread alike: a failed
 * malloc (memory that cannot grow) is 0, from which the package's wrapper would copy and decode.
 */
const DECOMPRESS_SOURCE = `(mod, frame, size) => {
  const src = mod._malloc(frame.length)
  const dst = src === 0 ? 0 : mod._malloc(size)
  // Room for libzstd's context (about 160 KiB, malloc'd in _decompress): without it, a refusal.
  const context = dst === 0 ? 0 : mod._malloc(1 << 20)
  if (context !== 0) mod._free(context)
  if (context === 0) {
    if (src !== 0) mod._free(src)
    if (dst !== 0) mod._free(dst)
    return { outOfMemory: true }
  }
  try {
    mod.HEAPU8.set(frame, src)
    const length = mod._decompress(dst, size, src, frame.length)
    if (length === -1) throw new Error('Error during decompression')
    return { out: mod.HEAPU8.slice(dst, dst + length) }
  } finally {
    mod._free(src)
    mod._free(dst)
  }
}`
const decompress = new Function(`return ${DECOMPRESS_SOURCE}`)() as (
  mod: FoxgloveModule,
  frame: Uint8Array,
  size: number,
) => Decompressed

// @foxglove/wasm-zstd is the fastest WebAssembly zstd on the benchmark's chunks (bench/zstd.ts), but
// it loads its .wasm with fs: Node only, hence here and not in the browser-safe codec.
const require = createRequire(import.meta.url)
// Its Emscripten factory, not its index: each thread makes a module whose malloc results it sees.
const MODULES = {
  zstd: require.resolve('@foxglove/wasm-zstd/dist/wasm-zstd.js'),
  hashWasm: require.resolve('hash-wasm'),
}
/** This thread's module, made on first use. */
let zstdHere: Promise<FoxgloveModule> | undefined
/** Posting a block to a thread costs a copy and a round trip; below this, hashing in place is cheaper. */
const SMALL_BLOCK = 64 << 10

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const zstd = require(workerData.zstd)()
const decompress = ${DECOMPRESS_SOURCE}
const hasher = require(workerData.hashWasm).createBLAKE3(256)
async function run(task) {
  if (task.op === 'blake3') {
    const h = await hasher
    h.init()
    h.update(task.bytes)
    return h.digest('binary')
  }
  return decompress(await zstd, task.frame, task.size)
}
parentPort.on('message', async (task) => {
  try {
    const answer = await run(task)
    if (answer.outOfMemory) return parentPort.postMessage({ id: task.id, outOfMemory: true })
    const out = answer.out ?? answer
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
/** A thread's module could not allocate a decode's buffers: the caller names the frame. */
class WasmOutOfMemory extends Error {}

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
    type Answer = { id: number; out?: Uint8Array; error?: string; outOfMemory?: true }
    this.#worker.on('message', ({ id, out, error, outOfMemory }: Answer) => {
      const pending = this.#pending.get(id)
      this.#pending.delete(id)
      if (this.#pending.size === 0) this.#worker.unref()
      if (out !== undefined) pending?.resolve(out)
      else if (outOfMemory) pending?.reject(new WasmOutOfMemory())
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
    zstdHere ??= (require(MODULES.zstd) as () => Promise<FoxgloveModule>)()
    const answer = decompress(await zstdHere, task.frame, task.size)
    if ('out' in answer) return answer.out
    throw new WasmOutOfMemory()
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
  const decodeZstd = (task: Task & { op: 'zstd' }): Promise<Uint8Array> =>
    run(task).catch((error: unknown) => {
      if (!(error instanceof WasmOutOfMemory)) throw error
      throw new OutOfMemoryError(
        `@foxglove/wasm-zstd cannot allocate ${task.size} bytes for a zstd frame of ${task.frame.length} bytes: its WebAssembly memory cannot grow that far`,
      )
    })
  return {
    zstdDecoder: {
      name: 'nodeWorkers',
      decode: (frame, size) => decodeZstd({ op: 'zstd', frame, size }),
      decodeUnsized: (frame, maxSize) => decodeZstd({ op: 'zstd', frame, size: maxSize, unsized: true }),
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
