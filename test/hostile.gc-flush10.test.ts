// A sharded store's flush saves its changed shards, then its root, and neither is in the writer's
// unflushed set: a collection that starts at any microtask between the first save and the caller
// having the root (keeping nothing) must still keep the root the flush returns, whole.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { code as dagCborCode } from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, ShardedZarrStore } from '../src/index.js'

test('a collection started in any microtask of a sharded flush keeps the root it returns, whole', async () => {
  const lost: number[] = []
  let startedBefore = 0
  for (let ticks = 0; ticks < 80; ticks++) {
    const blockstore = new MemoryBlockstore()
    const store = new BlockstoreStore(blockstore, { writeBufferBytes: 0 })
    const sharded = await ShardedZarrStore.create({
      store,
      arrayShape: [4, 4],
      chunkShape: [1, 1],
      chunksPerShard: 4,
    })
    for (let i = 0; i < 4; i++) await sharded.set(`a/c/${i}/0`, Uint8Array.of(i, 1, 2))
    let collecting: Promise<unknown> | undefined
    let returned = false
    let startedBeforeReturn = false
    const put = blockstore.put.bind(blockstore)
    blockstore.put = async (cid, bytes, options) => {
      const done = await put(cid, bytes, options)
      // The flush's first node (a shard) is written: a collection starts `ticks` microtasks later.
      if (cid.code === dagCborCode && collecting === undefined) {
        collecting = (async () => {
          for (let t = 0; t < ticks; t++) await null
          startedBeforeReturn = !returned
          return collectGarbage(store, { keep: [], all: true })
        })()
      }
      return done
    }
    const root = await sharded.flush().finally(() => {
      returned = true
    })
    await collecting
    if (!startedBeforeReturn) continue
    startedBefore++
    const whole = await ShardedZarrStore.open(root, { store })
      .then(async (reopened) => {
        for (let i = 0; i < 4; i++) assert.deepEqual(await reopened.get(`a/c/${i}/0`), Uint8Array.of(i, 1, 2))
        return true
      })
      .catch(() => false)
    if (!whole) lost.push(ticks)
  }
  // The sweep reaches past the return: some offsets start the collection after it.
  assert.ok(startedBefore > 0 && startedBefore < 80, `${startedBefore} collections started before the return`)
  assert.deepEqual(
    lost,
    [],
    'collections started these many microtasks after the first shard was written broke the root',
  )
})
