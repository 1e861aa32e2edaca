// HAMT.fromEntries against the reference it must equal: `set` of every entry in order, then `flush`.
// A fresh seed each run; TS_HAMT_SEED=<seed> replays one.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core/memory'
import fc from 'fast-check'
import type { Codec, ContentAddressedStore, StoreId } from '../src/cas/interface.js'
import {
  BlockstoreStore,
  HAMT,
  type HAMTOptions,
  type HashFn,
  isHamtError,
  MemoryStore,
} from '../src/index.js'
import { ipldValue } from './helpers/arbitraries.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

/** Keys from a small pool (so they repeat) and arbitrary strings, empty included. */
const keyArb = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.string({ maxLength: 6 }))

/** Two hash bytes from a weak mix of the key bytes: many keys share each prefix. */
const twoByteHash: HashFn = (data) => {
  let h = 0x811c
  for (const byte of data) h = ((h ^ byte) * 31) & 0xffff
  return Uint8Array.of(h >> 8, h & 0xff)
}

/** Four bytes, the first two the same for every key: every key collides on the root and depth 1. */
const sharedPrefixHash: HashFn = (data) => {
  let h = 0x2345
  for (const byte of data) h = Math.imul(h ^ byte, 0x01000193) >>> 0
  return Uint8Array.of(0xab, 0xcd, h >>> 24, (h >>> 16) & 0xff)
}

const hashes: Record<string, HashFn | undefined> = {
  blake3: undefined,
  twoByte: twoByteHash,
  sharedPrefix: sharedPrefixHash,
}

type Outcome = { root: StoreId } | { code: string }

/** What `set` of every entry and `flush` give: the root, or the code of the error that stopped them. */
async function reference(entries: Array<[string, unknown]>, options: HAMTOptions): Promise<Outcome> {
  const map = await HAMT.create(options)
  try {
    for (const [key, value] of entries) await map.set(key, value)
    return { root: await map.flush() }
  } catch (err) {
    if (!isHamtError(err)) throw err
    return { code: err.code }
  }
}

async function bulk(
  entries: Iterable<[string, unknown]> | AsyncIterable<[string, unknown]>,
  options: HAMTOptions,
): Promise<Outcome & { map?: HAMT }> {
  try {
    const map = await HAMT.fromEntries(entries, options)
    return { root: map.rootId, map }
  } catch (err) {
    if (!isHamtError(err)) throw err
    return { code: err.code }
  }
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item
}

async function assertSameAsSetAndFlush(
  entries: Array<[string, unknown]>,
  options: Omit<HAMTOptions, 'store'>,
  async = false,
): Promise<void> {
  const expected = await reference(entries, { ...options, store: await MemoryStore.create() })
  const store = await MemoryStore.create()
  const got = await bulk(async ? asAsync(entries) : entries, { ...options, store })
  if ('code' in expected) {
    assert.equal('code' in got && got.code, expected.code, 'fromEntries fails as set does')
    return
  }
  assert.ok('root' in got, `fromEntries failed with ${'code' in got ? got.code : ''}`)
  assert.deepEqual(got.root, expected.root, 'same root as set + flush')
  const map = got.map as HAMT
  const model = new Map(entries)
  assert.equal(await map.size(), model.size)
  assert.equal(map.hasUnflushedChanges, false)
  // Compared as DAG-CBOR: a value read back is a plain object where fast-check may give a null-prototype one.
  const encoded = (value: unknown): unknown => (options.valuesAreBytes ? value : dagCbor.encode(value))
  for (const [key, value] of model) assert.deepEqual(encoded(await map.get(key)), encoded(value), key)
  const verified = await map.verify()
  assert.deepEqual(verified.problems, [])
  assert.equal(verified.keyCount, model.size)
}

