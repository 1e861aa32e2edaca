// resize, resizeVariable, graft and migrateToV2 take a signal as the other operations do: it ends the
// wait for their turn or their loads, the store stays as it was and later calls run.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { LoadOptions, StoreId } from '../src/index.js'
import { ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { bytes, newV1, v3Array } from './helpers/sharded.js'

/**
 * A real in-memory store whose loads `stalls` picks never answer until their signal aborts: a
 * gateway that hangs, which no real store here can be made to do on cue.
 */
class StallingStore extends CidMemoryStore {
  stalling: (id: string) => boolean = () => false
  stalls = 0

  override async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    if (!this.stalling(String(id))) return super.load(id, options)
    this.stalls++
    return new Promise((_, reject) => {
      const signal = options?.signal
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }
}

const stallingStore = async (): Promise<StallingStore> => {
  await CidMemoryStore.create() // loads BLAKE3
  return new StallingStore()
}

/** Waits until the store has seen a stalled load. */
async function stalled(store: StallingStore): Promise<void> {
  while (store.stalls === 0) await new Promise((resolve) => setImmediate(resolve))
}

// A hang bound for the cases that waited for ever before the signal was taken (not a speed limit).
const hangBound = { timeout: 30_000 }

describe('sharded operations end on their signal, the store as it was', () => {
  it(
    'graft: a source root that never loads, aborted: rejects with the reason, later calls run',
    hangBound,
    async () => {
      const cas = await stallingStore()
      const source = await newV1(cas)
      await source.set('zarr.json', v3Array([4, 4], [1, 1]))
      await source.set('c/0/0', bytes(7))
      const sourceRoot = await source.flush()
      const target = await newV1(cas)
      await target.set('zarr.json', v3Array([4, 4], [1, 1]))
      await target.flush()
      cas.stalling = (id) => id === String(sourceRoot)
      const controller = new AbortController()
      const grafting = target.graft(sourceRoot, [0, 0], { signal: controller.signal })
      const setting = target.set('c/1/1', bytes(9)) // called after the graft: runs after it
      await stalled(cas)
      const reason = new Error('stop the graft')
      controller.abort(reason)
      await assert.rejects(grafting, (error) => error === reason)
      await setting
      assert.equal(await target.get('c/0/0'), undefined)
      assert.deepEqual(await target.get('c/1/1'), bytes(9))
      // The same calls without the graft, on a store made alike.
      const expected = await newV1(cas)
      await expected.set('zarr.json', v3Array([4, 4], [1, 1]))
      await expected.flush()
      await expected.set('c/1/1', bytes(9))
      assert.equal(String(await target.flush()), String(await expected.flush()))
    },
  )

  it(
    'resize: shard loads that never answer, aborted: rejects, shape and root unchanged',
    hangBound,
    async () => {
      const cas = await stallingStore()
      const writer = await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
      await writer.set('a/zarr.json', v3Array([4, 4], [1, 1]))
      for (let i = 0; i < 4; i++) await writer.set(`a/c/${i}/${i}`, bytes(i))
      const root = await writer.flush()
      const store = await ShardedZarrStore.open(root, { store: cas, readOnly: false })
      cas.stalling = () => true // the root is read: every shard load stalls
      const controller = new AbortController()
      assert.ok(store.metadataKeys().every((key) => !key.includes('/c/'))) // the chunks are in shards
      const resizing = store.resize([4, 5], { arrayPath: 'a', signal: controller.signal }) // every chunk moves
      await stalled(cas)
      controller.abort(new Error('stop the resize'))
      await assert.rejects(resizing, /stop the resize/)
      assert.deepEqual(store.arrays()[0]?.arrayShape, [4, 4])
      assert.equal(store.hasUnflushedChanges, false)
      cas.stalling = () => false
      assert.deepEqual(await store.get('a/c/3/3'), bytes(3))
      assert.equal(String(await store.flush()), String(root))
    },
  )

  it('migrateToV2 and resizeVariable with an aborted signal: reject with its reason, the store still v1 as it was', async () => {
    const cas = await stallingStore()
    const store = await newV1(cas)
    await store.set('zarr.json', v3Array([4, 4], [1, 1]))
    await store.set('c/0/0', bytes(1))
    const root = await store.flush()
    const reason = new Error('no')
    const signal = AbortSignal.abort(reason)
    await assert.rejects(store.migrateToV2('a', { signal }), (error) => error === reason)
    await assert.rejects(store.resizeVariable('', [4, 6], { signal }), (error) => error === reason)
    assert.equal(store.version, 'sharded_zarr_v1')
    assert.deepEqual(store.arrays()[0]?.arrayShape, [4, 4])
    assert.equal(String(await store.flush()), String(root))
  })
})
