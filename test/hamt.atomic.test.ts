import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, isHamtError, MemoryStore, type StoreId } from '../src/index.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { assertSound } from './helpers/maps.js'

/** A flushed map of `n` keys on an instrumented store, reopened with a cold cache. */
async function coldMap(
  n: number,
  maxBucketSize = 2,
): Promise<{ map: HAMT<number>; store: InstrumentedStore; root: StoreId }> {
  const store = new InstrumentedStore(await MemoryStore.create())
  const writer = await HAMT.create<number>({ store, maxBucketSize })
  for (let i = 0; i < n; i++) await writer.set(`k${i}`, i)
  const root = await writer.flush()
  const map = await HAMT.open<number>(root, { store, maxBucketSize, readOnly: false })
  return { map, store, root }
}

const isStoreFailure = (err: unknown): boolean =>
  isHamtError(err, 'ERR_STORE') && /injected/.test(String(err))

describe('HAMT atomicity under store failures', () => {
  it('a set whose node loads fail changes nothing, and a retry succeeds', async () => {
    // Count the loads a cold set of this key needs, then fail each one in turn.
    const probe = await coldMap(2000)
    await probe.map.clearCache()
    const loadsBefore = probe.store.loads
    await probe.map.set('k5', 555)
    const pathLoads = probe.store.loads - loadsBefore
    assert.ok(pathLoads >= 2, `the path to k5 crosses ${pathLoads} nodes`)
    for (let after = 1; after <= pathLoads; after++) {
      const { map, store, root } = await coldMap(2000)
      await map.clearCache()
      store.failOn({ op: 'load', after })
      await assert.rejects(map.set('k5', 555), isStoreFailure)
      store.heal()
      assert.deepEqual(await map.flush(), root, `failure at load ${after} left the root as it was`)
      await map.set('k5', 555)
      assert.equal(await map.get('k5'), 555)
      await assertSound(map)
    }
  })

  it('a set whose value save fails changes nothing', async () => {
    const { map, store, root } = await coldMap(100)
    store.failOn({ op: 'save', after: 1 })
    await assert.rejects(map.set('new', 1), isStoreFailure)
    assert.equal(await map.has('new'), false)
    assert.deepEqual(await map.flush(), root)
  })

  it('a delete whose collapse loads fail changes nothing, and a retry succeeds', async () => {
    // Bucket size 2 and 60 keys: many deletes must load sibling subtrees to decide on a collapse.
    const { map, store } = await coldMap(60)
    const model = new Map(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]))
    for (let i = 0; i < 60; i++) {
      await map.clearCache()
      const before = await map.flush()
      await map.clearCache()
      store.failOn({ op: 'load', after: 2 })
      const failed = await map.delete(`k${i}`).then(
        () => false,
        (err) => (isStoreFailure(err) ? true : Promise.reject(err)),
      )
      store.heal()
      if (failed) {
        assert.deepEqual(await map.flush(), before, `failed delete of k${i} changed the map`)
        await map.delete(`k${i}`)
      }
      model.delete(`k${i}`)
      await assertSound(map)
      assert.equal(await map.size(), model.size)
    }
  })

  it('a flush that fails part-way keeps every change; the retry gives the undisturbed root', async () => {
    const undisturbed = await HAMT.create<number>({ store: await MemoryStore.create() })
    const store = new InstrumentedStore(await MemoryStore.create())
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < 3000; i++) {
      await map.set(`k${i}`, i)
      await undisturbed.set(`k${i}`, i)
    }
    for (const after of [1, 5, 200]) {
      store.failOn({ op: 'save', after })
      await assert.rejects(map.flush(), isStoreFailure)
      store.heal()
      assert.equal(map.hasUnflushedChanges, true)
      assert.equal(await map.get('k2999'), 2999)
    }
    assert.deepEqual(await map.flush(), await undisturbed.flush())
    await assertSound(map)
  })

  it('an aborted signal stops an operation before it changes anything', async () => {
    const { map, root } = await coldMap(50)
    const signal = AbortSignal.abort()
    await assert.rejects(map.set('x', 1, { signal }), { name: 'AbortError' })
    await map.set('y', 1)
    await map.delete('y')
    assert.deepEqual(await map.flush({ signal: AbortSignal.timeout(10_000) }), root)
  })

  it('an abort during a set or delete, on a store that ignores signals, changes nothing', async () => {
    const inner = await MemoryStore.create()
    let abortOnSave: AbortController | undefined
    const store = {
      save: async (data: Uint8Array, codec: 'raw' | 'dag-cbor') => {
        abortOnSave?.abort()
        return inner.save(data, codec)
      },
      load: (id: StoreId) => inner.load(id),
    }
    const map = await HAMT.create<number>({ store })
    await map.set('kept', 1)
    const root = await map.flush()
    abortOnSave = new AbortController()
    await assert.rejects(map.set('k', 1, { signal: abortOnSave.signal }), { name: 'AbortError' })
    abortOnSave = undefined
    assert.equal(await map.has('k'), false)
    assert.deepEqual(await map.flush(), root)
    await assert.rejects(map.delete('kept', { signal: AbortSignal.abort() }), { name: 'AbortError' })
    assert.equal(await map.get('kept'), 1)
  })
})
