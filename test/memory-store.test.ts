import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { blake3Hasher, bytesToHex } from '../src/blocks.js'
import { SAVE_INTO } from '../src/cas/read-now.js'
import { isHamtError, MemoryStore } from '../src/index.js'
import { storeComplianceSuite } from './helpers/store-compliance.js'

storeComplianceSuite(
  'MemoryStore',
  () => MemoryStore.create(),
  async () => blake3Hasher.digest(new TextEncoder().encode('never saved')).bytes,
)

describe('MemoryStore', () => {
  it('uses the BLAKE3-256 multihash of the data as ID, as py-hamt InMemoryCAS', async () => {
    const store = await MemoryStore.create()
    const id = (await store.save(new TextEncoder().encode('abc'), 'raw')) as Uint8Array
    // BLAKE3("abc") from the BLAKE3 reference test vectors, behind the multihash prefix 1e 20.
    assert.equal(bytesToHex(id), '1e206437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85')
  })

  it('refuses CID-shaped or other non-byte IDs with a clear error', async () => {
    const store = await MemoryStore.create()
    await assert.rejects(store.load('abc' as never), (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'))
  })

  it('lists its blocks', async () => {
    const store = await MemoryStore.create()
    await store.save(Uint8Array.of(1), 'raw')
    await store.save(Uint8Array.of(2), 'raw')
    assert.equal([...store.blocks()].length, 2)
    assert.equal(store.blockCount, 2)
    assert.equal(store.byteCount, 2)
  })
})

describe('MemoryStore small blocks in shared chunks', () => {
  it('keeps every block exact across chunk ends, at the size limit and above it', async () => {
    const store = await MemoryStore.create()
    const saved: [Uint8Array, Uint8Array][] = []
    // ~1.7 MB of blocks of 0-4097 bytes: several 1 MiB chunks, blocks that do not fit a chunk's end.
    for (let i = 0; i < 900; i++) {
      const size = i === 0 ? 0 : i % 3 === 0 ? 4096 : i % 7 === 0 ? 4097 : (i * 37) % 4000
      const data = new Uint8Array(size).map((_, j) => (i * 31 + j) & 255)
      saved.push([(await store.save(data, 'raw')) as Uint8Array, data])
    }
    let total = 0
    const distinct = new Map(saved.map(([id, data]) => [bytesToHex(id), data]))
    for (const [id, data] of saved) {
      assert.deepEqual(await store.load(id), data)
      if (data.length >= 3) {
        assert.deepEqual(await store.load(id, { range: { offset: 1, length: 2 } }), data.slice(1, 3))
      }
    }
    for (const data of distinct.values()) total += data.length
    assert.equal(store.blockCount, distinct.size)
    assert.equal(store.byteCount, total)
    for (const [id, data] of store.blocks()) assert.deepEqual(data, distinct.get(bytesToHex(id)))
  })

  it('a loaded block is a copy: changing it changes neither the store nor its neighbours', async () => {
    const store = await MemoryStore.create()
    const a = await store.save(Uint8Array.of(1, 2, 3), 'raw')
    const b = await store.save(Uint8Array.of(4, 5, 6), 'raw')
    const loaded = await store.load(a)
    loaded.fill(9)
    assert.deepEqual(await store.load(a), Uint8Array.of(1, 2, 3))
    assert.deepEqual(await store.load(b), Uint8Array.of(4, 5, 6))
  })

  it("an ID is the caller's: changing one changes neither the store nor the IDs saved around it", async () => {
    const store = await MemoryStore.create()
    // More IDs than one of the store's ID chunks holds, so some sit at a chunk's end.
    const data = Array.from({ length: 1000 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, 7))
    const ids: Uint8Array[] = []
    for (const bytes of data) ids.push((await store.save(bytes, 'raw')) as Uint8Array)
    const copies = ids.map((id) => id.slice())
    ids[500]?.fill(0)
    const again = (await store.save(data[501] as Uint8Array, 'raw')) as Uint8Array
    again.fill(1)
    for (const [i, copy] of copies.entries()) {
      if (i !== 500) assert.deepEqual(ids[i], copy, `ID ${i}`)
      assert.deepEqual(await store.load(copy), data[i], `block ${i}`)
    }
    assert.deepEqual(await store.save(data[7] as Uint8Array, 'raw'), copies[7])
    assert.equal(store.blockCount, 1000)
  })
  it("saves into a caller's bytes (SAVE_INTO) only where the ID fits, and then as save does", async () => {
    const store = await MemoryStore.create()
    const data = new TextEncoder().encode('abc')
    const into = new Uint8Array(40)
    // No room from 10 (34 bytes needed): nothing saved, nothing written.
    assert.equal(store[SAVE_INTO](data, store, into, 10), 0)
    assert.equal(store.blockCount, 0)
    assert.deepEqual(into, new Uint8Array(40))
    assert.equal(store[SAVE_INTO](data, store, into, 6), 34)
    const id = await store.save(data, 'raw')
    assert.deepEqual(into.subarray(6), id)
    assert.deepEqual(into.subarray(0, 6), new Uint8Array(6))
    // Saved again: the same ID, still one block.
    assert.equal(store[SAVE_INTO](data, store, into, 0), 34)
    assert.deepEqual(into.subarray(0, 34), id)
    assert.equal(store.blockCount, 1)
    assert.deepEqual(await store.load(id), data)
  })
})
