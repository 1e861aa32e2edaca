import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  type AbortOptions,
  type Codec,
  type ContentAddressedStore,
  HAMT,
  type HashFn,
  isHamtError,
  type LoadOptions,
  MemoryStore,
  type StoreId,
} from '../src/index.js'
import { RwLock } from '../src/util/rw-lock.js'
import { assertSound } from './helpers/maps.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A memory store whose calls take a random time and whose saves fail with probability `failRate`. */
class JitteryStore implements ContentAddressedStore {
  failRate = 0
  readonly #inner: ContentAddressedStore
  readonly #random: () => number

  constructor(inner: ContentAddressedStore, rng: () => number) {
    this.#inner = inner
    this.#random = rng
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    const fail = this.#random() < this.failRate
    await sleep(this.#random() * 4)
    if (fail) throw new Error('injected save failure')
    return this.#inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    await sleep(this.#random() * 2)
    return this.#inner.load(id, options)
  }
}

/**
 * A memory store whose calls wait in a pool and are let go one per event-loop turn, the newest first
 * (`lifo`: the call made last answers first) or in a random order, so answers come back in the
 * orders a real network may choose. Saves fail with probability `failRate`.
 */
class ScheduledStore implements ContentAddressedStore {
  failRate = 0
  readonly #inner: ContentAddressedStore
  readonly #random: () => number
  readonly #order: 'lifo' | 'random'
  readonly #waiting: Array<() => void> = []

  constructor(inner: ContentAddressedStore, rng: () => number, order: 'lifo' | 'random') {
    this.#inner = inner
    this.#random = rng
    this.#order = order
  }

  #turn(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve)
      setImmediate(() => {
        const index =
          this.#order === 'lifo'
            ? this.#waiting.length - 1
            : Math.floor(this.#random() * this.#waiting.length)
        const [next] = this.#waiting.splice(index, 1)
        next?.()
      })
    })
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    const fail = this.#random() < this.failRate
    await this.#turn()
    if (fail) throw new Error('injected save failure')
    return this.#inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    await this.#turn()
    return this.#inner.load(id, options)
  }
}

const isInjected = (err: unknown): boolean => isHamtError(err, 'ERR_STORE') && /injected/.test(String(err))

