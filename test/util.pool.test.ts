// The one bounded-concurrency pool (flushes, shard saves, block writes, the CLI): results as a
// sequential map gives them, never more than `limit` at once, and after a failure or an abort no
// task starts and none is still running when the caller sees the rejection.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ConcurrencyLimit, mapPool } from '../src/util/pool.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

type Pool = <T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>) => Promise<R[]>

/** Counts what runs: tasks under way, the most at once, and a log of starts, ends and the caller's answer. */
class Probe {
  active = 0
  maxActive = 0
  log: string[] = []

  async run<R>(index: number, delay: number, body: () => R): Promise<R> {
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    this.log.push(`start ${index}`)
    try {
      await ticks(delay)
      return body()
    } finally {
      this.active--
      this.log.push(`end ${index}`)
    }
  }
}

class Injected extends Error {
  readonly index: number
  constructor(index: number) {
    super(`injected at ${index}`)
    this.index = index
  }
}

for (const [name, pool] of [['mapPool', mapPool as Pool]] as const) {
  describe(`bounded pool (${name})`, () => {
    it('gives what a sequential map gives, never more than `limit` tasks at once (and `limit` when there is work)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer(), fc.nat(4)), { maxLength: 40 }),
          fc.integer({ min: 1, max: 8 }),
          async (items, limit) => {
            const probe = new Probe()
            const results = await pool(items, limit, ([value, delay]) => probe.run(0, delay, () => value * 2))
            assert.deepEqual(
              results,
              items.map(([value]) => value * 2),
            )
            assert.ok(probe.maxActive <= limit)
            assert.equal(probe.maxActive, Math.min(limit, items.length))
            assert.equal(probe.active, 0)
          },
        ),
        { seed, numRuns: 60 },
      )
    })

    it('a failure at any position: no task starts after it, none runs when the caller sees it, the error is the first', async () => {
      const rng = fc.sample(fc.nat(3), { seed, numRuns: 400 })
      let r = 0
      for (const limit of [1, 3, 8]) {
        for (let fail = 0; fail < 12; fail++) {
          const probe = new Probe()
          const items = Array.from({ length: 12 }, (_, i) => i)
          const outcome = pool(items, limit, (i) =>
            probe.run(i, (rng[r++ % rng.length] as number) + 1, () => {
              if (i === fail) {
                probe.log.push(`fail ${i}`)
                throw new Injected(i)
              }
              return i
            }),
          )
          await assert.rejects(outcome, (error: unknown) => error instanceof Injected && error.index === fail)
          assert.equal(
            probe.active,
            0,
            `limit ${limit}, failing at ${fail}: tasks still running after the rejection`,
          )
          probe.log.push('rejected')
          await ticks(10)
          const failedAt = probe.log.indexOf(`fail ${fail}`)
          assert.deepEqual(
            probe.log.slice(failedAt).filter((e) => e.startsWith('start')),
            [],
            `limit ${limit}, failing at ${fail}: tasks started after the failure`,
          )
          assert.equal(probe.log.at(-1), 'rejected')
        }
      }
    })

    it('several failures: the first to happen is the error', async () => {
      const probe = new Probe()
      const outcome = pool([0, 1, 2, 3], 4, (i) =>
        // Index 3 fails first (shortest delay), index 0 last.
        probe.run(i, 4 - i, () => {
          throw new Injected(i)
        }),
      )
      await assert.rejects(outcome, (error: unknown) => error instanceof Injected && error.index === 3)
      assert.equal(probe.active, 0)
    })
  })
}

describe('bounded pool: abort', () => {
  it('an abort at any position: no task starts after it, none runs when the caller sees it, the reason is the error', async () => {
    for (const limit of [1, 3, 8]) {
      for (let at = 0; at < 12; at++) {
        const probe = new Probe()
        const controller = new AbortController()
        const items = Array.from({ length: 12 }, (_, i) => i)
        const outcome = mapPool(
          items,
          limit,
          (i) =>
            probe.run(i, 2, () => {
              if (i === at) {
                probe.log.push('abort')
                controller.abort()
              }
              return i
            }),
          controller.signal,
        )
        await assert.rejects(outcome, { name: 'AbortError' })
        assert.equal(
          probe.active,
          0,
          `limit ${limit}, abort at ${at}: tasks still running after the rejection`,
        )
        const abortedAt = probe.log.indexOf('abort')
        assert.deepEqual(
          probe.log.slice(abortedAt).filter((e) => e.startsWith('start')),
          [],
          `limit ${limit}, abort at ${at}: tasks started after the abort`,
        )
      }
    }
  })

  it('an abort after the last task ended changes nothing; an aborted signal starts nothing', async () => {
    const controller = new AbortController()
    const results = await mapPool([1, 2, 3], 2, async (i) => i, controller.signal)
    controller.abort()
    assert.deepEqual(results, [1, 2, 3])
    let started = 0
    await assert.rejects(
      mapPool(
        [1, 2],
        2,
        async (i) => {
          started++
          return i
        },
        controller.signal,
      ),
      { name: 'AbortError' },
    )
    assert.equal(started, 0)
  })

  it('refuses a limit that is not a positive integer', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(
        mapPool([1], limit, async (i) => i),
        RangeError,
      )
    }
  })
})

describe('ConcurrencyLimit (per-gateway and per-client request slots)', () => {
  it('never runs more than its limit, starts waiters in call order, and a new caller cannot overtake them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 }),
        async (limit, delays) => {
          const slots = new ConcurrencyLimit(limit)
          const probe = new Probe()
          const started: number[] = []
          const calls = delays.map((delay, i) =>
            slots.run(() => {
              started.push(i)
              return probe.run(i, delay, () => i)
            }),
          )
          // A call made once the first task ended still queues behind the earlier waiters. Waiters
          // exist only while the limit is full (a finishing task hands its slot on); with a free slot
          // the queue is empty, and the late call may start before a waiter whose slot was handed over
          // but whose task has not started yet (a microtask later): no one is overtaken then.
          await calls[0]
          const queuedBehind = slots.saturated
          const late = slots.run(async () => started.push(-1))
          assert.deepEqual(
            await Promise.all(calls),
            delays.map((_, i) => i),
          )
          await late
          assert.ok(probe.maxActive <= limit)
          if (queuedBehind) assert.deepEqual(started, [...delays.map((_, i) => i), -1])
          else
            assert.deepEqual(
              started.filter((i) => i !== -1),
              delays.map((_, i) => i),
            )
          assert.equal(slots.saturated, false)
        },
      ),
      { seed, numRuns: 100 },
    )
  })

  it('a waiter whose signal fires leaves the queue with its reason; the others still run', async () => {
    const slots = new ConcurrencyLimit(1)
    let release: () => void = () => {}
    const first = slots.run(() => new Promise<void>((resolve) => (release = resolve)))
    assert.equal(slots.saturated, true)
    const controller = new AbortController()
    const reason = new Error('gave up')
    let ran = false
    const waiting = slots.run(async () => {
      ran = true
    }, controller.signal)
    const after = slots.run(async () => 'after')
    controller.abort(reason)
    await assert.rejects(waiting, (e) => e === reason)
    release()
    await first
    assert.equal(await after, 'after')
    assert.equal(ran, false)
    assert.throws(() => new ConcurrencyLimit(0), RangeError)
  })
})
