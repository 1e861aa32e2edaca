import { ByteLru } from '../util/byte-lru.js'
import type { ShardEntry } from './interface.js'

/** Rough bytes one cached entry costs: a slot in the array, plus a CID object when set. */
const SLOT_BYTES = 8
const CID_BYTES = 120

/**
 * Decoded shards by key (`path` + shard number), least recently used evicted first once their
 * estimated size passes `maxBytes`. A dirty shard (changed since its last save) is never evicted:
 * it is the only copy of those changes until flush.
 */
export class ShardCache {
  readonly #dirty = new Set<string>()
  readonly #shards: ByteLru<string, ShardEntry[]>
  /** Counts changes to dirty shards (for garbage collection: ask again once it moved). */
  changes = 0

  constructor(maxBytes: number) {
    this.#shards = new ByteLru(maxBytes, (key) => this.#dirty.has(key))
  }

  /** The cached shard (marked most recently used), or undefined. */
  get(key: string): ShardEntry[] | undefined {
    return this.#shards.get(key)
  }

  has(key: string): boolean {
    return this.#shards.has(key)
  }

  /** Caches a shard; `dirty` pins it until {@link ShardCache.markClean}. */
  put(key: string, entries: ShardEntry[], dirty = false): void {
    this.discard(key)
    if (dirty) {
      this.#dirty.add(key)
      this.changes++
    }
    this.#shards.set(key, entries, estimateBytes(entries))
  }

  /** Sets one entry of a cached shard and marks the shard dirty. */
  setEntry(key: string, position: number, entry: ShardEntry): void {
    const entries = this.#shards.peek(key)
    if (entries === undefined) throw new Error(`shard ${key} is not cached`)
    const before = entries[position] === null ? 0 : CID_BYTES
    entries[position] = entry
    const delta = (entry === null ? 0 : CID_BYTES) - before
    this.#dirty.add(key)
    this.changes++
    this.#shards.resize(key, (this.#shards.sizeOf(key) as number) + delta)
  }

  isDirty(key: string): boolean {
    return this.#dirty.has(key)
  }

  /** Keys of the shards with unflushed changes. */
  dirtyKeys(): string[] {
    return [...this.#dirty]
  }

  /** The entries of the shards with unflushed changes. */
  *dirtyEntries(): Iterable<readonly ShardEntry[]> {
    for (const key of this.#dirty) {
      const entries = this.#shards.peek(key)
      if (entries !== undefined) yield entries
    }
  }

  markClean(key: string): void {
    this.#dirty.delete(key)
    this.#shards.evict()
  }

  /** Forgets a shard, dirty or not. */
  discard(key: string): void {
    this.#shards.delete(key)
    this.#dirty.delete(key)
  }

  clear(): void {
    this.#shards.clear()
    this.#dirty.clear()
  }

  /** Estimated bytes held, number of shards cached and how many of them are dirty. */
  stats(): { bytes: number; shards: number; dirty: number } {
    return { bytes: this.#shards.bytes, shards: this.#shards.size, dirty: this.#dirty.size }
  }
}

function estimateBytes(entries: readonly ShardEntry[]): number {
  let bytes = entries.length * SLOT_BYTES
  for (const entry of entries) if (entry !== null) bytes += CID_BYTES
  return bytes
}
