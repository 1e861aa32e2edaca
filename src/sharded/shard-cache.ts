import type { ShardEntry } from './interface.js'

/** Rough bytes one cached entry costs: a slot in the array, plus a CID object when set. */
const SLOT_BYTES = 8
const CID_BYTES = 120

type Cached = { entries: ShardEntry[]; bytes: number }

/**
 * Decoded shards by key (`path` + shard number), least recently used evicted first once their
 * estimated size passes `maxBytes`. A dirty shard (changed since its last save) is never evicted:
 * it is the only copy of those changes until flush.
 */
export class ShardCache {
  readonly #shards = new Map<string, Cached>()
  readonly #dirty = new Set<string>()
  readonly #maxBytes: number
  #bytes = 0

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** The cached shard (marked most recently used), or undefined. */
  get(key: string): ShardEntry[] | undefined {
    const cached = this.#shards.get(key)
    if (cached === undefined) return undefined
    this.#shards.delete(key)
    this.#shards.set(key, cached)
    return cached.entries
  }

  has(key: string): boolean {
    return this.#shards.has(key)
  }

  /** Caches a shard; `dirty` pins it until {@link ShardCache.markClean}. */
  put(key: string, entries: ShardEntry[], dirty = false): void {
    this.discard(key)
    const cached = { entries, bytes: estimateBytes(entries) }
    this.#shards.set(key, cached)
    this.#bytes += cached.bytes
    if (dirty) this.#dirty.add(key)
    this.#evict()
  }

  /** Sets one entry of a cached shard and marks the shard dirty. */
  setEntry(key: string, position: number, entry: ShardEntry): void {
    const cached = this.#shards.get(key)
    if (cached === undefined) throw new Error(`shard ${key} is not cached`)
    const before = cached.entries[position] === null ? 0 : CID_BYTES
    cached.entries[position] = entry
    const delta = (entry === null ? 0 : CID_BYTES) - before
    cached.bytes += delta
    this.#bytes += delta
    this.#dirty.add(key)
    this.#evict()
  }

  isDirty(key: string): boolean {
    return this.#dirty.has(key)
  }

  /** Keys of the shards with unflushed changes. */
  dirtyKeys(): string[] {
    return [...this.#dirty]
  }

  markClean(key: string): void {
    this.#dirty.delete(key)
    this.#evict()
  }

  /** Forgets a shard, dirty or not. */
  discard(key: string): void {
    const cached = this.#shards.get(key)
    if (cached === undefined) return
    this.#shards.delete(key)
    this.#dirty.delete(key)
    this.#bytes -= cached.bytes
  }

  clear(): void {
    this.#shards.clear()
    this.#dirty.clear()
    this.#bytes = 0
  }

  /** Estimated bytes held, number of shards cached and how many of them are dirty. */
  stats(): { bytes: number; shards: number; dirty: number } {
    return { bytes: this.#bytes, shards: this.#shards.size, dirty: this.#dirty.size }
  }

  #evict(): void {
    if (this.#bytes <= this.#maxBytes) return
    for (const [key, cached] of this.#shards) {
      if (this.#bytes <= this.#maxBytes) return
      if (this.#dirty.has(key)) continue
      this.#shards.delete(key)
      this.#bytes -= cached.bytes
    }
  }
}

function estimateBytes(entries: readonly ShardEntry[]): number {
  let bytes = entries.length * SLOT_BYTES
  for (const entry of entries) if (entry !== null) bytes += CID_BYTES
  return bytes
}
