// Outsider review of ds12b (float16 without Float16Array, hex fills, backward slices): each case
// against what xarray gives on the same bytes (through py-hamt, in the same run).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytesToHex, hexToBytes, loadBlake3 } from '../src/blocks.js'
import { type Dataset, openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore } from '../src/index.js'
import { attackDatasetDriver } from './helpers/python.js'

await loadBlake3()

type Written = { root: string; blocks: Record<string, string> }
type Query = { label?: number; method?: 'nearest'; slice?: (number | null)[] }

describe('sel on a float16 coordinate (0.1, 0.5, 1.5, 2, 65504 as halves), as xarray', async () => {
  const written = await attackDatasetDriver<Written>('halves', { zarrFormat: 3 })
  const store = await MemoryStore.create()
  for (const [id, data] of Object.entries(written.blocks)) {
    assert.equal(bytesToHex((await store.save(hexToBytes(data), 'raw')) as Uint8Array), id)
  }
  const ds = await openDataset(hexToBytes(written.root), { store })
  // xarray casts a label (not a slice's bounds) to the coordinate's float16, then looks it up in
  // pandas' float64 index of the halves: 0.1 names 0.0999755859375, as 0.09999 does (0.10003 the next half).
  const queries: Query[] = [
    { label: 0.1 },
    { label: 0.09999 },
    { label: 0.10003 },
    { label: 0.0999755859375 },
    { label: 65500 },
    { label: 0.1, method: 'nearest' },
    { label: 0.3, method: 'nearest' },
    { label: 1.0, method: 'nearest' },
    { slice: [0.1, 1.5] },
    { slice: [0.09, 1.5] },
    { slice: [2, 0.1, -1] },
  ]
  const { results } = await attackDatasetDriver<{ results: (number[] | string)[] }>('halfsel', { queries })
  for (const [i, query] of queries.entries()) {
    it(`${JSON.stringify(query)}: xarray ${JSON.stringify(results[i])}`, async () => {
      const indexer =
        query.slice === undefined
          ? (query.label as number)
          : { start: query.slice[0] as number, stop: query.slice[1] as number, step: query.slice[2] ?? 1 }
      const options = query.method === undefined ? undefined : { method: query.method }
      const outcome = await (async () => ds.variable('p').sel({ y: indexer }, options).load())().then(
        ({ values }) => [...values],
        (error: unknown) => (error as { code?: string }).code ?? String(error),
      )
      const expected = results[i]
      if (typeof expected === 'string') assert.equal(typeof outcome, 'string', `xarray ${expected}`)
      else assert.deepEqual(outcome, expected)
    })
  }
})

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** A Zarr v2 dataset of one array `h` of 4 values in chunks of 2, only the first written (`first`, 1.5 and -2). */
async function v2Array(dtype: string, fill: unknown, first?: ArrayBufferView): Promise<Dataset> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  await map.set('.zgroup', json({ zarr_format: 2 }))
  await map.set(
    'h/.zarray',
    json({
      zarr_format: 2,
      shape: [4],
      chunks: [2],
      dtype,
      fill_value: fill,
      order: 'C',
      filters: null,
      compressor: null,
    }),
  )
  await map.set('h/.zattrs', json({ _ARRAY_DIMENSIONS: ['x'] }))
  const values = dtype === '<f2' ? Uint16Array.of(0x3e00, 0xc000) : Float32Array.of(1.5, -2)
  const bytes = first ?? values
  await map.set('h/0', new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  return openDataset(await map.flush(), { store })
}

describe('a Zarr v2 float fill_value in hex (v3 only gives floats as hex bits)', () => {
  // zarr-python 3.0.9 refuses to open both: "Fill_value 0x3f800000 is not valid for dtype float32".
  for (const [dtype, fill] of [
    ['<f4', '0x3f800000'],
    ['<f2', '0x3c00'],
  ] as const) {
    it(`${dtype} ${fill} is refused, not filled as Number('${fill}')`, async () => {
      const ds = await v2Array(dtype, fill)
      const outcome = await (async () => ds.variable('h').load())().then(
        ({ values }) => [...values],
        (error: unknown) => error,
      )
      assert.ok(isHamtError(outcome) && outcome.code === 'ERR_INVALID_VALUE', String(outcome))
      assert.match((outcome as Error).message, /"h".*fill_value.*0x/)
    })
  }
})

describe('a Zarr v2 float16 fill_value that is no half (0.1) masks the half it names, as xarray', () => {
  // xarray (NumPy 2) compares the float16 data with the fill value cast to float16: [nan 1.5 nan nan].
  it('fill_value 0.1 masks 0.0999755859375 (0x2e66)', async () => {
    const ds = await v2Array('<f2', 0.1, Uint16Array.of(0x2e66, 0x3e00))
    assert.deepEqual([...(await ds.variable('h').load()).values], [Number.NaN, 1.5, Number.NaN, Number.NaN])
  })
})
