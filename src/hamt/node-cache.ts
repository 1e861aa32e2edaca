import type { Node } from './node.js'

type Entry = { node: Node; bytes: number }

/**
 * Clean nodes by ID, least recently used first out, bounded by the sum of their encoded sizes.
 * Clean nodes are immutable, so one cached node can serve every reader at once.
 */
export class NodeCache {
  readonly #entries = new Map<string, Entry>()
  #bytes = 0
  #maxBytes: number

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get(key: string): Node | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    // Re-insert to mark as most recently used: Map keeps insertion order.
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry.node
  }

  set(key: string, node: Node, bytes: number): void {
    if (bytes > this.#maxBytes) return
    const previous = this.#entries.get(key)
    if (previous !== undefined) {
      this.#bytes -= previous.bytes
      this.#entries.delete(key)
    }
    this.#entries.set(key, { node, bytes })
    this.#bytes += bytes
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break
      this.#entries.delete(oldest)
      this.#bytes -= entry.bytes
    }
  }

  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  /** Encoded bytes of the cached nodes. */
  get bytes(): number {
    return this.#bytes
  }

  get count(): number {
    return this.#entries.size
  }
}
