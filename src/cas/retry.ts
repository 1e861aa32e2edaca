// When to try an HTTP request again, and how long to wait first (py-hamt 3.6.0's rules).

/** Answers that mean "try again later" (py-hamt 3.6.0 retries the same ones). */
export const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504])
/** The same for POSTs (Kubo's RPC), less 500: Kubo answers every failed command so (`pin/rm` of what is not pinned…). */
export const RETRYABLE_POST_STATUSES = new Set([429, 502, 503, 504])

/**
 * A `Retry-After` value in ms from `now`: delay-seconds, or an HTTP date (one in the past is 0).
 * Anything else (a negative or non-numeric value, an unparsable date) is undefined: back-off applies.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  // Date.parse takes more than HTTP dates ("1 2", "May"): an HTTP date at least names a day or month.
  if (!/[a-z]{3}/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * The wait before retry `attempt + 1` in ms: the server's `Retry-After` where it gives a usable
 * one, else `delayMs` doubled per attempt with ±25% jitter; never more than `maxDelayMs`.
 */
export function retryDelay(
  attempt: number,
  retryAfter: string | null,
  delayMs: number,
  maxDelayMs: number,
): number {
  const asked = retryAfterMs(retryAfter, Date.now())
  const delay = asked ?? delayMs * 2 ** Math.min(attempt, 52) * (0.75 + Math.random() * 0.5)
  return Math.min(delay, maxDelayMs)
}
