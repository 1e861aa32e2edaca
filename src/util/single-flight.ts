import { raceAbort } from './abort.js'

/** Where a {@link SingleFlight} keeps the runs under way: a `Map`, or a map keyed by bytes (IdMap). */
export interface FlightMap<K, V> {
  get(key: K): V | undefined
  set(key: K, value: V): void
  delete(key: K): unknown
}

/** One run under way and the signal of the caller that started it. */
export interface Flight<V> {
  promise: Promise<V>
  signal: AbortSignal | undefined
}

/**
 * Concurrent calls for one key share one run (a block load, a shard decode). Each caller waits
 * under its own signal, the one that started the run included: an abort rejects only that
 * caller's wait, and when the starter aborts, the others start over (or join whoever did)
 * instead of failing with it. A run is forgotten as soon as it settles, whoever still waits.
 * Callers under one signal share one abort listener (see {@link raceAbort}).
 */
export class SingleFlight<K, V> {
  readonly #flights: FlightMap<K, Flight<V>>

  constructor(flights: FlightMap<K, Flight<V>> = new Map<K, Flight<V>>()) {
    this.#flights = flights
  }

  /**
   * `load(signal)` for `key`, or the result of the run for `key` already under way. `cached`, if
   * given, is asked first each time round (a run that ended may have filled the caller's cache).
   * A caller whose signal has already fired gets its abort reason and starts nothing.
   */
  async run(
    key: K,
    load: (signal: AbortSignal | undefined) => Promise<V>,
    signal?: AbortSignal,
    cached?: () => V | undefined,
  ): Promise<V> {
    for (;;) {
      const hit = cached?.()
      if (hit !== undefined) return hit
      const shared = this.#flights.get(key)
      if (shared === undefined) break
      try {
        return await raceAbort(shared.promise, signal)
      } catch (error) {
        // Ours aborted, or the run failed on its own: that is our answer. Its owner aborted: go again.
        if (signal?.aborted || shared.signal?.aborted !== true) throw error
        this.#forget(key, shared)
      }
    }
    signal?.throwIfAborted()
    let promise: Promise<V>
    try {
      promise = load(signal)
    } catch (error) {
      promise = Promise.reject(error)
    }
    const flight: Flight<V> = { promise, signal }
    this.#flights.set(key, flight)
    const forget = (): void => this.#forget(key, flight)
    flight.promise.then(forget, forget)
    return raceAbort(flight.promise, signal)
  }

  #forget(key: K, flight: Flight<V>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key)
  }
}
