/** What waits on one signal, and the one listener that tells them all. */
type Watch = { callbacks: Set<{ run: () => void }>; listener: () => void }

const watches = new WeakMap<AbortSignal, Watch>()

/**
 * Calls `onAbort` when `signal` fires, and returns the function that stops watching. However many
 * callers watch one signal (a batch of calls under one timeout), the signal carries one listener:
 * one listener per caller passed Node's limit of 10 and printed MaxListenersExceededWarning.
 */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let watch = watches.get(signal)
  if (watch === undefined) {
    const callbacks = new Set<{ run: () => void }>()
    const listener = (): void => {
      watches.delete(signal)
      for (const callback of callbacks) callback.run()
    }
    watch = { callbacks, listener }
    watches.set(signal, watch)
    signal.addEventListener('abort', listener, { once: true })
  }
  const entry = { run: onAbort }
  const { callbacks, listener } = watch
  callbacks.add(entry)
  return () => {
    if (!callbacks.delete(entry) || callbacks.size > 0 || watches.get(signal) !== watch) return
    watches.delete(signal)
    signal.removeEventListener('abort', listener)
  }
}

/** `promise`, or the signal's abort reason as soon as it fires (the promise is not waited out). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const unwatch = watchAbort(signal, () => reject(signal.reason))
    promise.then(resolve, reject).finally(unwatch)
  })
}

/** Waits `ms`, or rejects with the signal's reason as soon as it fires. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    // setTimeout takes at most 2^31-1 ms and fires at once beyond it.
    const timer = setTimeout(
      () => {
        unwatch()
        resolve()
      },
      Math.min(ms, 2 ** 31 - 1),
    )
    const unwatch =
      signal === undefined
        ? (): void => {}
        : watchAbort(signal, () => {
            clearTimeout(timer)
            reject(signal.reason)
          })
  })
}

/**
 * A timeout whose clock stops while a wait passed to {@link PausableTimeout.offClock} runs: time
 * spent waiting on something else (a shared budget), not on the other side, does not count.
 * Its signal fires with a `TimeoutError`, as AbortSignal.timeout's does.
 */
export class PausableTimeout {
  readonly #controller = new AbortController()
  readonly signal = this.#controller.signal
  readonly #ms: number
  readonly #startedAt = performance.now()
  /** Time spent in waits that ended. */
  #pausedFor = 0
  #pausedAt = 0
  #waits = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(ms: number) {
    this.#ms = ms
    this.#arm(ms)
  }

  /**
   * `wait`, with the clock stopped until it settles. No timer is touched (a read calls it for each
   * piece, mostly granted at once): the clock is checked when the timer comes due.
   */
  offClock<T>(wait: Promise<T>): Promise<T> {
    if (this.#waits++ === 0) this.#pausedAt = performance.now()
    return wait.finally(() => {
      if (--this.#waits > 0) return
      this.#pausedFor += performance.now() - this.#pausedAt
      if (this.#timer === undefined) this.#check() // it came due during the wait
    })
  }

  /** Stops the clock for good (the attempt is over). */
  clear(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waits = Number.POSITIVE_INFINITY
  }

  #arm(ms: number): void {
    // setTimeout takes at most 2^31-1 ms; unref'd, as AbortSignal.timeout's timer is.
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        this.#check()
      },
      Math.min(Math.max(ms, 0), 2 ** 31 - 1),
    )
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  /** Fires if the running time is up; else comes back when it will be (or when the wait ends). */
  #check(): void {
    if (this.#waits > 0) return
    const left = this.#ms - (performance.now() - this.#startedAt - this.#pausedFor)
    if (left > 0) this.#arm(left)
    else this.#controller.abort(new DOMException('The operation timed out.', 'TimeoutError'))
  }
}