describe('HAMT.fromEntries gives the root of set + flush', () => {
  const entriesArb = fc.array(fc.tuple(keyArb, ipldValue), { maxLength: 400, size: 'max' })

  for (const [name, hashFn] of Object.entries(hashes)) {
    it(`random contents, ${name} hash, bucket sizes 1–8, sync and async iterables`, async () => {
      await fc.assert(
        fc.asyncProperty(
          entriesArb,
          fc.integer({ min: 1, max: 8 }),
          fc.boolean(),
          async (entries, maxBucketSize, async) =>
            assertSameAsSetAndFlush(entries as Array<[string, unknown]>, { hashFn, maxBucketSize }, async),
        ),
        { numRuns: 40, seed },
      )
    })
  }

  it('empty, one key, and one key repeated (last value wins)', async () => {
    await assertSameAsSetAndFlush([], {})
    await assertSameAsSetAndFlush([['only', { a: 1 }]], {})
    await assertSameAsSetAndFlush(
      Array.from({ length: 50 }, (_, i) => ['same', i] as [string, unknown]),
      { maxBucketSize: 1 },
    )
    const store = await MemoryStore.create()
    const map = await HAMT.fromEntries(
      [
        ['k', 1],
        ['k', 2],
        ['j', 0],
        ['k', 3],
      ],
      { store },
    )
    assert.equal(await map.get('k'), 3)
    assert.equal(await map.size(), 2)
  })

  it('a Map, a generator and byte values (valuesAreBytes)', async () => {
    const entries = Array.from(
      { length: 3000 },
      (_, i) => [`key/${i % 2500}`, new TextEncoder().encode(`value-${i}`)] as [string, unknown],
    )
    await assertSameAsSetAndFlush(entries, { valuesAreBytes: true, maxBucketSize: 3 })
    await assertSameAsSetAndFlush(entries, { valuesAreBytes: true }, true)
    const store = await MemoryStore.create()
    const fromMap = await HAMT.fromEntries(new Map(entries), { store, valuesAreBytes: true })
    const fromGenerator = await HAMT.fromEntries(
      (function* () {
        yield* entries
      })(),
      { store, valuesAreBytes: true },
    )
    assert.deepEqual(fromMap.rootId, fromGenerator.rootId)
  })

  it('keys that exhaust the hash: the same ERR_HASH_EXHAUSTED as set, unless repeats keep a bucket', async () => {
    const oneByte: HashFn = () => Uint8Array.of(7)
    const three = [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as Array<[string, unknown]>
    await assertSameAsSetAndFlush(three, { hashFn: oneByte, maxBucketSize: 2 })
    const got = await bulk(three, { hashFn: oneByte, maxBucketSize: 2, store: await MemoryStore.create() })
    assert.equal('code' in got && got.code, 'ERR_HASH_EXHAUSTED')
    // Many entries but two distinct keys fit one bucket.
    const repeats = Array.from({ length: 100 }, (_, i) => [i % 2 ? 'a' : 'b', i] as [string, unknown])
    await assertSameAsSetAndFlush(repeats, { hashFn: oneByte, maxBucketSize: 2 })
  })

  it('the map returned is writable and goes on as a set-built one would', async () => {
    const store = await MemoryStore.create()
    const entries = Array.from({ length: 500 }, (_, i) => [`k${i}`, i] as [string, number])
    const map = await HAMT.fromEntries<number>(entries, { store, maxBucketSize: 2 })
    await map.set('extra', -1)
    await map.delete('k7')
    const reference = await HAMT.create<number>({ store, maxBucketSize: 2 })
    for (const [k, v] of entries) if (k !== 'k7') await reference.set(k, v)
    await reference.set('extra', -1)
    assert.deepEqual(await map.flush(), await reference.flush())
  })

  it('IDs a node cannot hold as places (CIDs, byte IDs of 256 bytes and more, mixed lengths) build and edit as set does', async () => {
    const stores: Record<string, () => Promise<ContentAddressedStore>> = {
      cids: async () => new BlockstoreStore(new MemoryBlockstore()),
      'long and short byte IDs': async () => new PaddedIdStore(await MemoryStore.create()),
    }
    const entries = Array.from({ length: 2000 }, (_, i) => [`k${i % 1700}`, i] as [string, number])
    for (const [name, make] of Object.entries(stores)) {
      for (const maxBucketSize of [1, 3]) {
        const reference = await HAMT.create<number>({ store: await make(), maxBucketSize })
        for (const [k, v] of entries) await reference.set(k, v)
        const store = await make()
        const map = await HAMT.fromEntries<number>(entries, { store, maxBucketSize })
        assert.deepEqual(map.rootId, await reference.flush(), `${name}, bucket size ${maxBucketSize}`)
        for (const [k] of entries.slice(-300)) assert.equal(await map.get(k), await reference.get(k), k)
        // The root's buckets go on: an edit keeps the other pointers of the node it changes.
        for (const map_ of [map, reference]) {
          await map_.set('extra', -1)
          await map_.delete('k7')
          await map_.set('k9', 99)
        }
        assert.deepEqual(await map.flush(), await reference.flush(), `${name} after edits`)
        assert.deepEqual((await map.verify()).problems, [])
      }
    }
  })
})

/** A store over MemoryStore whose IDs are its IDs padded to 40 or 300 bytes (by the block's last byte). */
class PaddedIdStore implements ContentAddressedStore {
  readonly #inner: MemoryStore
  constructor(inner: MemoryStore) {
    this.#inner = inner
  }

  async save(data: Uint8Array, codec: Codec): Promise<StoreId> {
    const id = (await this.#inner.save(data, codec)) as Uint8Array
    const padded = new Uint8Array(((data.at(-1) as number) & 1) === 0 ? 40 : 300).fill(0xee)
    padded.set(id)
    return padded
  }

  async load(id: StoreId): Promise<Uint8Array> {
    return this.#inner.load((id as Uint8Array).subarray(0, 34))
  }
}
