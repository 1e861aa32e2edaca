import { InvalidArgumentError } from './errors.js'

/**
 * An integer option: `fallback` when absent, else a safe integer of at least `min`, or an
 * InvalidArgumentError naming the option. One check for every count, size and limit option.
 */
export function integerOption(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be an integer of at least ${min}, got ${String(value)}`)
  }
  return value
}

/** A JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
