// An outsider's cases for `sel`: coordinates and labels its authors did not choose (repeated values,
// NaN, float32, descending, unordered), each selection compared with real xarray's `sel` on the same
// coordinate. Generated cases print their seed (TS_HAMT_SEED replays).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import fc from 'fast-check'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { pyHamtPython } from './helpers/python.js'

await loadBlake3()

const seed = Number(process.env.TS_HAMT_SEED ?? Math.floor(Math.random() * 2 ** 31))
console.log('seed', seed, '(replay with TS_HAMT_SEED)')

const run = promisify(execFile)
const driver = fileURLToPath(new URL('./interop/sel_driver.py', import.meta.url))

type Indexer = number | number[] | { start?: number; stop?: number; step?: number }
type Method = 'nearest' | 'pad' | 'backfill'
interface SelCase {
  values: number[]
  dtype: 'float64' | 'float32'
  indexer: Indexer
  method?: Method
  tolerance?: number
}
type Outcome = { positions: number[]; scalar: boolean } | { error: string }

/** Numbers as the driver reads them: NaN and infinities as strings. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))
}

async function xarraySel(cases: readonly SelCase[]): Promise<Outcome[]> {
  const python = await pyHamtPython()
  const child = run(python, ['-W', 'ignore', driver], { maxBuffer: 1 << 26 })
  child.child.stdin?.end(toJson({ cases }))
  return (JSON.parse((await child).stdout) as { results: Outcome[] }).results
}

/** One in-memory dataset: for case i, a coordinate `c<i>` and a variable `p<i>` holding 0..n-1 along it. */
async function openCases(cases: readonly SelCase[]) {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const zarrStore = new ZarrHAMTStore(map)
  const group = await zarr.create(zarr.root(zarrStore), { attributes: {} })
  const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
  for (const [i, c] of cases.entries()) {
    const shape = [c.values.length]
    const chunkShape = [Math.max(1, c.values.length)]
    const coord = await zarr.create(group.resolve(`c${i}`), {
      shape,
      chunkShape,
      dtype: c.dtype,
      dimensionNames: [`c${i}`],
      codecs,
    })
    const data = c.dtype === 'float32' ? Float32Array.from(c.values) : Float64Array.from(c.values)
    if (c.values.length > 0) await zarr.set(coord, null, { data, shape, stride: [1] } as never)
    const positions = await zarr.create(group.resolve(`p${i}`), {
      shape,
      chunkShape,
      dtype: 'int32',
      dimensionNames: [`c${i}`],
      codecs,
    })
    const index = Int32Array.from(c.values, (_, j) => j)
    if (c.values.length > 0) await zarr.set(positions, null, { data: index, shape, stride: [1] } as never)
  }
  return openDataset(await map.flush(), { store })
}

/** What our `sel` gives for each case, in the driver's terms (any ts-hamt error is an error). */
async function ourSel(cases: readonly SelCase[]): Promise<Outcome[]> {
  const ds = await openCases(cases)
  return Promise.all(
    cases.map(async (c, i): Promise<Outcome> => {
      try {
        const options = {
          ...(c.method === undefined ? {} : { method: c.method }),
          ...(c.tolerance === undefined ? {} : { tolerance: c.tolerance }),
        }
        const view = ds.variable(`p${i}`).sel({ [`c${i}`]: c.indexer }, options)
        const { values } = await view.load()
        return { positions: [...values].map(Number), scalar: view.dims.length === 0 }
      } catch (error) {
        if (!isHamtError(error)) throw error
        return { error: (error as Error & { code: string }).code }
      }
    }),
  )
}

/** Compares outcomes case by case: the same positions (and kept or dropped dimension), or both errors. */
function assertSameAsXarray(cases: readonly SelCase[], ours: Outcome[], theirs: Outcome[]): void {
  const wrong = cases
    .map((c, i) => ({ c, ours: ours[i] as Outcome, theirs: theirs[i] as Outcome }))
    .filter(({ ours: a, theirs: b }) =>
      'error' in a || 'error' in b ? !('error' in a && 'error' in b) : toJson(a) !== toJson(b),
    )
  assert.deepEqual(
    wrong.slice(0, 5).map((w) => toJson(w)),
    [],
    `${wrong.length} of ${cases.length} selections differ from xarray (seed ${seed})`,
  )
}

