import { ownId } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { StoreId } from '../cas/interface.js'
import type { CachedNode, Link, Node } from './node.js'

type Entry = CachedNode & { id: StoreId; node: Node | undefined; bytes: number; live: boolean }

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

  /** The cached node a stored link points to, through the link's memo of its entry when it has one. */
  follow(link: Link): Node | undefined {
    const memo = link.cached
    if (memo !== undefined && memo.owner === this) {
      const node = memo.node
      if (node !== undefined) {
        memo.used = true
        return node
      }
    }
    const entry = this.#entries.get(link.id as StoreId)
    if (entry === undefined) return undefined
    entry.used = true
    link.cached = entry
    return entry.node
  }

  /** The encoded size of a cached node, without counting as a use. */
  sizeOf(id: StoreId): number | undefined {
    return this.#entries.get(id)?.bytes
  }

  set(given: StoreId, node: Node, bytes: number): void {
    if (bytes > this.#maxBytes) return
    // The key outlives the link it came from, which is a view into the parent node's block.
    const id = ownId(given)
    const previous = this.#entries.get(id)
    if (previous !== undefined) this.#drop(previous)
    const entry: Entry = { id, node, bytes, used: false, live: true, owner: this }
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
      this.#entries.delete(entry.id)
      this.#drop(entry)
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  /** Lets an entry's node go: links that remember the entry find it empty. */
  #drop(entry: Entry): void {
    entry.live = false
    entry.node = undefined
    this.#bytes -= entry.bytes
  }

  clear(): void {
    for (const [, entry] of this.#entries.entries()) this.#drop(entry)
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
