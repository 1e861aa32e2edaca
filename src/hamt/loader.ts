import { formatId, ownBytes } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../cas/interface.js'
import {
  READ_NOW,
  type ReadsNow,
  readsNow,
  SAVE_INTO,
  SAVE_NOW,
  type SavesNow,
  savesNow,
} from '../cas/read-now.js'
import { HamtError, StoreError } from '../errors.js'
import { observing, timeNodeLoad, traceLoad } from '../telemetry/hooks.js'
import { type Flight, SingleFlight } from '../util/single-flight.js'
import { type Bucket, type Link, type Node, placeLength, placeStart } from './node.js'
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
  return rejectingCall(call).catch((err: unknown) => {
    throw storeFailure(what, err, signal)
  })
}

/** What a failed store call throws (see {@link callStore}), for a caller that awaits the call itself. */
export function storeFailure(what: () => string, err: unknown, signal: AbortSignal | undefined): unknown {
  if (isPassThrough(err) || (signal?.aborted === true && err === signal.reason)) return err
  return new StoreError(`${what()} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

/** `call()`, with a synchronous throw turned into a rejection. */
function rejectingCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call()
  } catch (err) {
    return Promise.reject(err)
  }
}

/** Loads nodes through a byte-bounded cache of clean nodes; the only path from store to nodes. */
export class NodeLoader {
  readonly cache: NodeCache
  readonly #store: ContentAddressedStore
  /** The store when it hands blocks over without a promise (MemoryStore). */
  readonly #readsNow: ReadsNow | undefined
  /** The store when it saves blocks without a promise (MemoryStore). */
  readonly #savesNow: SavesNow | undefined
  /** Loads under way: concurrent lookups through the same uncached node fetch it once. */
  readonly #loading = new SingleFlight<StoreId, Node>(new IdMap<Flight<Node>>())

  constructor(store: ContentAddressedStore, cacheBytes: number) {
    this.#store = store
    this.#readsNow = readsNow(store)
    this.#savesNow = savesNow(store)
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
    if (this.cache.get(id) === undefined) this.cache.set(id, decodeBlock(id, bytes), bytes.length)
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
    return { node: decodeBlock(id, bytes), bytes: bytes.length }
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

  /**
   * The node a link points to if it can be had without waiting: in memory, or read, decoded and
   * cached now from a store that holds its blocks in memory; else undefined (see {@link NodeLoader.load}).
   * A block that is not a node throws here. Not while telemetry observes: loads are traced there.
   */
  followNow(link: Link): Node | undefined {
    const node = link.node ?? this.cache.follow(link)
    if (node !== undefined || this.#readsNow === undefined || observing()) return node
    const id = link.id as StoreId
    // `?.`: a store whose prototype was swapped since may have lost the method; its `load` is asked then.
    const bytes = this.#readsNow[READ_NOW]?.(id, this.#readsNow)
    if (bytes === undefined) return undefined
    const loaded = decodeBlock(id, bytes)
    this.cache.set(id, loaded, bytes.length)
    return loaded
  }

  /**
   * A value's bytes (a copy of its own; with `borrow` maybe the store's, see `READ_NOW`) if the store
   * hands them over without waiting; else undefined.
   */
  valueNow(pointer: StoreId, borrow = false): Uint8Array | undefined {
    return this.#readsNow === undefined || observing()
      ? undefined
      : this.#readsNow[READ_NOW]?.(pointer, this.#readsNow, borrow)
  }

  /**
   * {@link NodeLoader.valueNow} (borrowed) of the pointer at `index` in `bucket`, read where it sits
   * in its node block when held as a place: no view of it made (6-9% of a warm get, measured).
   */
  valueInBucketNow(bucket: Bucket, index: number): Uint8Array | undefined {
    const readsNow = this.#readsNow
    if (readsNow === undefined || observing()) return undefined
    const held = bucket.heldAt(index)
    return typeof held === 'number'
      ? readsNow[READ_NOW]?.(bucket.block, readsNow, true, placeStart(held), placeLength(held))
      : readsNow[READ_NOW]?.(held, readsNow, true)
  }

  // Not async: an async function returning a promise adds two microtask ticks to every call.
  loadValue(pointer: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return this.loadValueUnwrapped(pointer, options).catch((err: unknown) => {
      throw valueLoadFailure(pointer, err, options?.signal)
    })
  }

  /**
   * The store's own load of a value, errors unwrapped: for a hot caller that awaits it at once and
   * throws {@link valueLoadFailure} on failure, saving callStore's promise and closures.
   */
  loadValueUnwrapped(pointer: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    try {
      return traceLoad(this.#store, pointer, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The ID of `data` saved now by a store that saves without a promise (see `SAVE_NOW`); else undefined. */
  saveNow(data: Uint8Array): StoreId | undefined {
    return this.#savesNow === undefined ? undefined : this.#savesNow[SAVE_NOW]?.(data, this.#savesNow)
  }

  /**
   * {@link NodeLoader.saveNow} with the ID's bytes written into `into` from `at`: their length, or 0
   * when the store cannot save at once (or the ID does not fit).
   */
  saveInto(data: Uint8Array, into: Uint8Array, at: number): number {
    return this.#savesNow === undefined
      ? 0
      : (this.#savesNow[SAVE_INTO]?.(data, this.#savesNow, into, at) ?? 0)
  }

  /** The store's own save, errors unwrapped (see {@link NodeLoader.loadValueUnwrapped}, {@link saveFailure}). */
  saveUnwrapped(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    try {
      return this.#store.save(data, codec, options)
    } catch (err) {
      return Promise.reject(err)
    }
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
    return this.saveUnwrapped(data, codec, options).catch((err: unknown) => {
      throw saveFailure(codec, err, options?.signal)
    })
  }
}

/**
 * The node in a block loaded for `id`. The decoder keeps views into the block (its IDs), so it gets
 * a block filling its own buffer: a view into a larger one (a CAR file, a pooled Buffer) is copied.
 */
function decodeBlock(id: StoreId, bytes: Uint8Array): Node {
  return decodeNode(ownBytes(bytes), () => formatId(id))
}

/** What {@link NodeLoader.loadValue} throws when the load fails with `err`. */
export function valueLoadFailure(pointer: StoreId, err: unknown, signal: AbortSignal | undefined): unknown {
  return storeFailure(() => `loading value ${formatId(pointer)}`, err, signal)
}

/** What {@link NodeLoader.save} throws when the save fails with `err`. */
export function saveFailure(codec: Codec, err: unknown, signal: AbortSignal | undefined): unknown {
  return storeFailure(() => `saving a ${codec} block`, err, signal)
}