describe('sel on coordinates with repeated values, as xarray', () => {
  it('an exact label held twice keeps the dimension with both positions; held once it is dropped', async () => {
    const cases: SelCase[] = [
      { values: [1, 2, 2, 3], dtype: 'float64', indexer: 2 },
      { values: [1, 2, 2, 3], dtype: 'float64', indexer: 1 },
      { values: [3, 2, 2, 1], dtype: 'float64', indexer: 2 },
      { values: [3, 2, 1, 2], dtype: 'float64', indexer: 2 },
      { values: [1, Number.NaN, 1], dtype: 'float32', indexer: 1 },
    ]
    assertSameAsXarray(cases, await ourSel(cases), await xarraySel(cases))
    assert.deepEqual((await ourSel(cases.slice(0, 1)))[0], { positions: [1, 2], scalar: false })
  })

  it('methods and label lists on a coordinate with repeated values are refused, as xarray refuses them', async () => {
    const cases: SelCase[] = [
      { values: [1, 2, 2, 3], dtype: 'float64', indexer: 2.2, method: 'nearest' },
      { values: [1, 2, 2, 3], dtype: 'float64', indexer: 2.5, method: 'pad' },
      { values: [3, 2, 2, 1], dtype: 'float64', indexer: 0, method: 'backfill', tolerance: 5 },
      { values: [1, 2, 2, 3], dtype: 'float64', indexer: [1, 3] },
    ]
    const ours = await ourSel(cases)
    assertSameAsXarray(cases, ours, await xarraySel(cases))
    assert.ok(ours.every((o) => 'error' in o && o.error === 'ERR_INVALID_ARGUMENT'))
  })

  it('a slice of an unordered coordinate bounded by a repeated label is refused, as pandas refuses it', async () => {
    const cases: SelCase[] = [
      { values: [1, 3, 1], dtype: 'float64', indexer: { start: 1 } },
      { values: [3, 2, 1, 2], dtype: 'float64', indexer: { stop: 2 } },
      { values: [3, 2, 1, 2], dtype: 'float64', indexer: { start: 3, stop: 1 } },
    ]
    assertSameAsXarray(cases, await ourSel(cases), await xarraySel(cases))
  })

  it('generated coordinates and labels select what xarray selects', async () => {
    const label = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: -2, max: 22 }).map((v) => v / 2) },
      { weight: 2, arbitrary: fc.integer({ min: -2, max: 22 }).map((v) => v / 2 + 0.25) },
      { weight: 1, arbitrary: fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
    )
    const values = fc
      .tuple(
        fc.array(
          fc.integer({ min: 0, max: 20 }).map((v) => v / 2),
          { maxLength: 8 },
        ),
        fc.constantFrom('ascending', 'descending', 'unordered', 'unique ascending', 'with NaN'),
      )
      .map(([raw, order]) => {
        if (order === 'ascending') return raw.sort((a, b) => a - b)
        if (order === 'descending') return raw.sort((a, b) => b - a)
        if (order === 'unique ascending') return [...new Set(raw)].sort((a, b) => a - b)
        if (order === 'with NaN' && raw.length > 0) raw[raw.length >> 1] = Number.NaN
        return raw
      })
    const selCase: fc.Arbitrary<SelCase> = fc.oneof(
      fc.record({
        values,
        dtype: fc.constantFrom('float64' as const, 'float32' as const),
        indexer: fc.oneof(label, fc.array(label, { minLength: 1, maxLength: 3 })),
        method: fc.constantFrom(undefined, 'nearest' as const, 'pad' as const, 'backfill' as const),
        tolerance: fc.constantFrom(undefined, 0, 0.5, 2),
      }),
      fc.record({
        values,
        dtype: fc.constantFrom('float64' as const, 'float32' as const),
        indexer: fc.record({ start: label, stop: label, step: fc.constantFrom(1, 2) }, { requiredKeys: [] }),
      }),
    )
    const cases = fc
      .sample(selCase, { seed, numRuns: 400 })
      .map((c) => (c.method === undefined ? { ...c, tolerance: undefined } : c))
    assertSameAsXarray(cases, await ourSel(cases), await xarraySel(cases))
  })
})

describe('names a dataset chooses', () => {
  it('arrays and dimensions named __proto__, constructor or toString are own keys of dims, coords and records', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    const arrays: Array<[string, string, number[]]> = [
      ['__proto__', '__proto__', [10, 20]],
      ['constructor', '__proto__', [1, 2]],
      ['toString', 'toString', [5, 6]],
    ]
    for (const [name, dim, values] of arrays) {
      const array = await zarr.create(group.resolve(name), {
        shape: [2],
        chunkShape: [2],
        dtype: 'float64',
        dimensionNames: [dim],
        codecs,
      })
      await zarr.set(array, null, { data: Float64Array.from(values), shape: [2], stride: [1] } as never)
    }
    const ds = await openDataset(await map.flush(), { store })
    const own = (record: object): Array<[string, unknown]> => {
      assert.equal(Object.getPrototypeOf(record), Object.prototype)
      return Object.entries(record).map(([key, value]) => [
        key,
        ArrayBuffer.isView(value) ? [...(value as Float64Array)] : value,
      ])
    }
    assert.deepEqual(own(ds.dims).sort(), [
      ['__proto__', 2],
      ['toString', 2],
    ])
    assert.deepEqual(own(ds.coords).sort(), [
      ['__proto__', [10, 20]],
      ['toString', [5, 6]],
    ])
    const ctor = ds.variable('constructor')
    assert.deepEqual(own(ctor.coords), [['__proto__', [10, 20]]])
    const records = (await ctor.load()).toRecords()
    assert.deepEqual(records.map(own), [
      [
        ['__proto__', 10],
        ['constructor', 1],
      ],
      [
        ['__proto__', 20],
        ['constructor', 2],
      ],
    ])
    assert.deepEqual((await ds.variable('toString').load()).toRecords().map(own), [
      [['toString', 5]],
      [['toString', 6]],
    ])
    assert.equal((await ctor.load()).toCSV(), '__proto__,constructor\n10,1\n20,2\n')
    const point = ctor.isel({ ['__proto__']: 1 })
    assert.deepEqual((await point.load()).toRecords().map(own), [
      [
        ['__proto__', 20],
        ['constructor', 2],
      ],
    ])
  })
})

