// The single-flight utility behind shard loads (and the HAMT's node loads) under every abort
// pattern: each caller waits under its own signal, nobody starts a load it has already given up
// on, and a run never outlives its settling in the map of runs under way.
import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { MemoryStore } from '../src/cas/memory.js'
import { HAMT } from '../src/hamt/hamt.js'
import { type Flight, SingleFlight } from '../src/util/single-flight.js'

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A load the test settles by hand; `honoursSignal` makes it reject when its signal fires. */
class ManualLoad {
  calls = 0
  signals: (AbortSignal | undefined)[] = []
  #settle: { resolve: (v: string) => void; reject: (e: unknown) => void }[] = []
  readonly honoursSignal: boolean

  constructor(honoursSignal: boolean) {
    this.honoursSignal = honoursSignal
  }

  readonly load = (signal: AbortSignal | undefined): Promise<string> => {
    this.calls++
    this.signals.push(signal)
    return new Promise<string>((resolve, reject) => {
      this.#settle.push({ resolve, reject })
      if (this.honoursSignal) signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  resolve(value: string, call = this.calls - 1): void {
    this.#settle[call]?.resolve(value)
  }

  reject(error: unknown, call = this.calls - 1): void {
    this.#settle[call]?.reject(error)
  }
}

/** Runs `body`, then fails if the process printed MaxListenersExceededWarning meanwhile. */
async function withoutListenerWarnings(body: () => Promise<void>): Promise<void> {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => {
    warnings.push(warning)
  }
  process.on('warning', onWarning)
  try {
    await body()
    await tick()
  } finally {
    process.off('warning', onWarning)
  }
  const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)
  assert.deepEqual(leaks, [])
}

function setup(honoursSignal: boolean): {
  flights: Map<string, Flight<string>>
  single: SingleFlight<string, string>
  loader: ManualLoad
} {
  const flights = new Map<string, Flight<string>>()
  return { flights, single: new SingleFlight(flights), loader: new ManualLoad(honoursSignal) }
}

describe('SingleFlight', () => {
  it('the starter that aborts is answered at once, even by a store that ignores signals; the others get the value', async () => {
    const { flights, single, loader } = setup(false)
    const starter = new AbortController()
    const first = single.run('k', loader.load, starter.signal)
    const second = single.run('k', loader.load)
    starter.abort(new Error('starter gave up'))
    await assert.rejects(first, /starter gave up/)
    assert.equal(flights.size, 1, 'the load is still under way')
    loader.resolve('value')
    assert.equal(await second, 'value')
    assert.equal(loader.calls, 1)
    assert.equal(flights.size, 0)
  })

  it('every caller aborts: each is answered at once and the run is forgotten when it settles', async () => {
    for (const honoursSignal of [true, false]) {
      const { flights, single, loader } = setup(honoursSignal)
      const controllers = [new AbortController(), new AbortController(), new AbortController()]
      const waits = controllers.map((c) => single.run('k', loader.load, c.signal))
      for (const [i, c] of controllers.entries()) c.abort(new Error(`caller ${i}`))
      for (const [i, wait] of waits.entries()) await assert.rejects(wait, new RegExp(`caller ${i}`))
      if (!honoursSignal) loader.resolve('late')
      await tick()
      assert.equal(flights.size, 0, `no run left behind (store honours signals: ${honoursSignal})`)
      assert.equal(loader.calls, 1)
    }
  })

  it('a caller whose signal already fired starts nothing and does not disturb a run under way', async () => {
    const { flights, single, loader } = setup(true)
    const aborted = AbortSignal.abort(new Error('already'))
    await assert.rejects(single.run('k', loader.load, aborted), /already/)
    assert.equal(loader.calls, 0)
    assert.equal(flights.size, 0)
    const running = single.run('k', loader.load)
    await assert.rejects(single.run('k', loader.load, aborted), /already/)
    loader.resolve('value')
    assert.equal(await running, 'value')
    assert.equal(loader.calls, 1)
  })

  it('a load that rejects with a non-Error gives that value to every caller and is forgotten', async () => {
    for (const thrown of [undefined, null, 'text', 42]) {
      const { flights, single, loader } = setup(false)
      const waits = [single.run('k', loader.load), single.run('k', loader.load, new AbortController().signal)]
      loader.reject(thrown)
      for (const wait of waits) await assert.rejects(wait, (error) => error === thrown)
      assert.equal(flights.size, 0)
    }
  })

  it('the starter aborting after the load resolved changes nothing for anyone', async () => {
    const { single, loader } = setup(true)
    const starter = new AbortController()
    const first = single.run('k', loader.load, starter.signal)
    const second = single.run('k', loader.load)
    loader.resolve('value')
    starter.abort(new Error('late abort'))
    // The starter may hear its own abort first; the follower must not start the load again.
    await first.catch((error: Error) => assert.match(error.message, /late abort/))
    assert.equal(await second, 'value')
    assert.equal(loader.calls, 1)
  })

  it('when the starter aborts, one follower starts over and a second wave joins that new run', async () => {
    const { flights, single, loader } = setup(true)
    const starter = new AbortController()
    const first = single.run('k', loader.load, starter.signal)
    const followers = [single.run('k', loader.load), single.run('k', loader.load)]
    starter.abort(new Error('starter gave up'))
    await assert.rejects(first, /starter gave up/)
    await tick()
    assert.equal(loader.calls, 2, 'one new load, not one per follower')
    const secondWave = single.run('k', loader.load)
    loader.resolve('value')
    assert.deepEqual(await Promise.all([...followers, secondWave]), ['value', 'value', 'value'])
    assert.equal(loader.calls, 2)
    assert.equal(flights.size, 0)
  })

  it('a second wave arriving while the first load settles is served from the cache, not loaded again', async () => {
    const { single, loader } = setup(false)
    let cache: string | undefined
    const load = async (signal: AbortSignal | undefined): Promise<string> => {
      const value = await loader.load(signal)
      cache = value
      return value
    }
    const first = single.run('k', load, undefined, () => cache)
    loader.resolve('value')
    const waves = [single.run('k', load, undefined, () => cache)]
    await Promise.resolve()
    waves.push(single.run('k', load, undefined, () => cache))
    assert.deepEqual(await Promise.all([first, ...waves]), ['value', 'value', 'value'])
    assert.equal(loader.calls, 1)
  })

  it('a load that throws synchronously is a rejection, and is forgotten', async () => {
    const flights = new Map<string, Flight<string>>()
    const single = new SingleFlight<string, string>(flights)
    const load = (): Promise<string> => {
      throw new TypeError('sync')
    }
    await assert.rejects(single.run('k', load), TypeError)
    assert.equal(flights.size, 0)
  })

  it('30 callers joining one run under one signal add one abort listener, and an abort answers them all', async () => {
    await withoutListenerWarnings(async () => {
      const { single, loader, flights } = setup(false)
      const controller = new AbortController()
      const calls = Array.from({ length: 30 }, () => single.run('k', loader.load, controller.signal))
      assert.equal(loader.calls, 1)
      assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
      controller.abort()
      const outcomes = await Promise.allSettled(calls)
      assert.ok(outcomes.every((o) => o.status === 'rejected' && (o.reason as Error).name === 'AbortError'))
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'nothing left listening')
      loader.resolve('late')
      await tick()
      assert.equal(flights.size, 0)
      // A run that ends normally takes its listener with it.
      const second = new AbortController()
      const more = Array.from({ length: 30 }, () => single.run('j', loader.load, second.signal))
      assert.equal(getEventListeners(second.signal, 'abort').length, 1)
      loader.resolve('v')
      assert.deepEqual(await Promise.all(more), Array(30).fill('v'))
      assert.equal(getEventListeners(second.signal, 'abort').length, 0)
    })
  })

  it('30 concurrent gets under one signal through an uncached node print no MaxListenersExceededWarning', async () => {
    await withoutListenerWarnings(async () => {
      const inner = await MemoryStore.create()
      const map = await HAMT.create<number>({ store: inner })
      for (let i = 0; i < 200; i++) await map.set(`k${i}`, i)
      const root = await map.flush()
      let release!: () => void
      let gate: Promise<void> | undefined
      const slow = {
        save: (data: Uint8Array, codec: 'raw' | 'dag-cbor') => inner.save(data, codec),
        load: async (id: Uint8Array) => {
          await gate
          return inner.load(id)
        },
      }
      const cold = await HAMT.open<number>(root, { store: slow as never, cacheBytes: 0, readOnly: false })
      gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const { signal } = new AbortController()
      const gets = Array.from({ length: 30 }, (_, i) => cold.get(`k${i}`, { signal }))
      await tick()
      assert.ok(
        getEventListeners(signal, 'abort').length <= 1,
        `${getEventListeners(signal, 'abort').length} abort listeners on one signal`,
      )
      release()
      assert.deepEqual(
        await Promise.all(gets),
        Array.from({ length: 30 }, (_, i) => i),
      )
      assert.equal(getEventListeners(signal, 'abort').length, 0)
    })
  })
})
