import { formatId, idKey } from '../cas/id.js'
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

/** Runs a store call, naming what failed when the store throws an error of its own kind. */
export async function callStore<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (isPassThrough(err)) throw err
    throw new StoreError(`${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}

/** Loads nodes through a byte-bounded cache of clean nodes; the only path from store to nodes. */
export class NodeLoader {
  readonly cache: NodeCache
  readonly #store: ContentAddressedStore

  constructor(store: ContentAddressedStore, cacheBytes: number) {
    this.#store = store
    this.cache = new NodeCache(cacheBytes)
  }

  async load(id: StoreId, options?: AbortOptions): Promise<Node> {
    const key = idKey(id)
    const cached = this.cache.get(key)
    if (cached !== undefined) return cached
    const name = formatId(id)
    const bytes = await callStore(`loading node ${name}`, () =>
      this.#store.load(id, { signal: options?.signal }),
    )
    const node = decodeNode(bytes, name)
    this.cache.set(key, node, bytes.length)
    return node
  }

  /** The node a link points to: in memory when dirty, else from cache or store. */
  async follow(link: Link, options?: AbortOptions): Promise<Node> {
    return link.node ?? this.load(link.id as StoreId, options)
  }

  async loadValue(pointer: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return callStore(`loading value ${formatId(pointer)}`, () => this.#store.load(pointer, options))
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    return callStore(`saving a ${codec} block`, () => this.#store.save(data, codec, options))
  }
}
