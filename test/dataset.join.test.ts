// Dataset-level point/box/timeRange over several variables, and their records and CSV joined on the
// shared coordinates (one row per coordinate tuple, a column per variable), checked against the
// arrays as written. The same against xarray's to_dataframe is in test/interop.dataset.test.ts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { writeClimate } from './helpers/climate.js'

// writeClimate: time [0..3] days since 2020-01-01, lat -50..50 step 20 (6), lon 0..315 step 45 (8),
// temp and precip (time, lat, lon), mask (lat, lon).
const blocks = await MemoryStore.create()
const map = await HAMT.create<Uint8Array>({ store: blocks, valuesAreBytes: true })
const written = await writeClimate(new ZarrHAMTStore(map))
const ds = await openDataset(await map.flush(), { store: blocks })
const value = (name: string, i: number): number | null => written[name]?.values[i] ?? null
const at = (t: number, y: number, x: number): number => t * 48 + y * 8 + x
const days = ['2020-01-01', '2020-01-02', '2020-01-03', '2020-01-04'].map((d) => `${d}T00:00:00`)

describe('Dataset.point, box and timeRange over several variables', () => {
  it('a point over a time range: each variable its DataArray, records and CSV joined on time', async () => {
    const here = await ds
      .point({ lat: 12, lon: 100 }, { variables: ['temp', 'precip'] })
      .timeRange('2020-01-02', '2020-01-03')
      .load()
    assert.deepEqual(Object.keys(here.arrays).sort(), ['precip', 'temp'])
    assert.deepEqual(here.dims, { time: 2 })
    const temp = here.arrays.temp
    assert.ok(temp !== undefined)
    assert.deepEqual(temp.dims, ['time'])
    assert.equal(temp.coords.lat, 10)
    assert.equal(temp.coords.lon, 90)
    assert.deepEqual(
      here.toRecords(),
      [1, 2].map((t) => ({
        time: days[t],
        lat: 10,
        lon: 90,
        temp: value('temp', at(t, 3, 2)),
        precip: value('precip', at(t, 3, 2)),
      })),
    )
    const csv = here.toCSV().split('\n')
    assert.equal(csv[0], 'time,lat,lon,precip,temp')
    assert.equal(
      csv[1],
      `${days[1]},10,90,${value('precip', at(1, 3, 2)) ?? ''},${value('temp', at(1, 3, 2)) ?? ''}`,
    )
    assert.equal(csv.length, 4) // header, two rows, the final newline
  })

  it('every data variable by default; one lacking a dimension repeats along it', async () => {
    const box = await ds
      .box({ lat: [30, 10], lon: [45, 0] })
      .isel({ time: { start: 2 } })
      .load()
    assert.deepEqual(Object.keys(box.arrays).sort(), ['mask', 'precip', 'temp'])
    assert.deepEqual(box.dims, { time: 2, lat: 2, lon: 2 })
    assert.deepEqual(box.arrays.mask?.dims, ['lat', 'lon'])
    const expected = []
    for (const t of [2, 3])
      for (const y of [3, 4])
        for (const x of [0, 1])
          expected.push({
            time: days[t],
            lat: -50 + y * 20,
            lon: x * 45,
            mask: value('mask', y * 8 + x),
            precip: value('precip', at(t, y, x)),
            temp: value('temp', at(t, y, x)),
          })
    assert.deepEqual(box.toRecords(), expected)
  })

  it('a time range over the whole dataset keeps what lacks time whole', async () => {
    const range = ds.timeRange('2020-01-03', undefined, { variables: ['temp', 'mask'] })
    assert.deepEqual(range.dims, { time: 2, lat: 6, lon: 8 })
    assert.deepEqual(range.dataVars, ['mask', 'temp'])
    const loaded = await range.load()
    assert.equal(loaded.toRecords().length, 2 * 6 * 8)
    assert.deepEqual(loaded.arrays.mask?.shape, [6, 8])
  })

  it('progress counts every variable; maxValues bounds them all together', async () => {
    const seen: number[] = []
    const view = ds.point({ lat: 12, lon: 100 })
    await view.load({ onProgress: ({ done, total }) => seen.push(done / total) })
    assert.equal(seen.at(-1), 1)
    await assert.rejects(
      view.load({ maxValues: 8 }), // 4 + 4 + 1 values
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('9 values over 3 variables'),
    )
  })

  it('one variable failing stops the reads of the others (their loads are aborted)', async () => {
    const signals: (AbortSignal | undefined)[] = []
    let loads = 0
    let armed = false
    const failing = new Proxy(blocks, {
      get(target, name) {
        const value = Reflect.get(target, name, target)
        if (name !== 'load') return typeof value === 'function' ? value.bind(target) : value
        return async (id: Uint8Array, options?: { signal?: AbortSignal }) => {
          if (!armed) return target.load(id, options)
          signals.push(options?.signal)
          if (++loads === 2) throw new Error('gateway gone')
          await new Promise((resolve) => setTimeout(resolve, 20))
          return target.load(id, options)
        }
      },
    })
    const view = await openDataset(await map.flush(), { store: failing })
    armed = true
    await assert.rejects(view.isel({ time: 0 }).load(), /gateway gone/)
    assert.ok(signals.length >= 2)
    assert.ok(
      signals.every((signal) => signal?.aborted === true),
      'every load of the dataset read is aborted once one failed',
    )
  })

  it('names what is wrong: an unknown variable, an empty list, a dimension without a coordinate', () => {
    assert.throws(
      () => ds.point({ lat: 0 }, { variables: ['temp', 'rain'] }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('"rain"'),
    )
    assert.throws(
      () => ds.box({ lat: [0, 10] }, { variables: [] }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('non-empty'),
    )
    assert.throws(
      () => ds.box({ depth: [0, 10] }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('"depth"'),
    )
    assert.throws(
      () => ds.timeRange('2020', '2021', { variables: ['mask'] }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('0 dimensions with CF time'),
    )
  })

  // xarray (checked with the venv): ds.isel(lat=[3,2,1,0]).sel(lat=slice(25, 5)) keeps [20, 10], and
  // slice(5, 25) keeps nothing; on an unordered view a slice between labels it lacks is a KeyError.
  it('box on a reordered view orients the bounds by the view, not the stored coordinate', async () => {
    // lat stored -50..50 step 20; the view runs 50..-50.
    const reversed = ds.isel({ lat: [5, 4, 3, 2, 1, 0] })
    assert.deepEqual(reversed.box({ lat: [5, 35] }).coords.lat, [30, 10])
    assert.deepEqual(reversed.box({ lat: [35, 5] }).coords.lat, [30, 10])
    const temp = ds.variable('temp').isel({ lat: [5, 4, 3, 2, 1, 0] })
    assert.deepEqual(temp.box({ lat: [5, 35] }).coords.lat, [30, 10])
    assert.deepEqual(temp.box({ lat: [-35, 35] }).shape, [4, 4, 8])
    // Unordered: between labels it holds, as xarray; labels it lacks are refused, typed.
    const shuffled = ds.isel({ lat: [0, 3, 1, 2] })
    assert.deepEqual(shuffled.box({ lat: [10, -30] }).coords.lat, [10, -30])
    assert.throws(
      () => shuffled.box({ lat: [5, 25] }),
      (err) => isHamtError(err) && err.message.includes('lat'),
    )
  })
})
