import { formatId } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../cas/interface.js'
import { HamtError, StoreError } from '../errors.js'
import { timeNodeLoad, traceLoad } from '../telemetry/hooks.js'
import { type Flight, SingleFlight } from '../util/single-flight.js'
import type { Link, Node } from './node.js'
import { NodeCache } from './node-cache.js'
import { decodeNode } from './node-decoder.js'

/** Errors we pass through untouched: our own typed ones and the caller's abort. */
function isPassThrough(err: unknown): boolean {
  return (
    err instanceof HamtError ||
    (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))
  )
}

/**
 * Runs a store call, naming what failed when the store throws an error of its own kind. `what` is a
 * function so that the label (hex of an ID) is only built on failure, not on every call. The reason
 * of the call's `signal`, whatever its type, is the caller's own abort: it passes untouched.
 */
export function callStore<T>(what: () => string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let pending: Promise<T>
  try {
    pending = call()
  } catch (err) {
    pending = Promise.reject(err)
  }
  return pending.catch((err: unknown) => {
    if (isPassThrough(err) || (signal?.aborted === true && err === signal.reason)) throw err
    throw new StoreError(`${what()} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  })
}

/** Loads nodes through a byte-bounded cache of clean nodes; the only path from store to nodes. */
export class NodeLoader {
  readonly cache: NodeCache
  readonly #store: ContentAddressedStore
  /** Loads under way: concurrent lookups through the same uncached node fetch it once. */
  readonly #loading = new SingleFlight<StoreId, Node>(new IdMap<Flight<Node>>())

  constructor(store: ContentAddressedStore, cacheBytes: number) {
    this.#store = store
    this.cache = new NodeCache(cacheBytes)
  }

  async load(id: StoreId, options?: AbortOptions): Promise<Node> {
    const cached = this.cache.get(id)
    if (cached !== undefined) return cached
    return this.#loading.run(
      id,
      (signal) => this.#loadFromStore(id, signal),
      options?.signal,
      () => this.cache.get(id),
    )
  }

  /** Caches the node of a block the caller already loaded from the store for `id`. */
  prime(id: StoreId, bytes: Uint8Array): void {
    if (this.cache.get(id) === undefined) this.cache.set(id, decodeNode(bytes, formatId(id)), bytes.length)
  }

  async #loadFromStore(id: StoreId, signal: AbortSignal | undefined): Promise<Node> {
    const { node, bytes } = await timeNodeLoad(() => this.#read(id, signal))
    this.cache.set(id, node, bytes)
    return node
  }

  async #read(id: StoreId, signal: AbortSignal | undefined): Promise<{ node: Node; bytes: number }> {
    const bytes = await callStore(
      () => `loading node ${formatId(id)}`,
      () => traceLoad(this.#store, id, { signal }),
      signal,
    )
    return { node: decodeNode(bytes, formatId(id)), bytes: bytes.length }
  }

  /**
   * The node a link points to and its encoded size (undefined for a dirty node), for a walk over
   * every node: a node not in memory is read without caching it, so one scan of the tree does not
   * push out the nodes lookups use (and the walk itself reads each node once).
   */
  async scan(link: Link, options?: AbortOptions): Promise<{ node: Node; bytes: number | undefined }> {
    if (link.node !== undefined) return { node: link.node, bytes: undefined }
    const id = link.id as StoreId
    const cached = this.cache.get(id)
    if (cached !== undefined) return { node: cached, bytes: this.cache.sizeOf(id) }
    return this.#read(id, options?.signal)
  }

  /** The node a link points to: in memory when dirty, else from cache or store. */
  async follow(link: Link, options?: AbortOptions): Promise<Node> {
    return this.inMemory(link) ?? this.load(link.id as StoreId, options)
  }

  /** The node a link points to if it is in memory (dirty or cached), without waiting; else undefined. */
  inMemory(link: Link): Node | undefined {
    return link.node ?? this.cache.follow(link)
  }

  // Not async: an async function returning a promise adds two microtask ticks to every call.
  loadValue(pointer: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return callStore(
      () => `loading value ${formatId(pointer)}`,
      () => traceLoad(this.#store, pointer, options),
      options?.signal,
    )
  }

  /** Lets a buffering store write out what it holds (see `ContentAddressedStore.flush`). */
  async flushStore(options?: AbortOptions): Promise<void> {
    const store = this.#store
    if (typeof store.flush !== 'function') return
    await callStore(
      () => 'writing buffered blocks to the store',
      () => (store.flush as (options?: AbortOptions) => Promise<void>).call(store, options),
      options?.signal,
    )
  }

  save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    return callStore(
      () => `saving a ${codec} block`,
      () => this.#store.save(data, codec, options),
      options?.signal,
    )
  }
}
