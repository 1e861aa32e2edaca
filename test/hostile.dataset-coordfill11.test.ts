// A coordinate's _FillValue / missing_value (and a Zarr v2 fill_value) decoded as xarray's decode_cf
// decodes it: the same stored bytes (by zarr-python) opened by xarray and by ts-hamt/dataset.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { CFDatetime, type CoordinateValue, openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { coordFillDriver } from './helpers/python.js'

await loadBlake3()

type Case = {
  format: 2 | 3
  dtype: string
  values: (number | string)[]
  attrs: Record<string, unknown>
  fill: number | null
  point: number | string
}
type Result = {
  files: Record<string, string>
  coord: (number | string | null)[]
  point: number[] | { error: string }
}

/** -999 as xarray writes a float _FillValue into Zarr v3 attributes: base64 of its little-endian bytes. */
const f64 = (value: number): string => Buffer.from(new Float64Array([value]).buffer).toString('base64')
const hours = { units: 'hours since 2000-01-01' }

const CASES: Case[] = [
  // Microseconds past 2^53, masked: xarray decodes the int64 exactly (a double would round them).
  {
    format: 3,
    dtype: 'int64',
    values: ['9007199254740993', '-999', '9007199254740995'],
    attrs: { units: 'microseconds since 1970-01-01', _FillValue: -999 },
    fill: null,
    point: '2255-06-05T23:47:34.740995',
  },
  {
    format: 3,
    dtype: 'float64',
    values: [10, -999, 30],
    attrs: { _FillValue: f64(-999) },
    fill: null,
    point: 30,
  },
  {
    format: 3,
    dtype: 'float64',
    values: [10, -999, 30],
    attrs: { missing_value: -999 },
    fill: null,
    point: 30,
  },
  { format: 3, dtype: 'int32', values: [10, -999, 30], attrs: { _FillValue: -999 }, fill: null, point: 30 },
  {
    format: 3,
    dtype: 'int32',
    values: [10, -999, 30],
    attrs: { missing_value: -999 },
    fill: null,
    point: -999,
  },
  // Zarr v3: the array's own fill_value masks nothing, to xarray nor to us.
  { format: 3, dtype: 'int32', values: [10, -999, 30], attrs: {}, fill: -999, point: -999 },
  { format: 3, dtype: 'float64', values: [10, -999, 30], attrs: {}, fill: -999, point: -999 },
  {
    format: 3,
    dtype: 'int64',
    values: [0, -999, 2],
    attrs: { ...hours, _FillValue: -999 },
    fill: null,
    point: '2000-01-01T02',
  },
  { format: 3, dtype: 'int64', values: [0, -999, 2], attrs: hours, fill: -999, point: '2000-01-01T02' },
  { format: 2, dtype: 'float64', values: [10, -999, 30], attrs: { _FillValue: -999 }, fill: null, point: 30 },
  { format: 2, dtype: 'int32', values: [10, -999, 30], attrs: {}, fill: -999, point: 30 },
  { format: 2, dtype: 'float64', values: [10, -999, 30], attrs: {}, fill: -999, point: 10 },
  { format: 2, dtype: 'int64', values: [0, -999, 2], attrs: hours, fill: -999, point: '2000-01-01T02' },
  {
    format: 2,
    dtype: 'int64',
    values: [0, -999, 2],
    attrs: { ...hours, missing_value: -999 },
    fill: null,
    point: '2000-01-01',
  },
]

/** Our coordinate value as the driver reports xarray's: NaN and NaT null, times as ISO seconds. */
function reported(value: CoordinateValue): number | string | null {
  if (value === undefined) return null
  if (value instanceof CFDatetime) return value.toISOString()
  if (typeof value === 'number') return Number.isNaN(value) ? null : value
  return value
}

describe('coordinates with fill values, as xarray decodes them', async () => {
  const { results } = await coordFillDriver<{ results: Result[] }>('cases', { cases: CASES })
  for (const [i, testCase] of CASES.entries()) {
    const { format, dtype, attrs, fill } = testCase
    it(`v${format} ${dtype} ${JSON.stringify(attrs)} fill_value ${fill}`, async () => {
      const expected = results[i] as Result
      const store = await MemoryStore.create()
      const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
      const zarrStore = new ZarrHAMTStore(map)
      for (const [key, bytes] of Object.entries(expected.files))
        await zarrStore.set(`/${key}`, new Uint8Array(Buffer.from(bytes, 'base64')))
      const ds = await openDataset((await map.flush()) as Uint8Array, { store })
      assert.deepEqual((ds.coords.x as CoordinateValue[]).map(reported), expected.coord)
      let point: number[] | { error: string }
      try {
        point = [...(await ds.variable('p').sel({ x: testCase.point }).load()).values]
      } catch (error) {
        assert.ok(isHamtError(error), `untyped: ${error}`)
        point = { error: 'KeyError' }
      }
      assert.deepEqual(point, expected.point)
    })
  }
})
