// HAMT.setMany against the reference it must equal (`set` of each entry in order), its place in call
// order, and all-or-nothing failures. A fresh seed each run; TS_HAMT_SEED=<seed> replays one.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { ContentAddressedStore, LoadOptions, StoreId } from '../src/cas/interface.js'
import { HAMT, type HashFn, isHamtError, MemoryStore } from '../src/index.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { assertSound, firstCharHash } from './helpers/maps.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

/** Two hash bytes from a weak mix of the key bytes: many keys share each prefix, so buckets split. */
const twoByteHash: HashFn = (data) => {
  let h = 0x811c
  for (const byte of data) h = ((h ^ byte) * 31) & 0xffff
  return Uint8Array.of(h >> 8, h & 0xff)
}

const keyArb = fc.oneof(fc.integer({ min: 0, max: 200 }).map(String), fc.string({ maxLength: 5 }))
const entriesArb = fc.array(fc.tuple(keyArb, fc.integer()), { maxLength: 120 })

/** A writable map on `store` holding `before`: flushed and reopened cold when `flushed`, else dirty. */
async function mapWith(
  store: ContentAddressedStore,
  before: Array<[string, number]>,
  flushed: boolean,
  hashFn?: HashFn,
): Promise<HAMT<number>> {
  const options = { store, maxBucketSize: 2, ...(hashFn ? { hashFn } : {}) }
  const map = await HAMT.create<number>(options)
  for (const [key, value] of before) await map.set(key, value)
  if (!flushed) return map
  return HAMT.open<number>(await map.flush(), { ...options, readOnly: false })
}

/** The root `before`'s map has once it also holds `after`, entry by entry. */
async function rootAfterSets(
  before: Array<[string, number]>,
  after: Array<[string, number]>,
  hashFn?: HashFn,
): Promise<StoreId> {
  const map = await mapWith(await MemoryStore.create(), before, false, hashFn)
  for (const [key, value] of after) await map.set(key, value)
  return map.flush()
}

const isCode =
  (code: string) =>
  (err: unknown): boolean =>
    isHamtError(err) && err.code === code

