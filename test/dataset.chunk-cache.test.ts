// The chunk cache across a dataset's reads: a point read again loads and decodes nothing, the
// byte budget holds (least recently used evicted), concurrent reads of a chunk share one load, and
// an aborted read leaves nothing behind. Loads are counted per block by the InstrumentedStore.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { writeClimate } from './helpers/climate.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'

// writeClimate: temp (time 4, lat 6, lon 8) float32 in chunks of (2, 3, 4): 96 bytes decoded each.
const blocks = await MemoryStore.create()
const map = await HAMT.create<Uint8Array>({ store: blocks, valuesAreBytes: true })
const written = await writeClimate(new ZarrHAMTStore(map))
const root = await map.flush()
const temp = written.temp?.values as (number | null)[]
const at = (t: number, y: number, x: number): number => t * 48 + y * 8 + x
const CHUNK_BYTES = 2 * 3 * 4 * 4

async function open(chunkCacheBytes?: number) {
  const store = new InstrumentedStore(blocks)
  const ds = await openDataset(root, { store, ...(chunkCacheBytes === undefined ? {} : { chunkCacheBytes }) })
  store.reset()
  return { ds, store }
}

const values = (array: { values: Float64Array }): (number | null)[] =>
  [...array.values].map((v) => (Number.isNaN(v) ? null : v))

describe('the chunk cache of a dataset', () => {
  it('a point read again loads each chunk block once (without the cache, every time)', async () => {
    const { ds, store } = await open()
    const point = ds.variable('temp').isel({ lat: 4, lon: 5 }) // two chunks along time
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(
        values(await point.load()),
        [0, 1, 2, 3].map((t) => temp[at(t, 4, 5)] ?? null),
      )
    }
    assert.ok(store.loads >= 2, 'the first read loads the chunks')
    assert.deepEqual(
      [...store.loadsById().values()].filter((n) => n !== 1),
      [],
      'no block loaded twice over three reads',
    )
    // Another view of the same chunks (a neighbour, a dataset-wide selection) loads nothing either.
    store.reset()
    await ds.isel({ lat: 3, lon: 4 }).load({ maxValues: 1000 })
    assert.equal(store.loadsById().size > 0, true, 'precip and mask are new chunks')
    store.reset()
    await ds.variable('temp').isel({ lat: 5, lon: 7 }).load()
    assert.equal(store.loads, 0)

    const off = await open(0)
    await off.ds.variable('temp').isel({ lat: 4, lon: 5 }).load()
    const first = off.store.loads
    await off.ds.variable('temp').isel({ lat: 4, lon: 5 }).load()
    assert.equal(off.store.loads, 2 * first, 'chunkCacheBytes: 0 keeps nothing')
  })

  it('holds its byte budget, evicting the least recently used chunk', async () => {
    const chunkA = { time: 0, lat: 0, lon: 0 }
    const chunkB = { time: 0, lat: 0, lon: 4 }
    for (const [budget, reloads] of [
      [CHUNK_BYTES, true],
      [2 * CHUNK_BYTES, false],
    ] as const) {
      const { ds, store } = await open(budget)
      const temp = ds.variable('temp')
      await temp.isel(chunkA).load()
      await temp.isel(chunkB).load()
      store.reset()
      const again = await temp.isel(chunkA).load()
      assert.equal(values(again)[0], written.temp?.values[at(0, 0, 0)] ?? null)
      assert.equal(store.loads > 0, reloads, `budget ${budget}: chunk A ${reloads ? 'evicted' : 'kept'}`)
    }
  })

  it('concurrent reads of one chunk share its load, cache or not', async () => {
    for (const budget of [0, undefined]) {
      const { ds, store } = await open(budget)
      store.delayMs = 20
      const reads = Array.from({ length: 4 }, () => ds.variable('temp').isel({ lat: 1, lon: 1 }).load())
      const results = await Promise.all(reads)
      for (const result of results)
        assert.deepEqual(values(result), values(results[0] as { values: Float64Array }))
      assert.deepEqual(
        [...store.loadsById().values()].filter((n) => n !== 1),
        [],
        `budget ${budget}: each block loaded once by four concurrent reads`,
      )
    }
  })

  it('an aborted read does not poison the cache: a reader that joined it and the next read succeed', async () => {
    const { ds, store } = await open()
    store.delayMs = 50
    const view = ds.variable('temp').isel({ lat: 2, lon: 6 })
    const expected = [0, 1, 2, 3].map((t) => temp[at(t, 2, 6)] ?? null)
    const controller = new AbortController()
    const aborted = view.load({ signal: controller.signal })
    const joined = view.load()
    setTimeout(() => controller.abort(new Error('user left')), 10)
    await assert.rejects(aborted, /user left/)
    assert.deepEqual(values(await joined), expected)
    store.delayMs = 0
    store.reset()
    assert.deepEqual(values(await view.load()), expected)
    assert.equal(store.loads, 0, 'the joined read filled the cache')
  })

  it('refuses a budget that is not a whole number of bytes', async () => {
    for (const chunkCacheBytes of [-1, 1.5, Number.NaN]) {
      await assert.rejects(
        openDataset(root, { store: blocks, chunkCacheBytes }),
        (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('chunkCacheBytes'),
      )
    }
  })
})
