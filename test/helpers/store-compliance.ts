import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isStoreId } from '../../src/blocks.js'
import { type ContentAddressedStore, isHamtError } from '../../src/index.js'

/**
 * The contract every store backend must meet. Each backend's test file calls this with a factory;
 * `unknownId` gives an ID of the backend's kind that was never saved.
 */
export function storeComplianceSuite(
  name: string,
  makeStore: () => Promise<ContentAddressedStore>,
  unknownId: () => Promise<Parameters<ContentAddressedStore['load']>[0]>,
): void {
  describe(`store compliance: ${name}`, () => {
    const bytes = (n: number, seed = 1): Uint8Array =>
      Uint8Array.from({ length: n }, (_, i) => (i * seed + 7) & 255)

    it('saves and loads the same bytes, for raw and dag-cbor', async () => {
      const store = await makeStore()
      for (const codec of ['raw', 'dag-cbor'] as const) {
        for (const size of [0, 1, 300, 70_000]) {
          const data = bytes(size, size + 3)
          const id = await store.save(data, codec)
          assert.ok(isStoreId(id), 'save returns a CID or bytes')
          assert.deepEqual(await store.load(id), data)
        }
      }
    })

    it('gives equal IDs for equal bytes and different IDs for different bytes', async () => {
      const store = await makeStore()
      const a = await store.save(bytes(100, 1), 'raw')
      const b = await store.save(bytes(100, 1), 'raw')
      const c = await store.save(bytes(100, 2), 'raw')
      assert.deepEqual(a, b)
      assert.notDeepEqual(a, c)
    })

    it('is not changed by later writes to the saved or loaded buffers', async () => {
      const store = await makeStore()
      const data = bytes(64)
      const id = await store.save(data, 'raw')
      data.fill(0)
      const loaded = await store.load(id)
      assert.deepEqual(loaded, bytes(64))
      loaded.fill(9)
      assert.deepEqual(await store.load(id), bytes(64))
    })

    it('reads byte ranges: offset+length, offset to end, last n bytes, empty ranges', async () => {
      const store = await makeStore()
      const data = bytes(1000, 5)
      const id = await store.save(data, 'raw')
      assert.deepEqual(await store.load(id, { range: { offset: 10, length: 20 } }), data.slice(10, 30))
      assert.deepEqual(await store.load(id, { range: { offset: 990 } }), data.slice(990))
      assert.deepEqual(await store.load(id, { range: { suffix: 7 } }), data.slice(993))
      assert.deepEqual(await store.load(id, { range: { offset: 0, length: 1000 } }), data)
      assert.deepEqual(await store.load(id, { range: { offset: 1000 } }), new Uint8Array(0))
      assert.deepEqual(await store.load(id, { range: { suffix: 0 } }), new Uint8Array(0))
    })

    it('rejects a range outside the value with ERR_RANGE_NOT_SATISFIABLE', async () => {
      const store = await makeStore()
      const id = await store.save(bytes(100), 'raw')
      for (const range of [{ offset: 101 }, { offset: 90, length: 11 }, { suffix: 101 }]) {
        await assert.rejects(store.load(id, { range }), (err) =>
          isHamtError(err, 'ERR_RANGE_NOT_SATISFIABLE'),
        )
      }
    })

    it('rejects a malformed range with ERR_INVALID_ARGUMENT', async () => {
      const store = await makeStore()
      const id = await store.save(bytes(100), 'raw')
      const bad = [
        { offset: -1 },
        { offset: 1.5 },
        { offset: 0, length: -2 },
        { suffix: -1 },
        { suffix: 1, offset: 0 },
      ]
      for (const range of bad) {
        await assert.rejects(
          store.load(id, { range: range as never }),
          (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'),
          JSON.stringify(range),
        )
      }
    })

    it('reports an unknown ID as ERR_BLOCK_NOT_FOUND', async () => {
      const store = await makeStore()
      await assert.rejects(store.load(await unknownId()), (err) => isHamtError(err, 'ERR_BLOCK_NOT_FOUND'))
    })

    it('honours an aborted signal', async () => {
      const store = await makeStore()
      const id = await store.save(bytes(10), 'raw')
      const signal = AbortSignal.abort()
      await assert.rejects(store.load(id, { signal }), { name: 'AbortError' })
      await assert.rejects(store.save(bytes(10), 'raw', { signal }), { name: 'AbortError' })
    })
  })
}