describe('HAMT.setMany', () => {
  it('gives the tree that set of each entry in order gives, on dirty and cold maps', async () => {
    await fc.assert(
      fc.asyncProperty(
        entriesArb,
        entriesArb,
        fc.boolean(),
        fc.constantFrom(undefined, twoByteHash),
        async (before, after, flushed, hashFn) => {
          const map = await mapWith(await MemoryStore.create(), before, flushed, hashFn)
          await map.setMany(after)
          const want = new Map([...before, ...after])
          assert.equal(await map.size(), want.size)
          for (const [key, value] of want) assert.equal(await map.get(key), value)
          assert.deepEqual(await map.flush(), await rootAfterSets(before, after, hashFn))
          await assertSound(map)
        },
      ),
      { seed, numRuns: 60 },
    )
  })

  it('takes its place in call order like set', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    const calls = [
      map.set('a', 1),
      map.setMany([
        ['a', 2],
        ['b', 2],
      ]),
      map.get('a'),
      map.set('b', 3),
      map.get('b'),
    ]
    const results = await Promise.all(calls)
    assert.deepEqual(results.slice(2), [2, undefined, 3])
  })

  it('refuses a bad entry at call time, naming it, and changes nothing', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [[['ok', 1], ['x', 2, 'extra'], 'not an entry'], /entry 2 must be a \[key, value\] array/],
      [
        [
          ['ok', 1],
          [7, 2],
        ],
        /key must be a string/,
      ],
      [
        [
          ['ok', 1],
          ['\ud800', 2],
        ],
        /not well-formed/,
      ],
      [
        [
          ['ok', 1],
          ['f', () => 1],
        ],
        /value of "f" cannot be encoded/,
      ],
      [42, /entries must be an iterable/],
    ]
    const store = await MemoryStore.create()
    const map = await mapWith(store, [['kept', 0]], false)
    for (const [entries, message] of bad) {
      await assert.rejects(
        map.setMany(entries as Iterable<[string, number]>),
        (err: unknown) =>
          (isCode('ERR_INVALID_ARGUMENT')(err) || isCode('ERR_INVALID_VALUE')(err)) &&
          message.test((err as Error).message),
      )
      assert.equal(await map.has('ok'), false)
    }
    await map.setMany([['ok', 1]])
    assert.deepEqual(await map.flush(), await rootAfterSets([['kept', 0]], [['ok', 1]]))
  })

  it('changes nothing when a key mid-batch exhausts its hash, on a dirty map, and a retry succeeds', async () => {
    // One-byte hashes and buckets of 1: 'a1' and 'a2' share their only byte, so the second cannot go.
    const options = { store: await MemoryStore.create(), hashFn: firstCharHash, maxBucketSize: 1 }
    const map = await HAMT.create<number>(options)
    await map.set('b', 0)
    await map.set('c', 0)
    const reference = await HAMT.create<number>({ ...options, store: await MemoryStore.create() })
    await reference.set('b', 0)
    await reference.set('c', 0)
    await assert.rejects(
      map.setMany([
        ['b', 1],
        ['d', 1],
        ['a1', 1],
        ['a2', 2],
      ]),
      isCode('ERR_HASH_EXHAUSTED'),
    )
    assert.deepEqual([await map.get('b'), await map.has('d'), await map.has('a1')], [0, false, false])
    assert.equal(await map.size(), 2)
    assert.deepEqual(await map.flush(), await reference.flush())
    await map.setMany([
      ['b', 1],
      ['d', 1],
    ])
    assert.deepEqual([await map.get('b'), await map.get('d')], [1, 1])
  })

  it('changes nothing when a value upload fails, and a retry succeeds', async () => {
    const before: Array<[string, number]> = Array.from({ length: 50 }, (_, i) => [`k${i}`, i])
    const after: Array<[string, number]> = Array.from({ length: 40 }, (_, i) => [`n${i}`, i])
    const store = new InstrumentedStore(await MemoryStore.create())
    const map = await mapWith(store, before, false)
    store.failOn({ op: 'save', after: 25 })
    await assert.rejects(
      map.setMany(after),
      (err) => isCode('ERR_STORE')(err) && /injected/.test(String(err)),
    )
    assert.equal(await map.has('n0'), false)
    assert.equal(await map.size(), 50)
    store.heal()
    await map.setMany(after)
    assert.deepEqual(await map.flush(), await rootAfterSets(before, after))
  })

  it('changes nothing when a node load fails mid-batch, and a retry succeeds', async () => {
    const before: Array<[string, number]> = Array.from({ length: 400 }, (_, i) => [`k${i}`, i])
    const after: Array<[string, number]> = Array.from({ length: 60 }, (_, i) => [`k${i * 7}`, -i])
    const store = new InstrumentedStore(await MemoryStore.create())
    const map = await mapWith(store, before, true)
    const root = await map.flush()
    const loads = store.loads
    store.failOn({ op: 'load', after: 10 })
    await assert.rejects(
      map.setMany(after),
      (err) => isCode('ERR_STORE')(err) && /injected/.test(String(err)),
    )
    assert.ok(store.loads - loads >= 9, 'the failure came after some entries were applied')
    assert.equal(map.hasUnflushedChanges, false)
    assert.deepEqual(await map.flush(), root)
    assert.equal(await map.get('k7'), 7)
    store.heal()
    await map.setMany(after)
    assert.deepEqual(await map.flush(), await rootAfterSets(before, after))
  })

  it('changes nothing when its signal fires mid-batch', async () => {
    const before: Array<[string, number]> = Array.from({ length: 400 }, (_, i) => [`k${i}`, i])
    const controller = new AbortController()
    const inner = await MemoryStore.create()
    let loads = 0
    // Fires the abort from inside the 5th node load, which then succeeds: the batch is half applied.
    const store: ContentAddressedStore = {
      save: (data, codec, options) => inner.save(data, codec, options),
      load: async (id: StoreId, options?: LoadOptions) => {
        if (++loads === 5) controller.abort(new Error('stop'))
        return inner.load(id, options)
      },
    }
    const map = await mapWith(store, before, true)
    const root = await map.flush()
    loads = 0
    const after: Array<[string, number]> = Array.from({ length: 60 }, (_, i) => [`k${i * 5}`, -1])
    await assert.rejects(map.setMany(after, { signal: controller.signal }), /stop/)
    assert.deepEqual(await map.flush(), root)
    assert.equal(await map.get('k0'), 0)
  })

  it('is refused on a read-only map', async () => {
    const store = await MemoryStore.create()
    const root = await (await mapWith(store, [['a', 1]], false)).flush()
    const map = await HAMT.open<number>(root, { store })
    await assert.rejects(map.setMany([['b', 2]]), isCode('ERR_READ_ONLY'))
  })
})