describe('time coordinates as xarray writes them', () => {
  it('an int64 time coordinate holding NaT (-2^63, no _FillValue, as xarray writes it) decodes it to a gap', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    // What xarray 2026.9 writes for datetime64 ['2000-01-01', 'NaT', '2000-01-03'] (zarr_format=3).
    const time = await zarr.create(group.resolve('time'), {
      shape: [3],
      chunkShape: [3],
      dtype: 'int64',
      dimensionNames: ['time'],
      codecs,
      attributes: { units: 'days since 2000-01-01 00:00:00', calendar: 'proleptic_gregorian' },
    })
    const raw = BigInt64Array.from([0n, -(2n ** 63n), 2n])
    await zarr.set(time, null, { data: raw, shape: [3], stride: [1] } as never)
    const v = await zarr.create(group.resolve('v'), {
      shape: [3],
      chunkShape: [3],
      dtype: 'float64',
      dimensionNames: ['time'],
      codecs,
    })
    await zarr.set(v, null, { data: Float64Array.from([1, 2, 3]), shape: [3], stride: [1] } as never)
    const ds = await openDataset(await map.flush(), { store })
    const outcome = await withinBudget('NaT coordinate', async () => {
      const variable = ds.variable('v')
      return {
        records: (await variable.load()).toRecords(),
        selected: [...(await variable.sel({ time: '2000-01-03' }).load()).values],
      }
    })
    assert.equal(outcome.error, undefined, String((outcome.error as Error)?.stack))
    assert.deepEqual(outcome.value?.records, [
      { time: '2000-01-01T00:00:00', v: 1 },
      { time: null, v: 2 },
      { time: '2000-01-03T00:00:00', v: 3 },
    ])
    assert.deepEqual(outcome.value?.selected, [3])
  })
})

/** A float64 Zarr v3 array's zarr.json, filled with NaN. */
function arrayDocument(shape: number[], chunks: number[], dims: string[]): object {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape,
    data_type: 'float64',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 'NaN',
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    attributes: {},
    dimension_names: dims,
  }
}

describe('chunk shapes a stranger declares', () => {
  /** A root whose array `v` of `shape` declares `chunks`, with no chunk stored (all fill value). */
  async function declared(shape: number[], chunks: number[]) {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
    await zarrStore.set(
      '/v/zarr.json',
      json(
        arrayDocument(
          shape,
          chunks,
          shape.map((_, d) => `d${d}`),
        ),
      ),
    )
    return openDataset(await map.flush(), { store })
  }

  it('a 10-value array declaring chunks of 10^8 values is refused at read, not allocated (800 MB)', async () => {
    const ds = await declared([10], [1e8])
    const outcome = await withinBudget('overhanging chunk', () => ds.variable('v').isel({ d0: 0 }).load())
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.match(String((outcome.error as Error).message), /chunk/)
  })

  it('a 10-value coordinate declaring chunks of 10^8 values is refused at open, not allocated', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
    await zarrStore.set('/x/zarr.json', json(arrayDocument([10], [1e8], ['x'])))
    const root = await map.flush()
    const outcome = await withinBudget('overhanging coordinate chunk', () => openDataset(root, { store }))
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
  })

  it('chunks larger than the array as appendable datasets have them still read', async () => {
    for (const [shape, chunks] of [
      [[10], [1000]],
      [
        [3, 4],
        [512, 4],
      ],
      [
        [0, 4],
        [1e8, 4],
      ],
    ]) {
      const ds = await declared(shape as number[], chunks as number[])
      const outcome = await withinBudget('small overhang', async () => [
        ...(await ds.variable('v').load()).values,
      ])
      assert.equal(outcome.error, undefined, String(outcome.error))
      assert.equal(
        outcome.value?.length,
        (shape as number[]).reduce((a, b) => a * b, 1),
      )
    }
  })
})

describe('chunks whose bytes do not match their declared shape', () => {
  // zarr-python refuses each ("cannot reshape array of size 1 into shape (10,)").
  for (const bytes of [1, 7, 8, 72, 88, 160]) {
    it(`a chunk of ${bytes} bytes for 10 float64 values is ERR_INVALID_VALUE, not zeros`, async () => {
      const store = await MemoryStore.create()
      const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
      const zarrStore = new ZarrHAMTStore(map)
      const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
      await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
      await zarrStore.set('/v/zarr.json', json(arrayDocument([10], [10], ['x'])))
      await zarrStore.set('/v/c/0', new Uint8Array(bytes).fill(0x3f))
      const ds = await openDataset(await map.flush(), { store })
      const outcome = await withinBudget('short chunk', () => ds.variable('v').load())
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
    })
  }
})
