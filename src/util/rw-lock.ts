import { watchAbort } from './abort.js'

type Waiter = { exclusive: boolean; grant: () => void; reject?: (reason: unknown) => void; aborted?: true }

/** The waiters of one signal and the one listener that ends their waits. */
type Watch = { waiters: Set<Waiter>; unwatch: () => void }

/**
 * A first-come-first-served read-write lock for async code: readers share it, a writer holds it
 * alone, and a waiting writer holds back readers that arrive after it (no writer starvation).
 * A caller's signal ends its wait: an aborted waiter leaves the queue and the calls behind it move up.
 * A lock taken for writes only is a serial queue (a store's flushes run one after another).
 */
export class RwLock {
  #readers = 0
  #writing = false
  /**
   * Waiters from #head on: shift() on a long array is O(n), so the front moves instead, and an
   * aborted waiter is marked, not filtered out, until marked ones are half the queue.
   */
  #queue: (Waiter | undefined)[] = []
  #head = 0
  #aborted = 0
  /** One abort listener per signal, however many calls wait under it (a batch under one timeout). */
  readonly #watches = new Map<AbortSignal, Watch>()

  async read<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.#tryTake(false, signal)) await this.#wait(false, signal)
    try {
      return await fn()
    } finally {
      this.#readers--
      this.#drain()
    }
  }

  async write<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.#tryTake(true, signal)) await this.#wait(true, signal)
    try {
      return await fn()
    } finally {
      this.endWrite()
    }
  }

  /**
   * Takes the lock for a write at once if it is free and nobody waits, as {@link RwLock.write} would
   * without waiting; the caller then must call {@link RwLock.endWrite}. Lets a hot caller run its
   * write in its own async function instead of two more.
   */
  tryWrite(): boolean {
    if (this.#waiting > 0 || !this.#canGrant(true)) return false
    this.#take(true)
    return true
  }

  /** Gives back the lock a write took. */
  endWrite(): void {
    this.#writing = false
    this.#drain()
  }

  /** Takes the lock at once when nobody waits and it is free: no promise, no extra tick. */
  #tryTake(exclusive: boolean, signal: AbortSignal | undefined): boolean {
    signal?.throwIfAborted()
    if (this.#waiting > 0 || !this.#canGrant(exclusive)) return false
    this.#take(exclusive)
    return true
  }

  #wait(exclusive: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (signal === undefined) return new Promise((resolve) => this.#queue.push({ exclusive, grant: resolve }))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        grant: () => {
          this.#unwatch(signal, waiter)
          resolve()
        },
        reject,
      }
      this.#watch(signal, waiter)
      this.#queue.push(waiter)
    })
  }

  #watch(signal: AbortSignal, waiter: Waiter): void {
    let watch = this.#watches.get(signal)
    if (watch === undefined) {
      // A stuck holder (an upload that never ends) must not keep an aborted caller waiting.
      watch = { waiters: new Set(), unwatch: watchAbort(signal, () => this.#abort(signal)) }
      this.#watches.set(signal, watch)
    }
    watch.waiters.add(waiter)
  }

  #unwatch(signal: AbortSignal, waiter: Waiter): void {
    const watch = this.#watches.get(signal)
    if (watch === undefined) return
    watch.waiters.delete(waiter)
    if (watch.waiters.size > 0) return
    watch.unwatch()
    this.#watches.delete(signal)
  }

  /** Ends every wait under `signal` at once (one pass over the queue), then lets the rest move up. */
  #abort(signal: AbortSignal): void {
    const watch = this.#watches.get(signal)
    if (watch === undefined) return
    this.#watches.delete(signal)
    for (const waiter of watch.waiters) waiter.aborted = true
    this.#aborted += watch.waiters.size
    if (this.#aborted * 2 > this.#queue.length - this.#head) this.#compact()
    for (const waiter of watch.waiters) waiter.reject?.(signal.reason)
    this.#drain()
  }

  /** True when a read would take the lock at once: no writer holds it and nobody waits. */
  get readableNow(): boolean {
    return !this.#writing && this.#waiting === 0
  }

  /** True when nobody holds the lock and nobody waits for it. */
  get idle(): boolean {
    return this.#readers === 0 && !this.#writing && this.#waiting === 0
  }

  get #waiting(): number {
    return this.#queue.length - this.#head - this.#aborted
  }

  #compact(): void {
    this.#queue = this.#queue.slice(this.#head).filter((waiter) => waiter?.aborted !== true)
    this.#head = 0
    this.#aborted = 0
  }

  #canGrant(exclusive: boolean): boolean {
    return exclusive ? !this.#writing && this.#readers === 0 : !this.#writing
  }

  #take(exclusive: boolean): void {
    if (exclusive) this.#writing = true
    else this.#readers++
  }

  #drain(): void {
    while (this.#waiting > 0) {
      const next = this.#queue[this.#head] as Waiter
      if (next.aborted === true) {
        this.#aborted--
        this.#queue[this.#head++] = undefined
        continue
      }
      if (!this.#canGrant(next.exclusive)) return
      this.#queue[this.#head++] = undefined
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) this.#compact()
      this.#take(next.exclusive)
      next.grant()
    }
    if (this.#queue.length > 0 && this.#waiting === 0) this.#compact()
  }
}
