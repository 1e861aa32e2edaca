// Budgets for hostile inputs: a case must end (with correct data or a typed error) without raising the
// process's resident memory by more than a limit. A case that never settles fails after a generous
// hang bound and its signal is aborted; how fast a case ran is not asserted (speed belongs in bench/).
// A case that blocks the event loop is not ended by the bound (no timer runs while it does).
//
// Memory is measured per case where Linux allows it: after a full garbage collection, the kernel's
// peak-RSS mark (VmHWM) is reset (/proc/self/clear_refs, "5") and the case's peak is that mark minus
// the resident size it started from, so what earlier cases or the test runner left behind does not
// count against a later case (where the mark does not move on reset, checked each time, a mark that
// rose during the case is its peak, else its resident size is sampled). Where there is no /proc, the
// process's monotonic maxRSS is measured against its value when the file's first budgeted case
// began (Node's test runner runs each file in its own process), which bounds every case of the file
// together. Keep hostile cases in their own files.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { type HamtErrorCode, isHamtError } from '../../src/errors.js'

const MiB = 1024 * 1024
let fileBaseline: number | undefined

setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

/** VmRSS or VmHWM of this process in bytes, or undefined where /proc is not there. */
function procStatus(field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync('/proc/self/status', 'utf8'),
    )?.[1]
    return kib === undefined ? undefined : Number(kib) * 1024
  } catch {
    return undefined
  }
}

/**
 * Starts a measurement; the returned function gives the peak bytes above its start (and ends it).
 * `reset: false` skips the reset, as where the kernel ignores it (for the budget's own test).
 */
export function startMeasuring({ reset = true }: { reset?: boolean } = {}): () => number {
  collectGarbage()
  try {
    if (reset) writeFileSync('/proc/self/clear_refs', '5')
  } catch {
    // No reset here: the mark is read as it is, below.
  }
  const start = procStatus('VmRSS')
  const markAtStart = procStatus('VmHWM')
  if (start === undefined || markAtStart === undefined) {
    // No /proc: the file-wide measure.
    const maxRss = (): number => process.resourceUsage().maxRSS * 1024 // maxRSS is in KiB
    fileBaseline ??= maxRss()
    const baseline = fileBaseline
    return () => maxRss() - baseline
  }
  // A reset mark is at the resident size it was reset to, and is the case's peak at its end.
  if (markAtStart - start < 4 * MiB) return () => (procStatus('VmHWM') ?? Number.POSITIVE_INFINITY) - start
  // Some kernels and sandboxes accept the write and leave the mark where it was (the project's CI
  // did: a case was charged the 135 MiB an earlier, unbudgeted case of its file had peaked at). Then a
  // mark that rose during the case is its peak; one that did not is above it, so the case's peak is
  // sampled: resident size every 2 ms while it awaits, and at its end.
  let sampled = start
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss())
  }, 2)
  sampler.unref()
  return () => {
    clearInterval(sampler)
    const mark = procStatus('VmHWM') ?? Number.POSITIVE_INFINITY
    const peak = mark > markAtStart ? mark : Math.max(sampled, process.memoryUsage.rss())
    return peak - start
  }
}

export interface Budget {
  /**
   * Hang bound: a case not settled after this many ms fails and its signal is aborted (default 60 s).
   * Not a speed limit: what should end promptly is shown by what it counted or its memory.
   */
  ms?: number
  /** Limit on the peak resident memory above where the case began (default 64 MiB). */
  mib?: number
}

/**
 * Runs `run` under a memory budget and a hang bound and returns its outcome: the value, or the error
 * it threw. Fails the test when memory rose past the budget or the case did not settle within `ms`.
 */
export async function withinBudget<T>(
  name: string,
  run: (signal: AbortSignal) => Promise<T> | T,
  budget: Budget = {},
): Promise<{ value?: T; error?: unknown }> {
  const ms = budget.ms ?? 60_000
  const mib = budget.mib ?? 64
  const peakAbove = startMeasuring()
  const controller = new AbortController()
  const hung = new Error(`${name}: did not settle within ${ms} ms`)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`${name}: hang bound of ${ms} ms reached`))
      reject(hung)
    }, ms)
  })
  let outcome: { value?: T; error?: unknown }
  try {
    outcome = { value: await Promise.race([Promise.resolve().then(() => run(controller.signal)), timeout]) }
  } catch (error) {
    if (error === hung) throw error
    outcome = { error }
  } finally {
    clearTimeout(timer)
  }
  const extra = peakAbove()
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
