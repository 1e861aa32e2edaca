/**
 * Values by key, least recently used evicted first once their sizes pass `maxBytes`. A key that
 * `pinned` says must stay (a dirty shard, the only copy of its changes) is passed over. A value
 * larger than the whole budget is not kept. Sizes are the caller's estimate, in bytes.
 */
export class ByteLru<K, V> {
  readonly #entries = new Map<K, { value: V; bytes: number }>()
  readonly #maxBytes: number
  readonly #pinned: ((key: K) => boolean) | undefined
  #bytes = 0

  constructor(maxBytes: number, pinned?: (key: K) => boolean) {
    this.#maxBytes = maxBytes
    this.#pinned = pinned
  }

  /** The value (now the most recently used), or undefined. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry.value
  }

  /** The value without counting as a use. */
  peek(key: K): V | undefined {
    return this.#entries.get(key)?.value
  }

  has(key: K): boolean {
    return this.#entries.has(key)
  }

  /** Keeps `value` as the most recently used, then evicts down to the budget. */
  set(key: K, value: V, bytes: number): void {
    this.delete(key)
    if (bytes > this.#maxBytes && this.#pinned?.(key) !== true) return
    this.#entries.set(key, { value, bytes })
    this.#bytes += bytes
    this.evict()
  }

  /** Changes the size of a kept value (it changed in place), then evicts down to the budget. */
  resize(key: K, bytes: number): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    this.#bytes += bytes - entry.bytes
    entry.bytes = bytes
    this.evict()
  }

  sizeOf(key: K): number | undefined {
    return this.#entries.get(key)?.bytes
  }

  delete(key: K): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    this.#entries.delete(key)
    this.#bytes -= entry.bytes
  }

  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  /** Evicts the least recently used unpinned values until the budget holds (or only pinned ones are left). */
  evict(): void {
    if (this.#bytes <= this.#maxBytes) return
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) return
      if (this.#pinned?.(key) === true) continue
      this.#entries.delete(key)
      this.#bytes -= entry.bytes
    }
  }

  get bytes(): number {
    return this.#bytes
  }

  get size(): number {
    return this.#entries.size
  }
}
