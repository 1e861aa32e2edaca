// Outside review of this session's read paths that hand out or keep bytes without copying (READ_NOW's
// borrow, IDs as places in the node block): what a caller gets must be its own, and what a caller
// gave must have been copied. Node's Buffer is a Uint8Array whose `slice` is a view, not a copy: a
// store (or a caller) handing Buffers in must not make a "copy" share memory.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { encodeDagCbor } from '../src/codec/dag-cbor.js'
import {
  BlockstoreStore,
  type Codec,
  type ContentAddressedStore,
  HAMT,
  MemoryStore,
  type StoreId,
} from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256)
  return bytes
}

/**
 * A user's store in Node over a MemoryStore that answers with Buffers, as a store reading files with
 * `fs.readFile` or taking `Buffer.from` copies does (small ones are views into Node's shared pool).
 */
class BufferStore implements ContentAddressedStore {
  constructor(readonly inner: MemoryStore) {}
  save(data: Uint8Array, codec: Codec): Promise<StoreId> {
    return this.inner.save(data, codec)
  }
  async load(id: StoreId): Promise<Uint8Array> {
    return Buffer.from(await this.inner.load(id))
  }
}

describe('bytes given to a MemoryStore are copied, also from a Buffer', () => {
  for (const length of [100, 4096, 4097, 70_000]) {
    it(`save of a ${length}-byte Buffer, then the Buffer changed: load gives the saved bytes`, async () => {
      const store = await MemoryStore.create()
      const original = randomBytes(length)
      const buffer = Buffer.from(original)
      const id = await store.save(buffer, 'raw')
      buffer.fill(0xee)
      assert.deepEqual(await store.load(id), original)
      assert.deepEqual(id, blake3Hasher.digest(original).bytes)
    })
  }

  it('a bytes map set from a 5000-byte Buffer the caller then reuses still gets what was set', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const original = randomBytes(5000)
    const buffer = Buffer.from(original)
    await map.set('k', buffer)
    buffer.fill(0)
    assert.deepEqual(new Uint8Array((await map.get('k')) as Uint8Array), original)
    const root = await map.flush()
    const reopened = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true })
    assert.deepEqual(new Uint8Array((await reopened.get('k')) as Uint8Array), original)
  })
})

describe("values from get over a MemoryStore (decoded from its own bytes) are the caller's", () => {
  for (const length of [0, 1, 64, 4000, 4100, 100_000]) {
    it(`a value with a ${length}-byte field, changed after get, reads back unchanged`, async () => {
      const store = await MemoryStore.create()
      const map = await HAMT.create<{ b: Uint8Array; s: string }>({ store })
      const original = randomBytes(length)
      await map.set('k', { b: original, s: 'x' })
      for (const reader of [
        map,
        await HAMT.open<{ b: Uint8Array; s: string }>(await map.flush(), { store }),
      ]) {
        const got = (await reader.get('k')) as { b: Uint8Array; s: string }
        assert.deepEqual(got.b, original)
        got.b.fill(0x5a)
        const again = (await reader.get('k')) as { b: Uint8Array; s: string }
        assert.deepEqual(again.b, original)
        if (length > 0) assert.notEqual(again.b.buffer, got.b.buffer)
      }
    })
  }
})

describe("IDs a map hands out are its caller's, also over a store that answers with Buffers", () => {
  it('getPointer and pointers() results changed by the caller leave the map reading what it holds', async () => {
    const inner = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store: inner, maxBucketSize: 3 })
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}-${seed % 997}`)
    for (const [i, key] of keys.entries()) await writer.set(key, i)
    const root = await writer.flush()
    const map = await HAMT.open<number>(root, { store: new BufferStore(inner) })
    const expected = new Map<string, Uint8Array>()
    for (const key of keys) expected.set(key, ((await writer.getPointer(key)) as Uint8Array).slice())
    for (const key of keys) {
      const pointer = (await map.getPointer(key)) as Uint8Array
      assert.deepEqual(pointer, expected.get(key))
      pointer.fill(0) // the caller's to change
    }
    for await (const [, pointer] of map.pointers()) (pointer as Uint8Array).fill(1)
    for (const [i, key] of keys.entries()) {
      assert.deepEqual(await map.getPointer(key), expected.get(key), key)
      assert.equal(await map.get(key), i)
    }
  })

  it('a root ID opened from a Buffer the caller then reuses names the same map', async () => {
    const inner = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store: inner })
    await writer.set('a', 1)
    const root = (await writer.flush()) as Uint8Array
    const given = Buffer.from(root)
    const map = await HAMT.open<number>(given, { store: new BufferStore(inner) })
    given.fill(0)
    assert.deepEqual(map.rootId, root)
    assert.equal(await map.get('a'), 1)
  })
})

// A check that the Buffer store above really answers with views into a shared buffer (else the
// tests above could not fail): encodeDagCbor of a small value, through Buffer.from, is pooled.
it('the Buffer store answers small blocks with views into a shared buffer', async () => {
  const inner = await MemoryStore.create()
  const id = await inner.save(encodeDagCbor(1), 'dag-cbor')
  const bytes = await new BufferStore(inner).load(id)
  assert.ok(bytes.byteLength < bytes.buffer.byteLength)
})

describe('blocks put from a Buffer into a BlockstoreStore are copied', () => {
  for (const length of [100, 5000, 100_000]) {
    it(`putBlock of a ${length}-byte Buffer, then the Buffer changed: the buffered and the written block are as put`, async () => {
      const original = randomBytes(length)
      const cid = CID.createV1(raw.code, await sha256.digest(original))
      const store = new BlockstoreStore(new MemoryBlockstore())
      const buffer = Buffer.from(original)
      await store.putBlock(cid, buffer)
      buffer.fill(0x11)
      assert.deepEqual(new Uint8Array(await store.getBlock(cid)), original)
      await store.flush()
      assert.deepEqual(new Uint8Array(await store.getBlock(cid)), original)
    })
  }

  it('a bytes map over it set from a 5000-byte Buffer the caller then reuses writes what was set', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const original = randomBytes(5000)
    const buffer = Buffer.from(original)
    await map.set('k', buffer)
    buffer.fill(0)
    const root = await map.flush()
    const reopened = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true })
    assert.deepEqual(new Uint8Array((await reopened.get('k')) as Uint8Array), original)
  })
})
