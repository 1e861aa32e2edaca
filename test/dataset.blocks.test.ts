// How a Variable cuts its reads into blocks: a chunk is read once however the blocks fall.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { openDataset } from '../src/dataset.js'
import { HAMT, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'

await loadBlake3()

/** `v` (uint8, 4 × 1024 × 512, 2M values) in 4 chunks spanning all of `t`: one chunk run holds more than 1M values. */
async function tallChunks() {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const zarrStore = new ZarrHAMTStore(map)
  const shape = [4, 1024, 512]
  const array = await zarr.create(zarr.root(zarrStore).resolve('v'), {
    shape,
    chunkShape: [4, 512, 256],
    dtype: 'uint8',
    dimensionNames: ['t', 'y', 'x'],
    fillValue: 0 as never,
  })
  const data = Uint8Array.from({ length: 4 * 1024 * 512 }, (_, i) => (i * 7 + (i >> 9)) & 255)
  await zarr.set(array, null, { data, shape, stride: [1024 * 512, 512, 1] } as never)
  return { root: await map.flush(), store, data }
}

describe('Variable reads', () => {
  it('load() reads each chunk once when a chunk run along the first dimension exceeds the default block', async () => {
    const { root, store, data } = await tallChunks()
    const counted = new InstrumentedStore(store)
    // No chunk cache: this counts how blocks are cut, not what a cache saves (checked at the end).
    const ds = await openDataset(root, { store: counted, chunkCacheBytes: 0 })
    const atOpen = counted.loads
    const v = await ds.variable('v').load()
    // Every HAMT node was loaded at open (the listing); what the read loads is the 4 chunks, once each.
    assert.equal(counted.loads - atOpen, 4)
    assert.deepEqual(v.shape, [4, 1024, 512])
    assert.ok(v.values.every((value, i) => value === data[i]))
    // Blocks asked for smaller than a chunk run still cut inside it (the caller's memory bound wins):
    // a time step each, every chunk read four times.
    const before = counted.loads
    let blocks = 0
    for await (const block of ds.variable('v').blocks({ maxBlockValues: 1 << 20 })) {
      blocks++
      assert.equal(block.values.length, 1 << 19)
    }
    assert.equal(blocks, 4)
    assert.equal(counted.loads - before, 16)
    // With the default chunk cache the same two reads load the 4 chunks once between them.
    const cached = await openDataset(root, { store: counted })
    const beforeCached = counted.loads
    await cached.variable('v').load()
    for await (const block of cached.variable('v').blocks({ maxBlockValues: 1 << 20 })) void block
    assert.equal(counted.loads - beforeCached, 4)
  })
})
