// The hostile tests' memory budget measures a case's own peak, with or without the kernel resetting
// its peak-RSS mark (the project's CI accepted the reset and kept the mark). Linux only (/proc).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startMeasuring, withinBudget } from './helpers/hostile.js'

const MiB = 1024 * 1024

/**
 * Allocates and touches `mib` MiB in 40 MiB pieces (above glibc's largest mmap threshold, so a freed
 * piece leaves the resident size at once), awaiting between them when `awaiting`.
 */
async function allocate(mib: number, awaiting: boolean): Promise<number> {
  const held: Uint8Array[] = []
  for (let i = 0; i < mib / 40; i++) {
    held.push(new Uint8Array(40 * MiB).fill(1))
    if (awaiting) await sleep(3)
  }
  return held.length
}

describe('hostile budget measure', { skip: !existsSync('/proc/self/status') && 'no /proc here' }, () => {
  for (const reset of [true, false]) {
    it(`${reset ? 'with' : 'without'} a reset: an earlier peak is not charged, a case's own is`, async () => {
      await allocate(200, false) // an earlier, unmeasured peak
      // Each bound leaves room for the last case's buffers, which V8 frees on a thread of its own after
      // the measure's full collection: up to their size can leave during the next measured case.
      const small = startMeasuring({ reset })
      await allocate(40, true)
      assert.ok(small() < 64 * MiB, `a small case after a 200 MiB peak measured ${small() / MiB} MiB`)
      const awaited = startMeasuring({ reset })
      await allocate(160, true)
      assert.ok(awaited() > 96 * MiB, `an awaiting 160 MiB case measured ${awaited() / MiB} MiB`)
      const synchronous = startMeasuring({ reset })
      await allocate(320, false) // above every earlier peak: the mark moves
      assert.ok(synchronous() > 150 * MiB, `a synchronous 320 MiB case measured ${synchronous() / MiB} MiB`)
    })
  }
})

describe('hostile budget hang bound', () => {
  it('a case that never settles fails at the bound, its signal aborted; one that settles returns its outcome', async () => {
    let seen: AbortSignal | undefined
    await assert.rejects(
      withinBudget(
        'never',
        (signal) => {
          seen = signal
          return new Promise<never>(() => {})
        },
        { ms: 50 },
      ),
      /never: did not settle within 50 ms/,
    )
    assert.equal(seen?.aborted, true)
    const failed = new Error('typed or not')
    assert.deepEqual(await withinBudget('value', () => 7), { value: 7 })
    assert.deepEqual(
      await withinBudget('error', () => {
        throw failed
      }),
      { error: failed },
    )
  })
})
