// Outsider attack on the GC beside sharded listings: a listing the caller stops early (break, or an
// abort) must leave no hold behind, so a later collection removes the shard blocks it began with.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, ShardedZarrStore } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, v3Array } from './helpers/sharded.js'

const seed = testSeed()

/** Blocks left in a store after: write a grid, flush, `list` it (or not), empty it, flush, collect. */
async function blocksLeft(list: (store: ShardedZarrStore) => Promise<void>): Promise<number> {
  const random = mulberry32(seed)
  const blockstore = new MemoryBlockstore()
  const store = new BlockstoreStore(blockstore)
  const side = 4 + Math.floor(random() * 4)
  const sharded = await ShardedZarrStore.create({ store, chunksPerShard: 2, cacheBytes: 0 })
  await sharded.set('a/zarr.json', v3Array([side, side], [1, 1]))
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      await sharded.setPointer(`a/c/${i}/${j}`, await store.save(bytes(i, j, seed & 255), 'raw'))
    }
  }
  const root = await sharded.flush()
  const writer = await ShardedZarrStore.open(root, { store, readOnly: false, cacheBytes: 0 })
  await list(writer)
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) await writer.delete(`a/c/${i}/${j}`)
  const emptied = await writer.flush()
  await collectGarbage(store, { keep: [emptied] })
  let left = 0
  for await (const _ of blockstore.getAll()) left++
  return left
}

describe('collectGarbage after a sharded listing stopped early', () => {
  it('a listing broken out of after a few keys holds no shard block', async () => {
    const unlisted = await blocksLeft(async () => {})
    const broken = await blocksLeft(async (store) => {
      let n = 0
      for await (const _ of store.list()) if (++n === 3) break
    })
    assert.equal(broken, unlisted, 'the stopped listing kept the old shard blocks from the collection')
  })

  it('a listing aborted mid-way holds no shard block', async () => {
    const unlisted = await blocksLeft(async () => {})
    const aborted = await blocksLeft(async (store) => {
      const controller = new AbortController()
      let n = 0
      await assert.rejects(async () => {
        for await (const _ of store.list({ signal: controller.signal })) if (++n === 3) controller.abort()
      })
    })
    assert.equal(aborted, unlisted, 'the aborted listing kept the old shard blocks from the collection')
  })
})
