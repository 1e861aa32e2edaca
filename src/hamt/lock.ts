type Waiter = { exclusive: boolean; grant: () => void }

/**
 * A first-come-first-served read-write lock for async code: readers share it, a writer holds it
 * alone, and a waiting writer holds back readers that arrive after it (no writer starvation).
 * A caller's signal ends its wait: an aborted waiter leaves the queue and the calls behind it move up.
 */
export class RwLock {
  #readers = 0
  #writing = false
  readonly #queue: Waiter[] = []

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
      this.#writing = false
      this.#drain()
    }
  }

  /** Takes the lock at once when nobody waits and it is free: no promise, no extra tick. */
  #tryTake(exclusive: boolean, signal: AbortSignal | undefined): boolean {
    signal?.throwIfAborted()
    if (this.#queue.length > 0 || !this.#canGrant(exclusive)) return false
    this.#take(exclusive)
    return true
  }

  #wait(exclusive: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (signal === undefined) return new Promise((resolve) => this.#queue.push({ exclusive, grant: resolve }))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        grant: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      // A stuck holder (an upload that never ends) must not keep an aborted caller waiting.
      const onAbort = (): void => {
        const index = this.#queue.indexOf(waiter)
        if (index >= 0) this.#queue.splice(index, 1)
        this.#drain()
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(waiter)
    })
  }

  #canGrant(exclusive: boolean): boolean {
    return exclusive ? !this.#writing && this.#readers === 0 : !this.#writing
  }

  #take(exclusive: boolean): void {
    if (exclusive) this.#writing = true
    else this.#readers++
  }

  #drain(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Waiter
      if (!this.#canGrant(next.exclusive)) return
      this.#queue.shift()
      this.#take(next.exclusive)
      next.grant()
    }
  }
}
