// attack14's leftovers (session 14): resizeVariable refuses a shape of another rank than the array
// document's (its index and chunk grid would disagree with it), and a merge of sharded roots that
// fails on one side stops the other side's diff before it rejects.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isHamtError, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { bytes, v3Array } from './helpers/sharded.js'

// py-hamt 3.6.0 (checked on its own ShardedZarrStore): v2's resize_variable refuses any rank change
// (ArrayIndex.resize: "New shape must have the same number of dimensions"), after it has already
// replaced the document; v1's writes the document whatever its rank, so zarr can no longer open the
// array (shape and chunk_shape of different rank). ts-hamt refuses both, changing nothing.
describe('resizeVariable with a shape of another rank than the array’s', () => {
  const cases: ['v1' | 'v2', number[]][] = [
    ['v2', [4]],
    ['v2', [4, 4, 1]],
    ['v1', [4]],
    ['v1', [4, 4, 1]],
  ]
  for (const [version, shape] of cases) {
    it(`${version}, [4, 4] to ${JSON.stringify(shape)}: ERR_INVALID_ARGUMENT, the store unchanged`, async () => {
      const cas = await CidMemoryStore.create()
      const store =
        version === 'v1'
          ? await ShardedZarrStore.create({
              store: cas,
              arrayShape: [4, 4],
              chunkShape: [1, 1],
              chunksPerShard: 3,
            })
          : await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
      const path = version === 'v1' ? 'a' : 'g/a'
      await store.set(`${path}/zarr.json`, v3Array([4, 4], [1, 1]))
      await store.set(`${path}/c/0/0`, bytes(200))
      const before = (await store.flush()).toString()
      await assert.rejects(store.resizeVariable(path, shape), (error: unknown) => {
        assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
        assert.match((error as Error).message, /rank/)
        return true
      })
      assert.equal((await store.flush()).toString(), before)
      assert.deepEqual(await store.get(`${path}/zarr.json`), v3Array([4, 4], [1, 1]))
    })
  }
})
