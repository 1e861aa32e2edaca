/**
 * One gateway's record of consecutive failures, which decides whether it is tried before or after
 * the healthy ones. A tripped gateway is never dropped: after the cooldown ordinary reads try it
 * again, on probation (one more failure trips it again), and any success clears the record.
 */
export class GatewayHealth {
  readonly #threshold: number
  readonly #cooldownMs: number
  #failures = 0
  #trippedAt: number | undefined

  constructor(threshold: number, cooldownMs: number) {
    this.#threshold = threshold
    this.#cooldownMs = cooldownMs
  }

  succeeded(): void {
    this.#failures = 0
    this.#trippedAt = undefined
  }

  failed(now: number): void {
    this.#failures++
    if (this.#failures >= this.#threshold) this.#trippedAt = now
  }

  /** False while tripped; the first call after the cooldown ends the trip and puts it on probation. */
  healthy(now: number): boolean {
    if (this.#trippedAt === undefined) return true
    if (now - this.#trippedAt < this.#cooldownMs) return false
    this.#trippedAt = undefined
    this.#failures = this.#threshold - 1
    return true
  }
}
