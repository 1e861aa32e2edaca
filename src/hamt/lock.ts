type Waiter = { exclusive: boolean; grant: () => void }

/**
 * A first-come-first-served read-write lock for async code: readers share it, a writer holds it
 * alone, and a waiting writer holds back readers that arrive after it (no writer starvation).
 */
export class RwLock {
  #readers = 0
  #writing = false
  readonly #queue: Waiter[] = []

  async read<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#tryTake(false)) await this.#wait(false)
    try {
      return await fn()
    } finally {
      this.#readers--
      this.#drain()
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#tryTake(true)) await this.#wait(true)
    try {
      return await fn()
    } finally {
      this.#writing = false
      this.#drain()
    }
  }

  /** Takes the lock at once when nobody waits and it is free: no promise, no extra tick. */
  #tryTake(exclusive: boolean): boolean {
    if (this.#queue.length > 0 || !this.#canGrant(exclusive)) return false
    this.#take(exclusive)
    return true
  }

  #wait(exclusive: boolean): Promise<void> {
    return new Promise((resolve) => this.#queue.push({ exclusive, grant: resolve }))
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
