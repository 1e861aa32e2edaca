// UnixFS shapes that cost more than their blocks (deep chains, blocks linked many times): each
// read ends in the right bytes or a typed error within a time and memory budget.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { BlockstoreStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { block, fileData, pbNode, RAW, storesOver } from './helpers/unixfs.js'

// A chain of single-child nodes over a 1-byte leaf (about 1 MB of blocks), built before the first
// budgeted case so its building does not count.
const chain = await (async () => {
  const leaf = await block(RAW, Uint8Array.of(42))
  const blocks = [leaf]
  let top = leaf
  let at1000 = leaf
  for (let i = 1; i <= 20_000; i++) {
    top = await pbNode([top.cid], fileData([1]))
    blocks.push(top)
    if (i === 1000) at1000 = top
  }
  const blockstore = new MemoryBlockstore()
  for (const b of blocks) await blockstore.put(b.cid, b.bytes)
  return { blockstore, top: top.cid, at1000: at1000.cid }
})()

// Warm up BLAKE3 and the HTTP stack so the memory budget measures the cases.
await (async () => {
  const leaf = await block(RAW, Uint8Array.of(1))
  for (const [, store] of await storesOver([leaf])) await store.load(leaf.cid)
})()

describe('UnixFS shapes that cost more than their blocks', () => {
  it('a chain of 1 000 levels reads its one byte; one of 20 000 is ERR_INVALID_NODE, within budget', async () => {
    // The bound is the file walk's, whatever the store: a blockstore shows it without a thousand
    // requests' worth of HTTP garbage in the memory budget.
    const store = new BlockstoreStore(chain.blockstore)
    const shallow = await withinBudget('1 000 levels', () => store.load(chain.at1000))
    assert.deepEqual(shallow.value, Uint8Array.of(42), String(shallow.error))
    assertTypedError(await withinBudget('20 000 levels', () => store.load(chain.top)), 'ERR_INVALID_NODE')
  })

  it('one block linked many times is fetched once per read, not once per link', async () => {
    // 1 000 links to a node of 1 000 links to one 1-byte leaf: a 1 MB file from 3 blocks.
    const leaf = await block(RAW, Uint8Array.of(7))
    const middle = await pbNode(Array(1000).fill(leaf.cid), fileData(Array(1000).fill(1)))
    const root = await pbNode(Array(1000).fill(middle.cid), fileData(Array(1000).fill(1000)))
    for (const [storeName, store, reads] of await storesOver([leaf, middle, root])) {
      const before = reads()
      const outcome = await withinBudget(`${storeName}: shared blocks`, () => store.load(root.cid))
      assert.equal((outcome.value as Uint8Array)?.length, 1_000_000, String(outcome.error))
      assert.ok((outcome.value as Uint8Array).every((byte) => byte === 7))
      assert.ok(reads() - before <= 3, `${storeName}: ${reads() - before} block reads for 3 blocks`)
    }
  })
})
