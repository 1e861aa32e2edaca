// Garbage collection marks blocks by multihash (a store keeps one block per hash whatever the codec),
// but a block's links are followed only under a codec that has links: the same bytes reached first as
// raw must not stop them being followed when they come again as dag-cbor.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { toCid } from '../src/cas/id.js'
import { BlockstoreStore, HAMT } from '../src/index.js'
import { withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()

/** A flushed map of `size` generated keys, its store, and what it holds. */
async function generatedMap(
  random: () => number,
  size: number,
): Promise<{ store: BlockstoreStore; root: CID; entries: Map<string, number> }> {
  const store = new BlockstoreStore(new MemoryBlockstore())
  const map = await HAMT.create<number>({ store, maxBucketSize: 1 + Math.floor(random() * 4) })
  const entries = new Map<string, number>()
  for (let i = 0; i < size; i++) {
    const key = String.fromCodePoint(
      ...Array.from({ length: 1 + Math.floor(random() * 4) }, () => 0x20 + Math.floor(random() * 0x2000)),
    )
    // A key drawn twice would leave its first value block as real garbage.
    if (entries.has(key)) continue
    entries.set(key, i)
    await map.set(key, i)
  }
  return { store, root: toCid(await map.flush(), 'root'), entries }
}

async function readAll(store: BlockstoreStore, root: CID, entries: Map<string, number>): Promise<void> {
  const map = await HAMT.open<number>(root, { store })
  for (const [key, value] of entries)
    assert.equal(await map.get(key), value, `seed ${seed}: key ${JSON.stringify(key)}`)
  assert.equal(await map.size(), entries.size)
}

describe('collectGarbage with one block under two codecs', () => {
  it('a kept root given as raw and as dag-cbor, in either order: everything under it stays', async () => {
    const random = mulberry32(seed)
    for (const rawFirst of [false, true]) {
      const { store, root, entries } = await generatedMap(random, 20 + Math.floor(random() * 200))
      const asRaw = CID.createV1(raw.code, root.multihash)
      const keep = rawFirst ? [asRaw, root] : [root, asRaw]
      const outcome = await withinBudget('collection', (signal) => collectGarbage(store, { keep, signal }))
      assert.equal(outcome.error, undefined, String(outcome.error))
      assert.equal(outcome.value?.removed, 0, `seed ${seed}, raw first ${rawFirst}: nothing is garbage`)
      await readAll(store, root, entries)
    }
  })

  it('a value whose bytes are another map’s root node: the node’s subtree stays', async () => {
    const random = mulberry32(seed + 1)
    const { store, root, entries } = await generatedMap(random, 20 + Math.floor(random() * 200))
    // A second map holding, as a value, the bytes of the first map's root node (a snapshot of it).
    const holder = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await holder.set('snapshot', await store.getBlock(root))
    const holderRoot = toCid(await holder.flush(), 'holder')
    // The holder first: its value marks the node's hash as raw before the map's root comes.
    const outcome = await withinBudget('collection', (signal) =>
      collectGarbage(store, { keep: [holderRoot, root], signal }),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
    assert.equal(outcome.value?.removed, 0, `seed ${seed}: nothing is garbage`)
    await readAll(store, root, entries)
  })
})
