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
import { pyHamtPython } from './helpers/python.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()

const seed = testSeed()

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

  it('a slice of an unordered coordinate bounded by a repeated label: refused when apart, bounded when side by side, as pandas', async () => {
    const cases: SelCase[] = [
      { values: [1, 3, 1], dtype: 'float64', indexer: { start: 1 } },
      { values: [3, 2, 1, 2], dtype: 'float64', indexer: { stop: 2 } },
      { values: [3, 2, 1, 2], dtype: 'float64', indexer: { start: 3, stop: 1 } },
      // Held twice side by side: pandas' get_loc is a slice, so it bounds (seed 1842753814 found it).
      { values: [8.5, 8.5, 6.5, 1, 9.5], dtype: 'float64', indexer: { start: 8.5, step: 2 } },
      { values: [2, 5, 5, 1], dtype: 'float64', indexer: { start: 2, stop: 5 } },
      { values: [2, 5, 5, 1], dtype: 'float64', indexer: { start: 5, stop: 1 } },
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
