import { RwLock } from './rw-lock.js'

/**
 * One exclusive lock per key: `run(key, fn)` calls run one at a time per key, in arrival order
 * (a shard's load-modify cycle never interleaves with another on the same shard). A key's lock
 * exists only while someone holds or waits for it.
 */
export class KeyedMutex<K = string> {
  readonly #locks = new Map<K, RwLock>()

  async run<T>(key: K, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let lock = this.#locks.get(key)
    if (lock === undefined) {
      lock = new RwLock()
      this.#locks.set(key, lock)
    }
    try {
      return await lock.write(fn, signal)
    } finally {
      if (lock.idle && this.#locks.get(key) === lock) this.#locks.delete(key)
    }
  }

  /** True while a call of `key` runs or waits. */
  busy(key: K): boolean {
    return this.#locks.has(key)
  }

  /** Keys held or waited for (for tests: an idle mutex holds nothing). */
  get size(): number {
    return this.#locks.size
  }
}
