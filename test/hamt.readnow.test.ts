// Lookups over a MemoryStore read nodes and values without a promise (READ_NOW) when they may run at
// once, and through the store's `load` otherwise (writes queued, ranges, telemetry, a patched `load`).
// Both paths interleaved, with evicting caches and readers of flushed roots, must give what a Map
// applied in call order gives; and the IDs the map hands out are the caller's to keep or transfer.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { encodeDagCbor } from '../src/codec/dag-cbor.js'
import { HAMT, isHamtError, MemoryStore, type StoreId } from '../src/index.js'
import { assertSound } from './helpers/maps.js'
import { testSeed } from './helpers/random.js'
import { ticksToSettle } from './helpers/ticks.js'

await loadBlake3()
const seed = testSeed()

const keyArb = fc.integer({ min: 0, max: 400 }).map((i) => `k${i}`)
const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('range' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('has' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reader' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clearCache' as const }) },
)
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never

describe('lookups without a promise over a memory store', () => {
  it('interleaved with queued writes, ranges and readers of flushed roots, they match a Map in call order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: opArb, awaited: fc.boolean() }), { minLength: 1, maxLength: 150 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0, 3000, 1 << 20),
        async (steps, maxBucketSize, cacheBytes) => {
          const store = await MemoryStore.create()
          const map = await HAMT.create<number>({ store, maxBucketSize, cacheBytes })
          const model = new Map<string, number>()
          // A read-only map of the last flushed root, read on the promise-free path, and its content.
          let reader: HAMT<number> | undefined
          let flushed = new Map<string, number>()
          let pending: { op: Op; call: Promise<unknown>; want: unknown }[] = []
          const settle = async (): Promise<void> => {
            const outcomes = await Promise.allSettled(pending.map((p) => p.call))
            for (const [i, { op, want }] of pending.entries()) {
              const outcome = outcomes[i] as PromiseSettledResult<unknown>
              const where = `${JSON.stringify(op)} → ${outcome.status}`
              if (outcome.status === 'rejected') {
                assert.ok(op.kind === 'delete' && isHamtError(outcome.reason, 'ERR_KEY_NOT_FOUND'), where)
                assert.equal(want, false, `${where}: the key was there`)
              } else if (op.kind !== 'flush' && op.kind !== 'clearCache') {
                assert.deepEqual(outcome.value, want, where)
              }
            }
            pending = []
          }
          // The model is applied at the call, as the map orders calls; `want` is the answer then.
          const call = (op: Op): { call: Promise<unknown>; want: unknown } => {
            switch (op.kind) {
              case 'set':
                model.set(op.key, op.value)
                return { call: map.set(op.key, op.value), want: undefined }
              case 'delete':
                return { call: map.delete(op.key), want: model.delete(op.key) ? undefined : false }
              case 'get':
                return { call: map.get(op.key), want: model.get(op.key) }
              case 'range': {
                const value = model.get(op.key)
                const want = value === undefined ? undefined : encodeDagCbor(value).subarray(1)
                const range = { offset: 1 }
                return { call: map.get(op.key, { range }).then((b) => b && Uint8Array.from(b)), want }
              }
              case 'has':
                return { call: map.has(op.key), want: model.has(op.key) }
              case 'reader':
                return { call: reader?.get(op.key) ?? Promise.resolve(), want: reader && flushed.get(op.key) }
              case 'flush': {
                const snapshot = new Map(model)
                const made = map.flush().then(async (root) => {
                  reader = await HAMT.open<number>(root, { store, cacheBytes })
                  flushed = snapshot
                })
                return { call: made, want: undefined }
              }
              case 'clearCache':
                return { call: map.clearCache(), want: undefined }
            }
          }
          for (const { op, awaited } of steps) {
            const made = call(op)
            made.call.catch(() => {})
            pending.push({ op, ...made })
            if (awaited) await settle()
          }
          await settle()
          await assertSound(map)
          const reopened = await HAMT.open<number>(await map.flush(), { store, cacheBytes })
          const entries = new Map<string, number>()
          for await (const [key, value] of reopened) entries.set(key, value)
          assert.deepEqual(entries, model)
          for (let i = 0; i <= 400; i += 7) assert.equal(await reopened.get(`k${i}`), model.get(`k${i}`))
        },
      ),
      { numRuns: 150, seed },
    )
  })

  it('a get settles in one microtask tick when nothing waits, its nodes cached or not', async () => {
    const store = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 3000; i++) await writer.set(`key-${i}`, i)
    const map = await HAMT.open<number>(await writer.flush(), { store, cacheBytes: 0 })
    for (const key of ['key-1', 'key-2999', 'absent']) {
      const get = map.get(key)
      assert.equal(await ticksToSettle(get), 1, `${key}: no node cached`)
      assert.equal(await get, key === 'absent' ? undefined : Number(key.slice(4)))
    }
    const warm = await HAMT.open<number>(writer.rootId, { store })
    await warm.get('key-7')
    assert.equal(await ticksToSettle(warm.get('key-7')), 1, 'cached path')
    assert.equal(await ticksToSettle(warm.has('key-8')), 1, 'has')
  })

  it('IDs from getPointer, pointers(), rootId and given to open are the caller own: transferring their buffers leaves the map whole', async () => {
    const store = await MemoryStore.create()
    for (const readOnly of [false, true]) {
      const writer = await HAMT.create<number>({ store })
      for (let i = 0; i < 600; i++) await writer.set(`key-${i}`, i)
      const root = await writer.flush()
      // The opened map reads its root again at every get (no cache), by the ID it was given.
      const map = readOnly ? await HAMT.open<number>(root, { store, cacheBytes: 0 }) : writer
      const given: StoreId[] = [(await map.getPointer('key-5')) as StoreId]
      for await (const [, pointer] of map.pointers()) given.push(pointer)
      if (readOnly) given.push(map.rootId, root)
      for (const id of given) {
        const bytes = id as Uint8Array
        assert.equal(bytes.byteLength, bytes.buffer.byteLength, 'an ID in a buffer of its own')
        structuredClone(bytes.buffer, { transfer: [bytes.buffer] })
      }
      for (let i = 0; i < 600; i++) assert.equal(await map.get(`key-${i}`), i, `readOnly ${readOnly}`)
      assert.deepEqual((await map.verify()).problems, [])
    }
  })

  it('a memory store whose load is replaced is read through that load', async () => {
    const inner = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store: inner })
    for (let i = 0; i < 2000; i++) await writer.set(`key-${i}`, i)
    const root = await writer.flush()
    let loads = 0
    const store = Object.create(inner) as MemoryStore
    store.load = async (id, options) => {
      loads++
      return inner.load(id, options)
    }
    const map = await HAMT.open<number>(root, { store, cacheBytes: 0 })
    loads = 0
    assert.equal(await map.get('key-1234'), 1234)
    // At least the nodes below the root and the value: none bypassed the replaced load.
    assert.ok(loads >= 2, `${loads} loads`)
  })

  it("a Proxy over a memory store whose traps bind methods to it is read through the trap's load", async () => {
    const inner = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store: inner })
    for (let i = 0; i < 2000; i++) await writer.set(`key-${i}`, i)
    const root = await writer.flush()
    let loads = 0
    // As a caller wraps a store to count or trace its loads; every other member bound to the store.
    const store = new Proxy(inner, {
      get(target, name) {
        const value = Reflect.get(target, name, target)
        if (name !== 'load') return typeof value === 'function' ? value.bind(target) : value
        return (id: Uint8Array, options?: { signal?: AbortSignal }) => {
          loads++
          return target.load(id, options)
        }
      },
    })
    const map = await HAMT.open<number>(root, { store, cacheBytes: 0 })
    loads = 0
    assert.equal(await map.get('key-1234'), 1234)
    assert.ok(loads >= 2, `${loads} loads`)
  })
})

