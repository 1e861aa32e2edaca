// Outsider attack on the GC's start: a collection called while a HAMT flush is under way, at the
// moment the flush's last block is written (its saves are still held for collections), must keep
// the root that flush then returns.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { code as dagCborCode } from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core'
import type { CID } from 'multiformats/cid'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, HAMT } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

describe('collectGarbage called as a HAMT flush writes its root', () => {
  for (const all of [true, false]) {
    it(`keeps the root the flush returns (keep ${all ? 'nothing' : 'another root'})`, async () => {
      const random = mulberry32(seed)
      const blockstore = new MemoryBlockstore()
      const store = new BlockstoreStore(blockstore, { writeBufferBytes: 0 })
      const other = await HAMT.create<string>({ store })
      await other.set('other', `${random()}`)
      const otherRoot = (await other.flush()) as CID
      // Few keys, big buckets: the flush saves one node, its root.
      const map = await HAMT.create<string>({ store, maxBucketSize: 64 })
      for (let i = 0; i < 5; i++) await map.set(`key ${i}`, `value ${i} ${random()}`)
      let collecting: Promise<unknown> | undefined
      const put = blockstore.put.bind(blockstore)
      blockstore.put = async (cid, bytes, options) => {
        const done = await put(cid, bytes, options)
        // The root is written: the flush is still under way (not returned), the collection begins now.
        if (cid.code === dagCborCode && collecting === undefined)
          collecting = collectGarbage(store, { keep: all ? [] : [otherRoot], all })
        return done
      }
      const root = (await map.flush()) as CID
      assert.ok(collecting !== undefined)
      await collecting
      assert.equal(await store.hasBlock(root), true, `the root ${root} the flush returned was swept`)
      const reopened = await HAMT.open<string>(root, { store })
      assert.equal(await reopened.size(), 5)
    })
  }
})
