// Trees written by py-hamt 3.0.0, whose delete never collapsed children back into buckets: the
// walks' checks against hostile trees must not reject them (spec §3: readers accept any shape).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { bytesToHex, hexToBytes } from '../src/blocks.js'
import { HAMT, MemoryStore } from '../src/index.js'

type Tree = { maxBucketSize: number; root: string; keys: string[]; blocks: Record<string, string> }
// Made by test/fixtures/pyhamt_old_trees.py (see there how to run py-hamt 3.0.0).
const trees = JSON.parse(
  readFileSync(new URL('./fixtures/pyhamt-3.0.0-trees.json', import.meta.url), 'utf8'),
) as Tree[]
const utf8 = new TextDecoder()
const notCanonical = /linked subtree holds \d+ keys, which fit in one bucket \(not canonical\)$/

async function storeOf(tree: Tree): Promise<MemoryStore> {
  const store = await MemoryStore.create()
  for (const [id, data] of Object.entries(tree.blocks)) {
    assert.equal(bytesToHex((await store.save(hexToBytes(data), 'raw')) as Uint8Array), id, 'same block IDs')
  }
  return store
}

describe('trees from py-hamt 3.0.0 (children never collapsed)', () => {
  it('every walk and read gives the keys it wrote, at its bucket size and at ours', async () => {
    let nonCanonical = 0
    for (const tree of trees) {
      const store = await storeOf(tree)
      for (const maxBucketSize of [tree.maxBucketSize, undefined]) {
        const where = `written at ${tree.maxBucketSize}, opened at ${maxBucketSize ?? 'the default'}`
        const map = await HAMT.open<Uint8Array>(hexToBytes(tree.root), {
          store,
          maxBucketSize,
          valuesAreBytes: true,
        })
        const keys: string[] = []
        for await (const key of map.keys()) keys.push(key)
        assert.deepEqual(keys.sort(), tree.keys, where)
        assert.equal(await map.size(), tree.keys.length, where)
        for (const key of tree.keys) assert.equal(utf8.decode(await map.get(key)), key, `${where}: ${key}`)
        const { problems, keyCount } = await map.verify()
        assert.equal(keyCount, tree.keys.length, where)
        for (const problem of problems) assert.match(problem, notCanonical, where)
        if (maxBucketSize !== undefined) nonCanonical += problems.length
      }
    }
    assert.ok(nonCanonical > 0, 'the fixture holds the uncollapsed children it is meant to')
  })

  it('deletes and sets on them work, and deletes collapse what they touch', async () => {
    for (const tree of trees) {
      const store = await storeOf(tree)
      const map = await HAMT.open<Uint8Array>(hexToBytes(tree.root), {
        store,
        maxBucketSize: tree.maxBucketSize,
        valuesAreBytes: true,
        readOnly: false,
      })
      const [gone, ...kept] = tree.keys
      await map.delete(gone as string)
      await map.set('new', Uint8Array.of(1))
      assert.equal(await map.has(gone as string), false)
      for (const key of kept) assert.equal(utf8.decode(await map.get(key)), key)
      const keys: string[] = []
      for await (const key of map.keys()) keys.push(key)
      assert.deepEqual(keys.sort(), [...kept, 'new'].sort())
      for (const problem of (await map.verify()).problems) assert.match(problem, notCanonical)
    }
  })
})
