import { watchAbort } from './abort.js'

/**
 * `task` over `items`, at most `limit` at a time, and the results in the order of `items`.
 * On the first failure no new task starts; the call waits for those under way, then rejects with
 * that first error, so nothing of it is still running once the caller sees the failure. `signal`
 * works the same way: once it fires no new task starts, and the call rejects with its reason after
 * the running ones settled, even if they all succeeded (a task should take the signal too, to end early).
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  if (!(Number.isSafeInteger(limit) && limit >= 1))
    throw new RangeError(`limit must be an integer >= 1, got ${limit}`)
  signal?.throwIfAborted()
  const results = new Array<R>(items.length)
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      if (signal?.aborted) {
        failure = { error: signal.reason }
        return
      }
      const index = next++
      try {
        results[index] = await task(items[index] as T, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failure !== undefined) throw failure.error
  // Fired while the last tasks ran: the caller gave up on the answer.
  signal?.throwIfAborted()
  return results
}

/**
 * At most `limit` tasks of `run` at a time; later calls wait their turn in call order. A finished
 * task hands its slot straight to the next waiter, so a new caller cannot overtake the queue. A
 * caller whose signal fires while it waits leaves the queue with the signal's reason.
 */
export class ConcurrencyLimit {
  readonly limit: number
  #active = 0
  readonly #waiting: Array<{ start: () => void }> = []

  constructor(limit: number) {
    if (!(Number.isSafeInteger(limit) && limit >= 1))
      throw new RangeError(`limit must be an integer >= 1, got ${limit}`)
    this.limit = limit
  }

  /** True when a new task would have to wait. */
  get saturated(): boolean {
    return this.#active >= this.limit
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted()
    if (this.#active < this.limit) this.#active++
    else await this.#queue(signal)
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      if (next === undefined) this.#active--
      else next.start()
    }
  }

  /** Waits for a slot handed over by a finishing task (the count stays as it was). */
  #queue(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: (): void => {
          unwatch()
          resolve()
        },
      }
      const unwatch =
        signal === undefined
          ? (): void => {}
          : watchAbort(signal, () => {
              const at = this.#waiting.indexOf(entry)
              if (at !== -1) this.#waiting.splice(at, 1)
              reject(signal.reason)
            })
      this.#waiting.push(entry)
    })
  }
}
