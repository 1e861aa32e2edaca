// An outsider's attacks on the Zarr stores (attack10): what a user or a hostile dataset can hand
// ZarrHAMTStore and EncryptedZarrHAMTStore through their public methods.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EncryptedZarrHAMTStore, HAMT, MemoryStore, type ZarrHAMTStore } from '../src/index.js'
import { collectRetrievalStats } from '../src/telemetry/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))

async function encryptedStore(): Promise<ZarrHAMTStore> {
  const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
  return new EncryptedZarrHAMTStore(map, { key: bytes(32), header: bytes(7) })
}

describe('EncryptedZarrHAMTStore, attacked from outside', () => {
  it('counts one Zarr get per getRange in the retrieval stats, as the plain store does', async () => {
    const store = await encryptedStore()
    const value = bytes(64 + Math.floor(random() * 64))
    await store.set('/a/c/0', value)
    await store.set('/a/zarr.json', new TextEncoder().encode('{"zarr_format":3}'))
    const stats = collectRetrievalStats()
    try {
      const part = await store.getRange('/a/c/0', { offset: 3, length: 10 })
      assert.deepEqual(part, value.slice(3, 13))
      await store.getRange('/a/zarr.json', { suffixLength: 2 })
      const { zarrGets, topKeys } = stats.snapshot()
      assert.equal(zarrGets.requests, 2, 'two getRange calls are two Zarr gets')
      assert.deepEqual(
        topKeys.filter((k) => k.key.startsWith('hamt_store:')).map((k) => k.requests),
        [1, 1],
      )
    } finally {
      stats.stop()
    }
  })
})
