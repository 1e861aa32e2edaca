/** Ticks of the microtask queue until `promise` settles (at most `limit`): how many awaits a call took. */
export async function ticksToSettle(promise: Promise<unknown>, limit = 20): Promise<number> {
  let settled = false
  promise.then(
    () => {
      settled = true
    },
    () => {
      settled = true
    },
  )
  for (let ticks = 0; ticks < limit; ticks++) {
    if (settled) return ticks
    await Promise.resolve()
  }
  return limit
}
