import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { blake3Hasher, bytesToHex } from '../src/blocks.js'
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
