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