describe('values decoded from the memory store without a copy', () => {
  it('a decoded value shares no bytes with the store: changing it changes neither the store nor later gets', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<unknown>({ store })
    const cid = CID.createV1(0x55, blake3Hasher.digest(new Uint8Array([1, 2, 3])))
    const values: Record<string, unknown> = {
      int: 7,
      negative: -300,
      big: 2 ** 40,
      float: 1.5,
      text: 'héllo',
      bool: true,
      null: null,
      bytes: new Uint8Array([9, 8, 7]),
      cid,
      nested: { b: new Uint8Array([5, 5]), c: [cid] },
    }
    for (const [key, value] of Object.entries(values)) await map.set(key, value)
    const reader = await HAMT.open<unknown>(await map.flush(), { store, readOnly: true })
    const before = [...store.blocks()].map(([, bytes]) => Buffer.from(bytes).toString('hex')).sort()
    for (const target of [map, reader]) {
      for (const [key, value] of Object.entries(values)) {
        const got = await target.get(key)
        assert.deepEqual(got, value, key)
        // Scribble over every byte the decoded value shares with anything.
        if (got instanceof Uint8Array) got.fill(0xff)
        if (CID.asCID(got) !== null) (got as CID).bytes.fill(0xff)
        if (key === 'nested') {
          const nested = got as { b: Uint8Array; c: CID[] }
          nested.b.fill(0xff)
          nested.c[0]?.bytes.fill(0xff)
        }
        assert.deepEqual(await target.get(key), value, `${key} read again`)
      }
    }
    // A bytes map hands the stored bytes out as they are: always a copy.
    const raw = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await raw.set('raw', new Uint8Array([4, 4, 4]))
    const got = (await raw.get('raw')) as Uint8Array
    got.fill(0xff)
    assert.deepEqual(await raw.get('raw'), new Uint8Array([4, 4, 4]))
    const after = [...store.blocks()].map(([, bytes]) => Buffer.from(bytes).toString('hex'))
    assert.deepEqual(after.slice(0, before.length).sort(), before)
  })
  it('values decoded from borrowed bytes keep their own: a later get changes no earlier value', async () => {
    const map = await HAMT.create<unknown>({ store: await MemoryStore.create() })
    const values = Array.from({ length: 40 }, (_, i) => ({ b: Uint8Array.of(i, i + 1), s: `v${i}`, n: i }))
    for (const [i, value] of values.entries()) await map.set(`k${i}`, value)
    await map.flush()
    const got = []
    for (let i = 0; i < values.length; i++) got.push(await map.get(`k${i}`))
    assert.deepEqual(got, values)
  })
})
