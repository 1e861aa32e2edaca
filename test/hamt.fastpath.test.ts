// The write fast path (a set that finds the lock free runs in its own async function) and the
// warm-get path (no promise while the path is in memory) interleaved with queued calls, failing
// saves and loads, and a cache too small to keep nodes (so paths are loaded again mid-sequence):
// every outcome must be the one a Map applied in call order gives.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  type AbortOptions,
  type Codec,
  type ContentAddressedStore,
  HAMT,
  isHamtError,
  type LoadOptions,
  MemoryStore,
  type StoreId,
} from '../src/index.js'
import { assertSound } from './helpers/maps.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

/** A memory store whose calls answer now or a tick later, and fail at a given rate. */
class FlakyStore implements ContentAddressedStore {
  failRate = 0
  loads = 0
  constructor(
    readonly inner: MemoryStore,
    readonly random: () => number,
  ) {}

  async #turn(): Promise<void> {
    if (this.random() < 0.5) await new Promise((resolve) => setImmediate(resolve))
    if (this.random() < this.failRate) throw new Error('injected failure')
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    await this.#turn()
    return this.inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    this.loads++
    await this.#turn()
    return this.inner.load(id, options)
  }
}

function random(state: number): () => number {
  let s = state >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
}

const keyArb = fc.integer({ min: 0, max: 300 }).map((i) => `k${i}`)
const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clearCache' as const }) },
)
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never

const isInjected = (err: unknown): boolean => isHamtError(err, 'ERR_STORE') && /injected/.test(String(err))

describe('fast and queued paths interleaved', () => {
  it('awaited and not-awaited calls, failing stores and evicted nodes match a Map applied in call order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: opArb, awaited: fc.boolean() }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0, 2000, 1 << 20),
        fc.integer(),
        async (steps, maxBucketSize, cacheBytes, storeSeed) => {
          const inner = await MemoryStore.create()
          const store = new FlakyStore(inner, random(storeSeed))
          const map = await HAMT.create<number>({ store, maxBucketSize, cacheBytes })
          const model = new Map<string, number>()
          // Not-awaited calls wait here until an awaited one, then are checked in call order.
          let pending: { op: Op; call: Promise<unknown> }[] = []
          const settle = async (): Promise<void> => {
            const outcomes = await Promise.allSettled(pending.map((p) => p.call))
            for (const [i, { op }] of pending.entries())
              check(op, outcomes[i] as PromiseSettledResult<unknown>)
            pending = []
          }
          const check = (op: Op, outcome: PromiseSettledResult<unknown>): void => {
            const where = `${JSON.stringify(op)} → ${outcome.status}`
            if (outcome.status === 'rejected') {
              const err = outcome.reason
              if (op.kind === 'delete' && isHamtError(err, 'ERR_KEY_NOT_FOUND'))
                assert.ok(!model.has(op.key), `${where}: the key was there`)
              else assert.ok(isInjected(err), `${where}: ${String(err)}`)
              return
            }
            if (op.kind === 'set') model.set(op.key, op.value)
            else if (op.kind === 'delete') assert.ok(model.delete(op.key), `${where}: the key was not there`)
            else if (op.kind === 'get') assert.equal(outcome.value, model.get(op.key), where)
          }
          const call = (op: Op): Promise<unknown> => {
            if (op.kind === 'set') return map.set(op.key, op.value)
            if (op.kind === 'delete') return map.delete(op.key)
            if (op.kind === 'get') return map.get(op.key)
            if (op.kind === 'flush') return map.flush()
            return map.clearCache()
          }
          store.failRate = 0.1
          for (const { op, awaited } of steps) {
            const made = call(op)
            made.catch(() => {})
            pending.push({ op, call: made })
            if (awaited) await settle()
          }
          await settle()
          store.failRate = 0
          await assertSound(map)
          const root = await map.flush()
          const reopened = await HAMT.open<number>(root, { store: inner })
          const entries = new Map<string, number>()
          for await (const [key, value] of reopened) entries.set(key, value)
          assert.deepEqual(entries, model)
          for (const key of ['k0', 'k1', 'k150', 'k300']) assert.equal(await map.get(key), model.get(key))
        },
      ),
      { numRuns: 120, seed },
    )
  })
})
