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
