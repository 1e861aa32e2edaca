import { formatId } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../cas/interface.js'
import { HamtError, StoreError } from '../errors.js'
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

/** `promise`, or the signal's abort reason as soon as it fires (a joined load is not waited out). */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * Runs a store call, naming what failed when the store throws an error of its own kind. `what` is a
 * function so that the label (hex of an ID) is only built on failure, not on every call.
 */
export function callStore<T>(what: () => string, call: () => Promise<T>): Promise<T> {
  let pending: Promise<T>
  try {
    pending = call()
  } catch (err) {
    pending = Promise.reject(err)
  }
  return pending.catch((err: unknown) => {
    if (isPassThrough(err)) throw err
    throw new StoreError(`${what()} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  })
}

/** Loads nodes through a byte-bounded cache of clean nodes; the only path from store to nodes. */
export class NodeLoader {
  readonly cache: NodeCache
  readonly #store: ContentAddressedStore
  /** Loads under way: concurrent lookups through the same uncached node fetch it once. */
  readonly #loading = new IdMap<{ promise: Promise<Node>; signal: AbortSignal | undefined }>()

  constructor(store: ContentAddressedStore, cacheBytes: number) {
    this.#store = store
    this.cache = new NodeCache(cacheBytes)
  }

  async load(id: StoreId, options?: AbortOptions): Promise<Node> {
    for (;;) {
      const cached = this.cache.get(id)
      if (cached !== undefined) return cached
      const shared = this.#loading.get(id)
      if (shared === undefined) break
      try {
        return await withSignal(shared.promise, options?.signal)
      } catch (error) {
        // The load's owner gave up (its signal, not ours): load it again, or join whoever did.
        if (options?.signal?.aborted || shared.signal?.aborted !== true) throw error
        if (this.#loading.get(id) === shared) this.#loading.delete(id)
      }
    }
    const loading = { promise: this.#loadFromStore(id, options), signal: options?.signal }
    this.#loading.set(id, loading)
    try {
      return await loading.promise
    } finally {
      if (this.#loading.get(id) === loading) this.#loading.delete(id)
    }
  }

  async #loadFromStore(id: StoreId, options?: AbortOptions): Promise<Node> {
    const bytes = await callStore(
      () => `loading node ${formatId(id)}`,
      () => this.#store.load(id, { signal: options?.signal }),
    )
    const node = decodeNode(bytes, formatId(id))
    this.cache.set(id, node, bytes.length)
    return node
  }

  /** The node a link points to: in memory when dirty, else from cache or store. */
  async follow(link: Link, options?: AbortOptions): Promise<Node> {
    return this.inMemory(link) ?? this.load(link.id as StoreId, options)
  }

  /** The node a link points to if it is in memory (dirty or cached), without waiting; else undefined. */
  inMemory(link: Link): Node | undefined {
    return link.node ?? this.cache.get(link.id as StoreId)
  }

  async loadValue(pointer: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return callStore(
      () => `loading value ${formatId(pointer)}`,
      () => this.#store.load(pointer, options),
    )
  }

  /** Lets a buffering store write out what it holds (see `ContentAddressedStore.flush`). */
  async flushStore(options?: AbortOptions): Promise<void> {
    const store = this.#store
    if (typeof store.flush !== 'function') return
    await callStore(
      () => 'writing buffered blocks to the store',
      () => (store.flush as (options?: AbortOptions) => Promise<void>).call(store, options),
    )
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    return callStore(
      () => `saving a ${codec} block`,
      () => this.#store.save(data, codec, options),
    )
  }
}