describe('HAMT writes apply in call order', () => {
  it('set then delete of one key, not awaited: the key is gone, every run', async () => {
    const rng = mulberry32(seed)
    for (let run = 0; run < 60; run++) {
      const map = await HAMT.create<number>({ store: new JitteryStore(await MemoryStore.create(), rng) })
      const [set, del] = await Promise.allSettled([map.set('a', 1), map.delete('a')])
      assert.equal(set.status, 'fulfilled', `run ${run}`)
      assert.equal(del.status, 'fulfilled', `run ${run}: delete came after the set`)
      assert.equal(await map.has('a'), false, `run ${run}`)
    }
  })

  it('three sets of one key, not awaited: the last call wins, every run', async () => {
    const rng = mulberry32(seed + 1)
    for (let run = 0; run < 60; run++) {
      const map = await HAMT.create<number>({ store: new JitteryStore(await MemoryStore.create(), rng) })
      await Promise.all([map.set('k', 1), map.set('k', 2), map.set('k', 3)])
      assert.equal(await map.get('k'), 3, `run ${run}`)
    }
  })

  it('value uploads still overlap', async () => {
    let inFlight = 0
    let peak = 0
    const inner = await MemoryStore.create()
    const store: ContentAddressedStore = {
      save: async (data, codec) => {
        peak = Math.max(peak, ++inFlight)
        await sleep(5)
        inFlight--
        return inner.save(data, codec)
      },
      load: (id) => inner.load(id),
    }
    const map = await HAMT.create<number>({ store })
    await Promise.all(Array.from({ length: 20 }, (_, i) => map.set(`k${i}`, i)))
    assert.ok(peak >= 10, `at most ${peak} uploads ran at once`)
  })

  it('a set whose upload fails changes nothing and does not hold up later calls', async () => {
    const inner = await MemoryStore.create()
    let failNext = false
    const store: ContentAddressedStore = {
      save: async (data, codec) => {
        await sleep(failNext ? 10 : 1)
        if (failNext) {
          failNext = false
          throw new Error('injected save failure')
        }
        return inner.save(data, codec)
      },
      load: (id) => inner.load(id),
    }
    const map = await HAMT.create<number>({ store })
    await map.set('a', 0)
    failNext = true
    const [failed, later, get] = await Promise.allSettled([map.set('a', 1), map.set('b', 2), map.get('a')])
    assert.equal(failed.status, 'rejected')
    assert.ok(isInjected((failed as PromiseRejectedResult).reason))
    assert.equal(later.status, 'fulfilled')
    assert.deepEqual(get, { status: 'fulfilled', value: 0 })
    assert.equal(await map.get('a'), 0)
    assert.equal(await map.get('b'), 2)
  })

  it('a read called after a write sees it; one called before does not', async () => {
    const map = await HAMT.create<number>({
      store: new JitteryStore(await MemoryStore.create(), mulberry32(seed + 2)),
    })
    await map.set('a', 1)
    const before = map.get('a')
    const set = map.set('a', 2)
    const after = map.get('a')
    const size = map.size()
    const del = map.delete('a')
    const sizeAfter = map.size()
    await Promise.all([set, del])
    assert.deepEqual(await Promise.all([before, after, size, sizeAfter]), [1, 2, 1, 0])
  })

  it('switches between read-only and writable apply in call order too', async () => {
    const map = await HAMT.create<number>({
      store: new JitteryStore(await MemoryStore.create(), mulberry32(seed + 3)),
    })
    await map.set('a', 1)
    // Writable now, read-only once the switch applies: the set after it is refused.
    const [, refused] = await Promise.allSettled([map.makeReadOnly(), map.set('b', 2)])
    assert.ok(refused.status === 'rejected' && isHamtError(refused.reason, 'ERR_READ_ONLY'))
    // Read-only now, writable after a switch still in the queue: the set and read after it go through.
    const sequence = [map.makeReadOnly(), map.enableWrite(), map.set('c', 3), map.get('c'), map.size()]
    const outcomes = await Promise.allSettled(sequence)
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
      String(outcomes.map((o) => (o.status === 'rejected' ? o.reason : '')).join(' ')),
    )
    assert.deepEqual(outcomes.slice(3), [
      { status: 'fulfilled', value: 3 },
      { status: 'fulfilled', value: 2 },
    ])
    assert.equal(map.readOnly, false)
  })

  it('a call queued behind a stuck upload ends when its signal aborts; the calls behind it still apply', async () => {
    const inner = await MemoryStore.create()
    let hang = false
    let release = (): void => {}
    const store: ContentAddressedStore = {
      save: async (data, codec) => {
        // The first save after arming never ends until the test lets it go (a hung gateway).
        if (hang) {
          hang = false
          await new Promise<void>((resolve) => (release = resolve))
        }
        return inner.save(data, codec)
      },
      load: (id) => inner.load(id),
    }
    const map = await HAMT.create<number>({ store })
    await map.set('x', 1)
    hang = true
    const held = map.set('a', 1)
    const controller = new AbortController()
    const signal = controller.signal
    const queued = [
      map.get('x', { signal }),
      map.set('b', 2, { signal }),
      map.delete('x', { signal }),
      map.flush({ signal }),
      map.size({ signal }),
      map.verify({ signal }),
      map.makeReadOnly({ signal }),
    ]
    const later = map.set('c', 3)
    const settled = queued.map(() => false)
    for (const [i, call] of queued.entries())
      call.then(
        () => (settled[i] = true),
        () => (settled[i] = true),
      )
    controller.abort()
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      settled,
      queued.map(() => true),
      'every aborted call ended while the upload was stuck',
    )
    for (const outcome of await Promise.allSettled(queued)) {
      assert.ok(outcome.status === 'rejected' && (outcome.reason as Error).name === 'AbortError')
    }
    release()
    await Promise.all([held, later])
    assert.deepEqual(
      await Promise.all(['a', 'b', 'c', 'x'].map((key) => map.get(key))),
      [1, undefined, 3, 1],
      'the aborted writes did not apply, the others did, in order',
    )
    assert.equal(map.readOnly, false)
    await assertSound(map)
  })

  it('the lock: an aborted writer leaves the queue, and the readers it held back go ahead at once', async () => {
    const lock = new RwLock()
    let releaseFirst = (): void => {}
    const first = lock.read(() => new Promise<void>((resolve) => (releaseFirst = resolve)))
    const controller = new AbortController()
    const order: string[] = []
    const writer = lock.write(async () => order.push('writer'), controller.signal)
    const reader = lock.read(async () => order.push('reader'))
    const laterWriter = lock.write(async () => order.push('later writer'))
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(order, [], 'the reader waits behind the queued writer')
    controller.abort()
    await assert.rejects(writer, { name: 'AbortError' })
    await reader
    assert.deepEqual(order, ['reader'], 'the reader ran beside the first one')
    releaseFirst()
    await Promise.all([first, laterWriter])
    assert.deepEqual(order, ['reader', 'later writer'])
    await assert.rejects(
      lock.read(async () => 1, controller.signal),
      { name: 'AbortError' },
      'an aborted signal is refused at once',
    )
  })

  it('many calls queued under one signal share one abort listener (no EventTarget leak warning), and one abort ends them all', async () => {
    const inner = await MemoryStore.create()
    const map = await HAMT.create<number>({
      store: { save: (data, codec) => inner.save(data, codec), load: (id) => inner.load(id) },
    })
    const controller = new AbortController()
    const { signal } = controller
    const calls = Array.from({ length: 200 }, (_, i) => map.set(`k${i}`, i, { signal }))
    calls.push(map.flush({ signal }) as Promise<never>)
    assert.ok(
      getEventListeners(signal, 'abort').length <= 1,
      `${getEventListeners(signal, 'abort').length} listeners`,
    )
    await Promise.all(calls.slice(0, 100))
    controller.abort()
    const outcomes = await Promise.allSettled(calls)
    const aborted = outcomes.filter(
      (o) => o.status === 'rejected' && (o.reason as Error).name === 'AbortError',
    )
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length + aborted.length, calls.length)
    assert.equal(getEventListeners(signal, 'abort').length, 0, 'nothing left listening')
    assert.equal(await map.size(), outcomes.slice(0, 200).filter((o) => o.status === 'fulfilled').length)
  })

  it('an iteration sees the map as it was when it started, through writes and flushes; leaving it early or never finishing it holds up nothing', async () => {
    const rng = mulberry32(seed + 4)
    for (let run = 0; run < 10; run++) {
      const store = new JitteryStore(await MemoryStore.create(), rng)
      const map = await HAMT.create<number>({ store, maxBucketSize: 1, cacheBytes: 0 })
      for (let i = 0; i < 40; i++) await map.set(`k${i}`, i)
      if (run % 2 === 1) await map.flush()
      const before = new Map<string, number>()
      for await (const [k, v] of map) before.set(k, v)
      const iterator = map.entries()
      const seen = new Map<string, number>()
      const first = await iterator.next()
      seen.set(...(first.value as [string, number]))
      // Writes and flushes while the iteration is half-way, some awaited, some not.
      const writes = [map.set('k1', -1), map.delete('k2'), map.set('z', 26), map.flush(), map.delete('k3')]
      for (let r = iterator.next(); ; ) {
        const step = await r
        if (step.done) break
        seen.set(...step.value)
        if (rng() < 0.5) await map.set(`x${seen.size}`, 0)
        r = iterator.next()
      }
      await Promise.all(writes)
      assert.deepEqual(seen, before, `run ${run}`)
      // One left early and one never finished: writes and reads still go through.
      for await (const _ of map.keys()) break
      const abandoned = map.keys()
      await abandoned.next()
      await map.set('after', 1)
      assert.equal(await map.get('after'), 1)
      await map.flush()
      await assertSound(map)
    }
  })

  /** Writes 120 keys, flushes, then overwrites and deletes some: the flush after this saves many nodes. */
  async function history(map: HAMT<number>): Promise<void> {
    for (let i = 0; i < 120; i++) await map.set(`k${i}`, i)
    await map.flush()
    for (let i = 0; i < 120; i += 3) await map.set(`k${i}`, -i)
    for (let i = 1; i < 120; i += 7) await map.delete(`k${i}`)
  }
  /** Writes called while a flush is under way: they queue behind it. */
  const queuedWrites = (map: HAMT<number>): Promise<unknown>[] => [
    map.set('q', 1),
    map.delete('k2'),
    map.set('k5', 99),
  ]

  it('a flush failing at each of its store calls, with writes queued behind it: a retry gives the clean root', async () => {
    const clean = await HAMT.create<number>({ store: await MemoryStore.create(), maxBucketSize: 1 })
    await history(clean)
    await Promise.all(queuedWrites(clean))
    const cleanRoot = await clean.flush()
    for (let failAt = 1; ; failAt++) {
      const inner = await MemoryStore.create()
      let nodeSaves = 0
      let armed = false
      // Only the flush's node saves fail: the queued sets' value uploads must go through.
      const store: ContentAddressedStore = {
        save: async (data, codec) => {
          if (armed && codec === 'dag-cbor' && ++nodeSaves === failAt)
            throw new Error('injected save failure')
          return inner.save(data, codec)
        },
        load: (id) => inner.load(id),
      }
      const map = await HAMT.create<number>({ store, maxBucketSize: 1 })
      await history(map)
      armed = true
      const [flushed, ...writes] = await Promise.allSettled([map.flush(), ...queuedWrites(map)])
      assert.deepEqual(
        writes.map((w) => w.status),
        ['fulfilled', 'fulfilled', 'fulfilled'],
        `fail at save ${failAt}`,
      )
      armed = false
      assert.deepEqual(await map.flush(), cleanRoot, `fail at save ${failAt}`)
      await assertSound(map)
      if (flushed.status === 'fulfilled') {
        assert.ok(failAt > 5, `the flush saved ${failAt - 1} nodes only`)
        break
      }
      assert.ok(isInjected(flushed.reason), String(flushed.reason))
    }
  })

  it('a signal aborted at each store call of a set, a delete or a flush: nothing changes, and a retry gives the clean root', async () => {
    const inner = await MemoryStore.create()
    const seedMap = await HAMT.create<number>({ store: inner, maxBucketSize: 1 })
    await history(seedMap)
    const start = await seedMap.flush()
    const calls: Array<[string, (map: HAMT<number>, signal: AbortSignal) => Promise<unknown>]> = [
      ['set of a new key', (map, signal) => map.set('new key', 7, { signal })],
      ['set of a key in a full bucket', (map, signal) => map.set('k3', 7, { signal })],
      ['delete', (map, signal) => map.delete('k6', { signal })],
      ['flush after a delete', async (map, signal) => map.flush({ signal })],
    ]
    for (const honoursSignal of [true, false]) {
      for (const [name, call] of calls) {
        // What the call gives without an abort, from the same start.
        const expected = await HAMT.open<number>(start, { store: inner, maxBucketSize: 1, readOnly: false })
        if (name.startsWith('flush')) await expected.delete('k0')
        await call(expected, new AbortController().signal)
        const expectedRoot = await expected.flush()
        for (let abortAt = 1; ; abortAt++) {
          const controller = new AbortController()
          let seen = 0
          let armed = false
          const abortOnCall = (): void => {
            if (!armed || ++seen !== abortAt) return
            controller.abort()
            if (honoursSignal) controller.signal.throwIfAborted()
          }
          const store: ContentAddressedStore = {
            save: async (data, codec) => {
              abortOnCall()
              return inner.save(data, codec)
            },
            load: async (id) => {
              abortOnCall()
              return inner.load(id)
            },
          }
          const where = `${name} aborted at store call ${abortAt}${honoursSignal ? '' : ' (store ignores signals)'}`
          const map = await HAMT.open<number>(start, {
            store,
            maxBucketSize: 1,
            cacheBytes: 0,
            readOnly: false,
          })
          if (name.startsWith('flush')) await map.delete('k0')
          armed = true
          const outcome = await call(map, controller.signal).then(
            () => undefined,
            (err: unknown) => err,
          )
          armed = false
          if (outcome === undefined) {
            assert.ok(abortAt > seen, `${where}: the call ignored the abort`)
            assert.deepEqual(await map.flush(), expectedRoot, where)
            break
          }
          assert.equal((outcome as Error).name, 'AbortError', `${where}: ${String(outcome)}`)
          const unchanged = await HAMT.open<number>(start, {
            store: inner,
            maxBucketSize: 1,
            readOnly: false,
          })
          if (name.startsWith('flush')) await unchanged.delete('k0')
          assert.deepEqual(await map.flush(), await unchanged.flush(), `${where}: the map changed`)
          await call(map, new AbortController().signal)
          assert.deepEqual(await map.flush(), expectedRoot, `${where}: the retry`)
        }
      }
    }
  })

  type Op =
    | { kind: 'set'; key: string; value: number }
    | { kind: 'delete'; key: string }
    | { kind: 'get'; key: string }
    | { kind: 'flush' }
  const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  )
  /** One hash byte: eight keys in a few slots, so sets split buckets and deletes collapse them. */
  const tinyHash: HashFn = (data) => Uint8Array.of((data[0] ?? 0) & 3, data[0] ?? 0)

  it('random interleavings of set, delete, get and flush, not awaited, match a Map applied in call order, whatever order the store answers in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        fc.constantFrom('jitter', 'lifo', 'random'),
        async (rounds, maxBucketSize, storeSeed, order) => {
          const inner = await MemoryStore.create()
          const store =
            order === 'jitter'
              ? new JitteryStore(inner, mulberry32(storeSeed))
              : new ScheduledStore(inner, mulberry32(storeSeed), order)
          store.failRate = 0.15
          const map = await HAMT.create<number>({ store, maxBucketSize, hashFn: tinyHash })
          const model = new Map<string, number>()
          // Rounds: each issues its calls at once without awaiting, then waits for all of them.
          for (const ops of rounds) {
            const calls = ops.map((op): Promise<unknown> => {
              if (op.kind === 'set') return map.set(op.key, op.value)
              if (op.kind === 'delete') return map.delete(op.key)
              if (op.kind === 'get') return map.get(op.key)
              return map.flush()
            })
            const outcomes = await Promise.allSettled(calls)
            for (const [i, op] of ops.entries()) {
              const outcome = outcomes[i] as PromiseSettledResult<unknown>
              const where = `${i}: ${JSON.stringify(op)} → ${outcome.status}`
              if (outcome.status === 'rejected') {
                const err = outcome.reason
                if (op.kind === 'delete' && isHamtError(err, 'ERR_KEY_NOT_FOUND')) {
                  assert.ok(!model.has(op.key), `${where}: the key was there`)
                } else {
                  assert.ok(op.kind !== 'get' && isInjected(err), `${where}: ${String(err)}`)
                }
                continue
              }
              if (op.kind === 'set') model.set(op.key, op.value)
              else if (op.kind === 'delete')
                assert.ok(model.delete(op.key), `${where}: the key was not there`)
              else if (op.kind === 'get') assert.equal(outcome.value, model.get(op.key), where)
              else {
                // A flush's root holds exactly the model at its place in the call order.
                const reopened = await HAMT.open<number>(outcome.value as StoreId, {
                  store: inner,
                  hashFn: tinyHash,
                  readOnly: true,
                })
                const entries = new Map<string, number>()
                for await (const [k, v] of reopened) entries.set(k, v)
                assert.deepEqual(entries, model, where)
              }
            }
            store.failRate = 0
            await assertSound(map)
            assert.equal(await map.size(), model.size)
            for (const key of 'abcdefgh') assert.equal(await map.get(key), model.get(key))
            store.failRate = 0.15
          }
        },
      ),
      { numRuns: 90, seed },
    )
  })
})
