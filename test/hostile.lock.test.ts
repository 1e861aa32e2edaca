// The util/ lock under a crowd: a HAMT queues every un-awaited call on one RwLock (call order), so
// its queue must stay linear in its length (shift() on a 100k-entry array made it quadratic).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { KeyedMutex } from '../src/util/keyed-mutex.js'
import { RwLock } from '../src/util/rw-lock.js'
import { withinBudget } from './helpers/hostile.js'

const CROWD = 150_000
// The budget here is time: 150k pending calls (their promises and closures) are not a small input.
// Node's AbortController alone costs ~15 µs an abort: fewer of them.
const ABORTS = 30_000
// Linear time is checked as CPU time, which other work on the machine does not stretch (a 4 s wall
// budget failed at load 7 with the lock unchanged); a quadratic queue costs seconds of CPU more here.
const CPU_MS = 4_000
const BUDGET = { mib: 512 }

/** `withinBudget` (a hang and memory guard) that also fails when `run` takes more than CPU_MS of CPU. */
async function withinCpuBudget<T>(
  name: string,
  run: () => Promise<T>,
): Promise<{ value?: T; error?: unknown }> {
  const before = process.cpuUsage()
  const outcome = await withinBudget(name, run, BUDGET)
  const { user, system } = process.cpuUsage(before)
  const ms = (user + system) / 1000
  assert.ok(ms < CPU_MS, `${name}: ${ms.toFixed(0)} ms of CPU, budget ${CPU_MS} ms`)
  return outcome
}

describe('RwLock with a crowd waiting', () => {
  it(`${CROWD} queued writers run in order, in linear time`, async () => {
    const lock = new RwLock()
    const order: number[] = []
    const { value, error } = await withinCpuBudget('crowd: writers', async () => {
      const calls: Promise<void>[] = []
      for (let i = 0; i < CROWD; i++) calls.push(lock.write(async () => void order.push(i)))
      await Promise.all(calls)
      return order.length
    })
    assert.equal(error, undefined)
    assert.equal(value, CROWD)
    assert.ok(
      order.every((n, i) => n === i),
      'writers ran in call order',
    )
    assert.ok(lock.idle)
  })

  it('readers and writers mixed, some waits aborted: the rest run in order and the lock ends idle', async () => {
    const lock = new RwLock()
    const ran: number[] = []
    const aborters = Array.from({ length: 10 }, () => new AbortController())
    const { error } = await withinCpuBudget('crowd: mixed', async () => {
      const calls: Promise<unknown>[] = []
      for (let i = 0; i < CROWD; i++) {
        const signal = i % 1000 === 999 ? aborters[((i / 1000) % 10) | 0]?.signal : undefined
        const fn = async (): Promise<void> => void ran.push(i)
        const call = i % 3 === 0 ? lock.read(fn, signal) : lock.write(fn, signal)
        calls.push(signal === undefined ? call : call.catch(() => undefined))
      }
      for (const aborter of aborters) aborter.abort()
      await Promise.all(calls)
    })
    assert.equal(error, undefined)
    const expected = Array.from({ length: CROWD }, (_, i) => i).filter((i) => i % 1000 !== 999 || i < 1000)
    // The first aborted-signal call may have been granted before the aborts ran; only its order matters.
    assert.deepEqual(
      ran.filter((i) => i % 1000 !== 999),
      expected.filter((i) => i % 1000 !== 999),
    )
    assert.ok(lock.idle)
  })

  it(`${ABORTS} waits, each under its own signal, aborted one by one: linear, and the lock moves on`, async () => {
    const lock = new RwLock()
    let release!: () => void
    const holder = lock.write(() => new Promise<void>((resolve) => (release = resolve)))
    const { value, error } = await withinCpuBudget('crowd: aborts', async () => {
      const aborters = Array.from({ length: ABORTS }, () => new AbortController())
      const calls = aborters.map((aborter, i) =>
        lock.write(async () => i, aborter.signal).catch((reason: unknown) => reason),
      )
      const last = lock.write(async () => 'last')
      for (const aborter of aborters) aborter.abort()
      release()
      await holder
      const outcomes = await Promise.all(calls)
      return { aborted: outcomes.filter((o) => o instanceof Error).length, last: await last }
    })
    assert.equal(error, undefined)
    assert.deepEqual(value, { aborted: ABORTS, last: 'last' })
    assert.ok(lock.idle)
  })

  it('a KeyedMutex over 100k distinct keys holds none once idle', async () => {
    const mutex = new KeyedMutex<number>()
    await Promise.all(Array.from({ length: 100_000 }, (_, i) => mutex.run(i % 50_000, async () => i)))
    assert.equal(mutex.size, 0)
  })
})
