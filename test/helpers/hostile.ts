// Budgets for hostile inputs: a case must end (with correct data or a typed error) within a time
// limit and without raising the process's peak memory by more than a limit. Node's test runner runs
// each test file in its own process, so the peak resident size (maxRSS, monotonic) of that process,
// measured against its value when the file's first budgeted case began, bounds what every case in
// the file allocated at once. Keep hostile cases in their own files so no other test raises it.
import assert from 'node:assert/strict'
import { type HamtErrorCode, isHamtError } from '../../src/errors.js'

const MiB = 1024 * 1024
let baselineRss: number | undefined

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024 // maxRSS is in KiB
}

export interface Budget {
  /** Wall-clock limit for the case (default 5 s). */
  ms?: number
  /** Limit on the peak resident memory above the file's baseline (default 64 MiB). */
  mib?: number
}

/**
 * Runs `run` under a time and memory budget and returns its outcome: the value, or the error it threw.
 * Fails the test when the budget is exceeded. A case that never settles fails after `ms`.
 */
export async function withinBudget<T>(
  name: string,
  run: (signal: AbortSignal) => Promise<T> | T,
  budget: Budget = {},
): Promise<{ value?: T; error?: unknown }> {
  const ms = budget.ms ?? 5_000
  const mib = budget.mib ?? 64
  baselineRss ??= peakRss()
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`${name}: budget of ${ms} ms exceeded`))
      reject(new Error(`${name}: did not settle within ${ms} ms`))
    }, ms)
  })
  const started = performance.now()
  let outcome: { value?: T; error?: unknown }
  try {
    outcome = { value: await Promise.race([Promise.resolve().then(() => run(controller.signal)), timeout]) }
  } catch (error) {
    if (error instanceof Error && error.message === `${name}: did not settle within ${ms} ms`) throw error
    outcome = { error }
  } finally {
    clearTimeout(timer)
  }
  const elapsed = performance.now() - started
  assert.ok(elapsed < ms, `${name}: took ${elapsed.toFixed(0)} ms, budget ${ms} ms`)
  const extra = peakRss() - baselineRss
  assert.ok(extra < mib * MiB, `${name}: peak memory rose ${(extra / MiB).toFixed(1)} MiB, budget ${mib} MiB`)
  return outcome
}

/** Asserts that a budgeted case ended in a ts-hamt error with `code` (or any ts-hamt error). */
export function assertTypedError(outcome: { value?: unknown; error?: unknown }, code?: HamtErrorCode): void {
  assert.ok(
    'error' in outcome && outcome.error !== undefined,
    `expected a typed error, got ${String(outcome.value)}`,
  )
  assert.ok(
    isHamtError(outcome.error, code),
    `expected ${code ?? 'a ts-hamt error'}, got ${String((outcome.error as Error)?.stack ?? outcome.error)}`,
  )
}
