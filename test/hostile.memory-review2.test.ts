// Outside review of MemoryStore's IDs as views into shared chunks: a root a caller gets and then
// transfers (postMessage to a worker, structuredClone with transfer) must not take other IDs with it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, MemoryStore, type StoreId } from '../src/index.js'
import { withinBudget } from './helpers/hostile.js'

/** Transfers the ID's buffer away, as `postMessage(id, [id.buffer])` does. */
function transferAway(id: StoreId): void {
  const bytes = id as Uint8Array
  structuredClone(bytes, { transfer: [bytes.buffer as ArrayBuffer] })
}

describe('MemoryStore IDs handed to callers', () => {
  it('transferring the buffer of a root from flush, makeReadOnly or rootId leaves the map and the store whole', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < 50; i++) await map.set(`k${i}`, i)
    const root = await map.flush()
    const kept = (root as Uint8Array).slice()
    transferAway(root)
    assert.deepEqual(map.rootId, kept)
    transferAway(map.rootId)
    const outcome = await withinBudget('reads after the transfer', async () => {
      for (let i = 0; i < 50; i++) assert.equal(await map.get(`k${i}`), i)
      await map.set('k50', 50)
      const newer = await map.makeReadOnly()
      const copy = (newer as Uint8Array).slice()
      transferAway(newer)
      const reopened = await HAMT.open<number>(copy, { store })
      assert.equal(await reopened.get('k50'), 50)
      assert.equal(await reopened.get('k7'), 7)
      assert.equal(await (await HAMT.open<number>(kept, { store })).get('k49'), 49)
    })
    if (outcome.error !== undefined) throw outcome.error
  })
})
