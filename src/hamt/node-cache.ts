import { IdMap } from '../cas/id-map.js'
import type { StoreId } from '../cas/interface.js'
import type { Node } from './node.js'

type Entry = { id: StoreId; node: Node; bytes: number; used: boolean; live: boolean }

/**
 * Clean nodes by ID, bounded by the sum of their encoded sizes, evicting with the second-chance
 * (CLOCK) rule: a hit only sets a flag, and eviction passes over flagged entries once. A strict LRU
 * re-inserted the entry on every hit, which cost 20% of a warm get.
 * Clean nodes are immutable, so one cached node can serve every reader at once.
 */
export class NodeCache {
  readonly #entries = new IdMap<Entry>()
  /** Eviction order, oldest first from `#head`; removed entries stay until passed (`live` false). */
  #queue: Entry[] = []
  #head = 0
  #bytes = 0
  readonly #maxBytes: number

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get(id: StoreId): Node | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    entry.used = true
    return entry.node
  }

  /** The encoded size of a cached node, without counting as a use. */
  sizeOf(id: StoreId): number | undefined {
    return this.#entries.get(id)?.bytes
  }

  set(id: StoreId, node: Node, bytes: number): void {
    if (bytes > this.#maxBytes) return
    const previous = this.#entries.get(id)
    if (previous !== undefined) {
      previous.live = false
      this.#bytes -= previous.bytes
    }
    const entry: Entry = { id, node, bytes, used: false, live: true }
    this.#entries.set(id, entry)
    this.#queue.push(entry)
    this.#bytes += bytes
    this.#evict()
  }

  #evict(): void {
    while (this.#bytes > this.#maxBytes && this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head++] as Entry
      if (!entry.live) continue
      if (entry.used) {
        entry.used = false
        this.#queue.push(entry)
        continue
      }
      entry.live = false
      this.#entries.delete(entry.id)
      this.#bytes -= entry.bytes
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  clear(): void {
    this.#entries.clear()
    this.#queue = []
    this.#head = 0
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
