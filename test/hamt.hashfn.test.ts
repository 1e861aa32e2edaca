import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { blake3 } from '../src/hash/blake3.js'
import { HAMT, type HashFn, isHamtError, MemoryStore } from '../src/index.js'
import { assertSound } from './helpers/maps.js'

/** BLAKE3, except for keys whose UTF-8 starts with `bad`: there, `misbehave` answers instead. */
function hashFailingOn(misbehave: (data: Uint8Array) => unknown): HashFn {
  return (data) => {
    if (data[0] === 0x62 && data[1] === 0x61 && data[2] === 0x64) return misbehave(data) as Uint8Array
    return blake3(data)
  }
}

/** A map holding a few keys, flushed, with the root it flushed to. */
async function filledMap(hashFn: HashFn): Promise<{ map: HAMT<number>; root: unknown }> {
  const map = await HAMT.create<number>({ store: await MemoryStore.create(), hashFn, maxBucketSize: 1 })
  for (let i = 0; i < 50; i++) await map.set(`k${i}`, i)
  return { map, root: await map.flush() }
}

const cases: Array<[string, (data: Uint8Array) => unknown, RegExp]> = [
  [
    'throws',
    () => {
      throw new TypeError('user hash broke')
    },
    /hashFn threw for key "bad.*user hash broke/,
  ],
  ['returns a string', () => 'abc', /must return a Uint8Array, got string/],
  ['returns a shorter hash', (data) => blake3(data).subarray(0, 8), /returned 8 bytes for key "bad.*but 32/],
  ['returns a longer hash', () => new Uint8Array(40), /returned 40 bytes/],
  ['returns an empty hash', () => new Uint8Array(0), /returned 0 bytes/],
]

describe('a user hashFn that misbehaves for some keys', () => {
  for (const [what, misbehave, message] of cases) {
    it(`${what}: every call is ERR_INVALID_HASH and the map stays as it was`, async () => {
      const { map, root } = await filledMap(hashFailingOn(misbehave))
      const isInvalidHash = (err: unknown): boolean => {
        assert.ok(isHamtError(err, 'ERR_INVALID_HASH'), String(err))
        assert.match((err as Error).message, message)
        if (what === 'throws') assert.equal(((err as Error).cause as Error).message, 'user hash broke')
        return true
      }
      await assert.rejects(map.set('bad1', 1), isInvalidHash)
      await assert.rejects(map.setPointer('bad2', root as Uint8Array), isInvalidHash)
      await assert.rejects(map.delete('bad3'), isInvalidHash)
      await assert.rejects(map.get('bad4'), isInvalidHash)
      await assert.rejects(map.has('bad5'), isInvalidHash)
      assert.deepEqual(await map.flush(), root, 'nothing changed')
      assert.equal(await map.size(), 50)
      // Later calls go on working.
      await map.set('k50', 50)
      assert.equal(await map.get('k50'), 50)
      await assertSound(map)
    })
  }

  it('a hashFn that throws at creation is ERR_INVALID_HASH with the cause kept', async () => {
    const cause = new Error('no')
    await assert.rejects(
      HAMT.create({
        store: await MemoryStore.create(),
        hashFn: () => {
          throw cause
        },
      }),
      (err: unknown) => isHamtError(err, 'ERR_INVALID_HASH') && (err as Error).cause === cause,
    )
  })
})

describe('a user hashFn that reuses one output buffer (as WASM hashers that return a view may)', () => {
  /** BLAKE3 written into one buffer that every call returns: each call overwrites the last digest. */
  function sharedBufferHash(kind: 'Uint8Array' | 'Buffer' = 'Uint8Array'): HashFn {
    // A Node Buffer too: its own `slice` is a view, so a copy made with it is no copy.
    const out = kind === 'Buffer' ? Buffer.alloc(32) : new Uint8Array(32)
    return (data) => {
      out.set(blake3(data))
      return out
    }
  }

  for (const kind of ['Uint8Array', 'Buffer'] as const)
    it(`builds the same tree as BLAKE3 itself, sequential and concurrent writes alike (a ${kind})`, async () => {
      const store = await MemoryStore.create()
      const keys = Array.from({ length: 300 }, (_, i) => `k${i}`)
      const expected = await HAMT.create<number>({ store, maxBucketSize: 1 })
      for (const [i, key] of keys.entries()) await expected.set(key, i)
      for (const key of keys.slice(0, 100)) await expected.delete(key)
      const expectedRoot = await expected.flush()

      const sequential = await HAMT.create<number>({
        store,
        maxBucketSize: 1,
        hashFn: sharedBufferHash(kind),
      })
      for (const [i, key] of keys.entries()) await sequential.set(key, i)
      for (const key of keys.slice(0, 100)) await sequential.delete(key)
      assert.deepEqual(await sequential.flush(), expectedRoot)

      const concurrent = await HAMT.create<number>({
        store,
        maxBucketSize: 1,
        hashFn: sharedBufferHash(kind),
      })
      await Promise.all(keys.map((key, i) => concurrent.set(key, i)))
      await Promise.all(keys.slice(0, 100).map((key) => concurrent.delete(key)))
      assert.deepEqual(await concurrent.flush(), expectedRoot)
      const reader = await HAMT.open<number>(expectedRoot, {
        store,
        maxBucketSize: 1,
        hashFn: sharedBufferHash(kind),
        readOnly: false,
      })
      const found = await Promise.all(keys.map((key) => reader.get(key)))
      assert.deepEqual(
        found,
        keys.map((_, i) => (i < 100 ? undefined : i)),
      )
      await assertSound(reader)
    })
})
