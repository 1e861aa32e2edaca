// openDataset from what users hold (a Helia node, a sharded v2 root with several groups), laziness,
// streaming with progress and abort, records and CSV, and the errors a user meets first.
import './helpers/with-resolvers.js'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { createHeliaLight } from 'helia'
import * as zarr from 'zarrita'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { formatId } from '../src/cas/id.js'
import { CFDatetime, openDataset } from '../src/dataset.js'
import {
  BlockstoreStore,
  type ContentAddressedStore,
  HAMT,
  isHamtError,
  MemoryStore,
  ShardedZarrStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { writeClimate } from './helpers/climate.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'

await loadBlake3()

async function climateHamt(store: ContentAddressedStore) {
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const written = await writeClimate(new ZarrHAMTStore(map))
  return { root: await map.flush(), written }
}

// writeClimate: time [0..3] days since 2020-01-01, lat -50..50 step 20 (6), lon 0..315 step 45 (8), temp (4, 6, 8).
const at = (t: number, y: number, x: number): number => t * 48 + y * 8 + x

describe('openDataset', () => {
  it('opens from a Helia node and refuses one that cannot verify BLAKE3, saying how to make one', async () => {
    const helia = createHeliaLight({ hashers: [blake3Hasher] })
    const { root, written } = await climateHamt(new BlockstoreStore(helia.blockstore))
    const ds = await openDataset(root.toString(), { helia })
    const temp = await ds.variable('temp').isel({ time: 2, lat: 1 }).load()
    const expected = (written.temp?.values ?? []).slice(at(2, 1, 0), at(2, 1, 8))
    assert.deepEqual(
      [...temp.values].map((v) => (Number.isNaN(v) ? null : v)),
      expected,
    )
    const bare = createHeliaLight({})
    await assert.rejects(
      openDataset(root, { helia: bare }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /hashers: \[blake3Hasher\]/.test(err.message),
    )
  })

  it('asks which group when a sharded v2 root holds several, and opens the one chosen', async () => {
    // The sharded layout links shards by CID: a blockstore's IDs are CIDs.
    const blocks = new BlockstoreStore(new MemoryBlockstore())
    const sharded = await ShardedZarrStore.create({ store: blocks, chunksPerShard: 4 })
    await writeClimate(sharded, 'a')
    await writeClimate(sharded, 'b')
    const root = await sharded.flush()
    await assert.rejects(
      openDataset(root, { store: blocks }),
      (err) =>
        isHamtError(err, 'ERR_INVALID_ARGUMENT') &&
        err.message.includes('a, b') &&
        err.message.includes('group'),
    )
    const offered: string[][] = []
    const ds = await openDataset(root, {
      store: blocks,
      group: (groups) => {
        offered.push([...groups])
        return 'b'
      },
    })
    assert.deepEqual(offered, [['a', 'b']])
    assert.equal(ds.group, 'b')
    assert.equal(ds.layout.kind, 'sharded')
    assert.equal((await openDataset(root, { store: blocks, group: 'a' })).attrs.title, 'ts-hamt climate')
  })

  it('reads only metadata and coordinates until values are asked for', async () => {
    const blocks = await MemoryStore.create()
    const { root } = await climateHamt(blocks)
    const store = new InstrumentedStore(blocks)
    const loads = () => store.loads
    const ds = await openDataset(root, { store })
    const atOpen = loads()
    const view = ds
      .variable('temp')
      .sel({ lat: 10, lon: { start: 45, stop: 135 } })
      .isel({ time: [0, 3] })
    assert.deepEqual(view.dims, ['time', 'lon'])
    assert.deepEqual(view.shape, [2, 3])
    assert.equal(loads(), atOpen, 'selecting reads nothing')
    await view.load()
    assert.ok(loads() > atOpen, 'reading values loads their chunks')
  })

  it('loads the root block once at open, in either layout (it used to be fetched twice)', async () => {
    const blocks = new BlockstoreStore(new MemoryBlockstore())
    const hamtRoot = (await climateHamt(blocks)).root
    const sharded = await ShardedZarrStore.create({ store: blocks, chunksPerShard: 4 })
    await writeClimate(sharded, 'g')
    const shardedRoot = await sharded.flush()
    for (const root of [hamtRoot, shardedRoot]) {
      const store = new InstrumentedStore(blocks)
      await openDataset(root, { store })
      assert.equal(store.loadsOf(root), 1, `root ${formatId(root)} loads`)
    }
  })

  it('stops opening when its signal aborts', async () => {
    const blocks = await MemoryStore.create()
    const { root } = await climateHamt(blocks)
    const reason = new Error('user went away')
    await assert.rejects(
      openDataset(root, { store: blocks, signal: AbortSignal.abort(reason) }),
      (err) => err === reason || (err as Error).cause === reason || /user went away|abort/i.test(String(err)),
    )
  })

  it('needs exactly one source of blocks', async () => {
    await assert.rejects(
      openDataset('bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje', {}),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'),
    )
  })
})

describe('selections and reads', async () => {
  const blocks = await MemoryStore.create()
  const { root, written } = await climateHamt(blocks)
  const ds = await openDataset(root, { store: blocks })
  const temp = written.temp?.values as (number | null)[]

  it('streams a selection block by block with progress, in C order, and stops on abort', async () => {
    const view = ds.variable('temp').isel({ lat: { start: 1, stop: 5 } })
    const progress: number[] = []
    const seen: number[] = []
    for await (const block of view.blocks({
      maxBlockValues: 5,
      onProgress: ({ done, total }) => progress.push(done / total),
    })) {
      assert.equal(block.offset, seen.length, 'blocks follow each other')
      assert.ok(block.values.length <= 5)
      seen.push(...block.values)
    }
    assert.ok(progress.length > 10)
    assert.equal(progress.at(-1), 1)
    const expected: (number | null)[] = []
    for (let t = 0; t < 4; t++)
      for (let y = 1; y < 5; y++) for (let x = 0; x < 8; x++) expected.push(temp[at(t, y, x)] ?? null)
    assert.deepEqual(
      seen.map((v) => (Number.isNaN(v) ? null : v)),
      expected,
    )

    const controller = new AbortController()
    const reading = view.load({
      signal: controller.signal,
      maxBlockValues: 4,
      onProgress: () => controller.abort(new Error('enough')),
    })
    await assert.rejects(reading, /enough/)
  })

  it('stops reading ahead when the caller stops early (a break aborts the loads it started)', async () => {
    const base = await MemoryStore.create()
    const { root } = await climateHamt(base)
    let reading = false
    const signals: (AbortSignal | undefined)[] = []
    const recording = new Proxy(base, {
      get(target, name) {
        const value = Reflect.get(target, name, target)
        if (name !== 'load') return typeof value === 'function' ? value.bind(target) : value
        return (id: Uint8Array, options?: { signal?: AbortSignal }) => {
          if (reading) signals.push(options?.signal)
          return target.load(id, options)
        }
      },
    })
    const ds = await openDataset(root, { store: recording })
    reading = true
    // No signal of the caller's: the loads of blocks() (the read ahead's too) still carry one, which
    // the break aborts, so a read ahead over a slow gateway does not run on after the caller left.
    for await (const block of ds.variable('temp').blocks({ maxBlockValues: 8 })) {
      assert.equal(block.offset, 0)
      break
    }
    assert.ok(signals.length > 0)
    assert.ok(
      signals.every((signal) => signal?.aborted === true),
      'every load blocks() made is aborted once the caller stops',
    )
  })

  it('a series across chunks is one read while it fits maxBlockValues (not one per chunk)', async () => {
    const series = ds.variable('temp').isel({ lat: 0, lon: 0 }) // time chunks of 2: two chunks
    const shapes = async (maxBlockValues?: number): Promise<number[][]> => {
      const out: number[][] = []
      for await (const block of series.blocks(maxBlockValues === undefined ? {} : { maxBlockValues }))
        out.push([...block.shape])
      return out
    }
    assert.deepEqual(await shapes(), [[4]])
    assert.deepEqual(await shapes(3), [[2], [2]])
  })

  it('a point series as records and CSV, times as ISO strings, NaN as null', async () => {
    const series = await ds.variable('temp').point({ lat: 12, lon: 100 }).load()
    assert.deepEqual(series.dims, ['time'])
    assert.equal(series.coords.lat, 10)
    assert.equal(series.coords.lon, 90)
    const records = series.toRecords()
    assert.equal(records.length, 4)
    assert.deepEqual(records[1], {
      time: '2020-01-02T00:00:00',
      lat: 10,
      lon: 90,
      temp: temp[at(1, 3, 2)] ?? null,
    })
    const csv = series.toCSV().split('\n')
    assert.equal(csv[0], 'time,lat,lon,temp')
    assert.equal(csv[3], `2020-01-03T00:00:00,10,90,${temp[at(2, 3, 2)] ?? ''}`)
    let streamed = ''
    for await (const text of ds.variable('temp').point({ lat: 12, lon: 100 }).toCSV()) streamed += text
    assert.equal(streamed, series.toCSV())
  })

  it('time labels as strings, Dates and CFDatetimes; time ranges; boxes in either order on any coordinate', async () => {
    const byString = ds.variable('temp').sel({ time: '2020-01-03' })
    const byDate = ds.variable('temp').sel({ time: new Date(Date.UTC(2020, 0, 3)) })
    const byCf = ds.variable('temp').sel({ time: new CFDatetime(2020, 1, 3) })
    for (const view of [byString, byDate, byCf]) {
      assert.equal((view.coords.time as CFDatetime).toISOString(), '2020-01-03T00:00:00')
    }
    const range = ds.variable('temp').timeRange('2020-01-02', '2020-01-03T12:00')
    assert.deepEqual(range.shape, [2, 6, 8])
    // The dimension as an option, as Dataset.timeRange takes it; the old positional string is refused.
    assert.deepEqual(ds.variable('temp').timeRange('2020-01-02', undefined, { dim: 'time' }).shape, [3, 6, 8])
    assert.deepEqual(ds.variable('temp').timeRange(10, 30, { dim: 'lat' }).coords.lat, [10, 30])
    assert.throws(
      () => ds.variable('temp').timeRange(10, 30, 'lat' as never),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('{ dim'),
    )
    // The README's first example: a point, then a time range, as CSV.
    const csv = (
      await ds.variable('temp').point({ lat: 12, lon: 100 }).timeRange('2020-01-02', '2020-01-03').load()
    ).toCSV()
    assert.equal(csv.split('\n')[1], `2020-01-02T00:00:00,10,90,${temp[at(1, 3, 2)] ?? ''}`)
    // A month on daily data is the month (xarray's partial dates); a day is that day.
    assert.deepEqual(ds.variable('temp').sel({ time: '2020-01' }).shape, [4, 6, 8])
    assert.deepEqual(ds.variable('temp').sel({ time: '2020-01-02' }).shape, [6, 8])
    const box = ds.variable('temp').box({ lat: [30, -10], lon: [90, 0] })
    assert.deepEqual(box.coords.lat, [-10, 10, 30])
    assert.deepEqual(box.coords.lon, [0, 45, 90])
  })

  it('a label not found names the label and the coordinate, as xarray does', () => {
    assert.throws(
      () => ds.variable('temp').sel({ lat: 11 }),
      (err) =>
        isHamtError(err, 'ERR_LABEL_NOT_FOUND') &&
        err.label === '11' &&
        err.coordinate === 'lat' &&
        /label 11 not found in coordinate "lat": try method 'nearest'/.test(err.message),
    )
    assert.throws(
      () => ds.variable('temp').sel({ lat: 11 }, { method: 'nearest', tolerance: 0.5 }),
      (err) => isHamtError(err, 'ERR_LABEL_NOT_FOUND') && err.message.includes('tolerance 0.5'),
    )
    assert.throws(
      () => ds.variable('nope'),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('temp'),
    )
    assert.throws(
      () => ds.variable('temp').sel({ depth: 1 }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'),
    )
  })

  it('a dataset-wide selection applies to every variable that has the dimension', async () => {
    const july = ds.sel({ lat: { start: -10, stop: 30 } }).isel({ time: -1 })
    assert.deepEqual(july.dims, { lat: 3, lon: 8 })
    assert.deepEqual(july.variable('temp').shape, [3, 8])
    assert.deepEqual(july.variable('lat').shape, [3])
    assert.deepEqual([...(await july.variable('lat').load()).values], [-10, 10, 30])
  })

  it('coords decodes each time axis once per dataset; each access returns arrays of its own', () => {
    const view = ds.isel({ time: { start: 1 } })
    const first = view.coords
    const times = first.time as CFDatetime[]
    assert.deepEqual(
      times.map((time) => time.toISOString()),
      ['2020-01-02T00:00:00', '2020-01-03T00:00:00', '2020-01-04T00:00:00'],
    )
    times.reverse()
    ;(first.lat as number[]).length = 0
    const again = view.coords
    assert.deepEqual((again.lat as number[]).length, 6)
    assert.equal((again.time as CFDatetime[])[0]?.toISOString(), '2020-01-02T00:00:00')
    // The same decoded times, not a second decoding.
    assert.equal((again.time as CFDatetime[])[0], times[2])
  })
})

describe('a variable with a repeated dimension name', () => {
  // xarray warns such variables are unsupported, yet its isel selects every axis of the name
  // (checked with the venv: Variable(('x','x'), arange(9).reshape(3,3)).isel(x=1) is 4.0).
  it('Variable and Dataset selections both select every axis of the name', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zstore = new ZarrHAMTStore(map)
    const group = await zarr.create(zarr.root(zstore), { attributes: {} })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    const put = async (name: string, dims: string[], shape: number[], values: number[]) => {
      const array = await zarr.create(group.resolve(name), {
        shape,
        chunkShape: shape,
        dtype: 'float64',
        dimensionNames: dims,
        codecs,
      })
      const stride = shape.length === 2 ? [shape[1] as number, 1] : [1]
      await zarr.set(array, null, { data: Float64Array.from(values), shape, stride } as never)
    }
    await put('x', ['x'], [3], [10, 20, 30])
    await put('m', ['x', 'x'], [3, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8])
    const ds = await openDataset(await map.flush(), { store })
    const m = ds.variable('m')
    const viaVariable = [
      m.isel({ x: 1 }),
      m.sel({ x: 20 }),
      m.isel({ x: [0, 2] }),
      m.sel({ x: [10, 30] }),
      m.box({ x: [30, 20] }),
    ]
    const viaDataset = [
      ds.isel({ x: 1 }),
      ds.sel({ x: 20 }),
      ds.isel({ x: [0, 2] }),
      ds.sel({ x: [10, 30] }),
      ds.box({ x: [30, 20] }),
    ].map((view) => view.variable('m'))
    const expected = [[4], [0, 2, 6, 8], [0, 2, 6, 8], [4, 5, 7, 8]]
    for (const [i, want] of [expected[0], ...expected].entries()) {
      assert.deepEqual([...((await viaVariable[i]?.load())?.values ?? [])], want, `variable ${i}`)
      assert.deepEqual([...((await viaDataset[i]?.load())?.values ?? [])], want, `dataset ${i}`)
      assert.deepEqual(viaVariable[i]?.shape, viaDataset[i]?.shape)
    }
  })
})
