import { KeyedMutex } from '../util/keyed-mutex.js'
import { RwLock } from '../util/rw-lock.js'

/**
 * The order a sharded store's calls take effect in: the call order, as a HAMT's. Structural changes
 * (metadata, resizes, deletes, flush) hold the structure lock alone; chunk reads and writes share it,
 * and writes of one key apply in call order (a chunk upload may take longer than a later delete).
 */
export class ShardedCallOrder {
  readonly #structure = new RwLock()
  readonly #keyOrder = new KeyedMutex()

  /** Runs `fn` alone, after every call made before it; `signal` ends the wait. */
  structural<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#structure.write(fn, signal)
  }

  /**
   * A read of `key` after the writes called before it: structural writes by the lock's turn, and a
   * chunk write of the same key (whose upload may still run) by the key's order.
   */
  read<T>(key: string, read: () => Promise<T>): Promise<T> {
    return this.#structure.read(() => (this.#keyOrder.busy(key) ? this.#keyOrder.run(key, read) : read()))
  }

  /**
   * Runs a write of `key`, its place in the structure lock taken now, before any upload, so a later
   * flush, resize or metadata write sees it. `shared` (a chunk of a settled layout): beside other
   * chunk writes, in call order per key; else alone. `write` is told whether it runs alone.
   */
  write(key: string, shared: boolean, write: (exclusive: boolean) => Promise<void>): Promise<void> {
    if (shared) return this.#structure.read(() => this.#keyOrder.run(key, () => write(false)))
    return this.#structure.write(() => write(true))
  }
}
