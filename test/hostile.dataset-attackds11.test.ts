// A differential attack on ts-hamt/dataset: xarray writes random CF datasets through py-hamt's
// ZarrHAMTStore (times in every calendar and odd units spellings, far from the epoch, descending,
// unordered or repeated labels; every dtype with _FillValue, missing_value, valid_range, scale and
// offset; chunks not dividing the shape; Zarr v2 and v3, sharded), reopens them with decode_cf and
// answers random `sel` calls; openDataset must give the same values, dims and labels, and fail where
// xarray fails. Seeded: TS_HAMT_SEED replays a run (the seed is printed).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytesToHex, hexToBytes, loadBlake3 } from '../src/blocks.js'
import { CFDatetime, type Dataset, encodeTime, type LabelIndexer, openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore } from '../src/index.js'
import { attackDatasetDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { timeDataset } from './helpers/time-dataset.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)

type SpecLabel = { num: string } | { str: string } | { time: number[] } | { none: null }
type Selection = {
  var: string
  indexers: Record<string, { kind: 'label' | 'list' | 'slice'; labels: SpecLabel[]; step: number | null }>
  method: 'nearest' | 'pad' | 'backfill' | null
  tolerance: number | string | null
} & (
  | { values: string[]; dims: string[]; coords: Record<string, string[]> }
  | { error: string; message: string }
)
type Written =
  | { skipped: string }
  | {
      zarrFormat: 2 | 3
      root: string
      blocks: Record<string, string>
      dims: Record<string, number>
      variables: Record<string, { dims: string[]; dtype: string; values: string[]; coord: boolean }>
      selections: Selection[]
    }

/** A value as the driver writes it: numbers by repr, times ISO, NaT, strings as they are. */
function same(ours: unknown, theirs: string, dtype: string): boolean {
  if (ours instanceof CFDatetime)
    return ours.toISOString().replace(/\.0+$/, '') === theirs.replace(/\.0+$/, '')
  if (typeof ours === 'string') return ours === theirs
  if (ours === undefined || ours === null) return theirs === 'NaT' || theirs === 'nan'
  const spelled: Record<string, number> = {
    True: 1,
    False: 0,
    inf: Number.POSITIVE_INFINITY,
    '-inf': -Infinity,
  }
  const expected = spelled[theirs] ?? Number(theirs)
  const value = Number(ours)
  if (Number.isNaN(expected)) return Number.isNaN(value)
  // xarray decodes in float32 (or float16) where its dtype says so; our doubles round to its values.
  if (dtype === 'float32' || dtype === 'float16')
    return Math.fround(value) === expected || Math.abs(value - expected) <= Math.abs(expected) * 1e-3
  return (
    value === expected || (dtype === 'object' && Math.abs(value - expected) <= Math.abs(expected) * 1e-15)
  )
}

function mismatches(ours: ArrayLike<unknown>, theirs: readonly string[], dtype: string): string[] {
  const wrong: string[] = []
  if (ours.length !== theirs.length) return [`length ${ours.length}, xarray ${theirs.length}`]
  for (let i = 0; i < theirs.length && wrong.length < 4; i++) {
    const o = ours[i]
    if (!same(o, theirs[i] as string, dtype))
      wrong.push(`[${i}] ours ${o instanceof CFDatetime ? o.toISOString() : String(o)}, xarray ${theirs[i]}`)
  }
  return wrong
}

async function open(written: Extract<Written, { root: string }>): Promise<Dataset> {
  const store = await MemoryStore.create()
  for (const [id, data] of Object.entries(written.blocks)) {
    assert.equal(bytesToHex((await store.save(hexToBytes(data), 'raw')) as Uint8Array), id, 'same block IDs')
  }
  return openDataset(hexToBytes(written.root), { store })
}

/** A label as the driver gave it to xarray; an instant in the time coordinate's calendar. */
function labelOf(label: SpecLabel, calendar: string): number | string | CFDatetime | undefined {
  if ('none' in label) return undefined
  if ('num' in label) return Number(label.num)
  if ('str' in label) return label.str
  const [year, month, day, hour, minute, second, microsecond] = label.time as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  return new CFDatetime(year, month, day, hour, minute, second, microsecond, calendar)
}

/** Every disagreement of one dataset with xarray, as lines (empty when none). */
async function differences(written: Extract<Written, { root: string }>): Promise<string[]> {
  const out: string[] = []
  const ds = await open(written)
  const sorted = (dims: Record<string, number>): string => JSON.stringify(Object.entries(dims).sort())
  if (sorted(ds.dims) !== sorted(written.dims))
    out.push(`dims ${JSON.stringify(ds.dims)}, xarray ${JSON.stringify(written.dims)}`)
  const coords = ds.coords as Record<string, readonly unknown[]>
  for (const [name, v] of Object.entries(written.variables)) {
    if (v.coord) {
      const wrong = mismatches(coords[name] ?? [], v.values, v.dtype)
      if (wrong.length > 0) out.push(`coordinate ${name} (${v.dtype}): ${wrong.join('; ')}`)
      continue
    }
    const { values } = await ds.variable(name).load()
    const wrong = mismatches(values, v.values, v.dtype)
    if (wrong.length > 0)
      out.push(
        `${name} (${v.dtype}, attrs ${JSON.stringify(ds.variable(name).encoding)}): ${wrong.join('; ')}`,
      )
  }
  for (const s of written.selections) {
    const indexers: Record<string, LabelIndexer> = {}
    for (const [dim, { kind, labels, step }] of Object.entries(s.indexers)) {
      const calendar = ds.variable(dim).encoding.calendar ?? 'standard'
      const values = labels.map((label) => labelOf(label, calendar))
      indexers[dim] =
        kind === 'label'
          ? (values[0] as number | string | CFDatetime)
          : kind === 'list'
            ? (values as (number | string | CFDatetime)[])
            : { start: values[0], stop: values[1], ...(step === 1 ? {} : { step: step as number }) }
    }
    const options = {
      ...(s.method === null ? {} : { method: s.method }),
      ...(s.tolerance === null ? {} : { tolerance: s.tolerance }),
    }
    const where = `sel(${JSON.stringify(indexers)}, ${JSON.stringify(options)}) of ${s.var}`
    let view: ReturnType<ReturnType<Dataset['variable']>['sel']>
    let loaded: Float64Array
    try {
      view = ds.variable(s.var).sel(indexers, options)
      loaded = (await view.load()).values
    } catch (error) {
      if (!isHamtError(error)) {
        out.push(`${where}: untyped ${error}`)
      } else if (!('error' in s)) {
        out.push(`${where}: xarray gives ${JSON.stringify(s.values).slice(0, 80)}, we fail: ${error}`)
      }
      continue
    }
    if ('error' in s) {
      out.push(`${where}: xarray fails (${s.error} ${s.message}), we give ${JSON.stringify([...loaded])}`)
      continue
    }
    if (JSON.stringify(view.dims) !== JSON.stringify(s.dims))
      out.push(`${where}: dims ${JSON.stringify(view.dims)}, xarray ${JSON.stringify(s.dims)}`)
    const wrong = mismatches(loaded, s.values, written.variables[s.var]?.dtype as string)
    if (wrong.length > 0) out.push(`${where}: ${wrong.join('; ')}`)
    const viewCoords = view.coords as Record<string, readonly unknown[]>
    for (const [dim, labels] of Object.entries(s.coords)) {
      const bad = mismatches(viewCoords[dim] ?? [], labels, written.variables[dim]?.dtype as string)
      if (bad.length > 0) out.push(`${where}: labels of ${dim}: ${bad.join('; ')}`)
    }
  }
  return out
}

describe('random CF datasets by xarray through py-hamt, read as xarray reads them', () => {
  it('generated datasets: the same values, labels and refusals as xarray', async () => {
    // Dataset seeds that once broke a run, written every run: 1144441969 starts in 1582-10-05..14,
    // which the standard calendar lacks (run seed 1197924307); 1250129945 and 1864343617 slice one
    // value with a negative step (run seed 2031573261).
    const fixed = [1144441969, 1250129945, 1864343617]
    const seeds = [...fixed, ...Array.from({ length: 30 }, () => Math.floor(random() * 2 ** 31))]
    const written = await attackDatasetDriver<Record<string, Written>>('write', { seeds })
    const report: string[] = []
    for (const s of seeds) {
      const w = written[s] as Written
      if ('skipped' in w) continue
      // float16 too where the runtime has no Float16Array (Node 20, 22): read through its bits.
      const found = await differences(w).catch((error: unknown) => [`open/read failed: ${error}`])
      if (found.length > 0) report.push(`dataset seed ${s}:\n  ${found.slice(0, 6).join('\n  ')}`)
    }
    assert.deepEqual(report, [], `run seed ${seed}`)
  })
})

const positions = async (ds: Dataset, indexer: LabelIndexer): Promise<number[]> => [
  ...(await ds.variable('p').sel({ time: indexer }).load()).values,
]

describe('a time label names its period to the microsecond, however coarse the units', () => {
  // 'hours since 0001-01-01' in year 2024 is 1.7e7 hours: an hour's last microsecond, 17:59:59.999999,
  // rounds to 18:00 in a double, so the next hour was taken into '2024-07-21T17' (seed 7 found it).
  const units = 'hours since 0001-01-01'
  const calendar = '360_day'
  it("sel('2024-07-21T17') and a slice ending there hold 17:00 only, as xarray", async () => {
    const h = encodeTime('2024-07-21T17:00', units, calendar)
    const ds = await timeDataset([h, h + 1], { units, calendar })
    assert.deepEqual(await positions(ds, '2024-07-21T17'), [0])
    assert.deepEqual(await positions(ds, { stop: '2024-07-21T17' }), [0])
  })
  it("a day's slice ends before the next midnight, also on a descending coordinate", async () => {
    const d = encodeTime('2300-06-23', units, calendar)
    const ds = await timeDataset([d, d + 6, d + 24], { units, calendar })
    assert.deepEqual(await positions(ds, '2300-06-23'), [0, 1])
    assert.deepEqual(await positions(ds, { start: '2300-06-23', stop: '2300-06-23' }), [0, 1])
    const down = await timeDataset([d + 24, d + 6, d], { units, calendar })
    assert.deepEqual(await positions(down, { start: '2300-06-23', stop: '2300-06-23' }), [1, 2])
    assert.deepEqual(await positions(down, '2300-06-23'), [1, 2])
  })
  it('a stored time just below 19:00 that decodes to 18:59:59.999987 is in 18:59:59, as xarray (run seed 30)', async () => {
    const days = 'days since 0001-01-01'
    const t = encodeTime('9001-01-04T19:00', days, 'all_leap') // 3294003.7916666665
    const ds = await timeDataset([t, t + 1], { units: days, calendar: 'all_leap' })
    assert.equal(String((ds.coords.time as CFDatetime[])[0]), '9001-01-04T18:59:59.999987')
    assert.deepEqual(await positions(ds, '9001-01-04T18:59:59'), [0])
    assert.deepEqual(await positions(ds, '9001-01-04T18'), [0])
    assert.deepEqual(await positions(ds, '9001-01-04T19'), [])
    assert.deepEqual(await positions(ds, { start: '9001-01-04T19' }), [1])
    assert.deepEqual(await positions(ds, { stop: '9001-01-04T18:59' }), [0])
  })
})

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** Every file in one in-memory HAMT, opened as a dataset. */
async function datasetOf(files: Record<string, Uint8Array>): Promise<Dataset> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  for (const [key, value] of Object.entries(files)) await map.set(key, value)
  return openDataset(await map.flush(), { store })
}

/** The files of a Zarr v3 float16 variable `h` of these half-float bits and attributes (0-d for one value). */
function halfFiles(
  bits: number[],
  attributes: Record<string, unknown>,
  ndim = 1,
): Record<string, Uint8Array> {
  const shape = ndim === 0 ? [] : [bits.length]
  return {
    'zarr.json': json({ zarr_format: 3, node_type: 'group', attributes: {} }),
    'h/zarr.json': json({
      zarr_format: 3,
      node_type: 'array',
      shape,
      data_type: 'float16',
      chunk_grid: { name: 'regular', configuration: { chunk_shape: shape } },
      chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
      fill_value: 'NaN',
      codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
      attributes,
      dimension_names: ndim === 0 ? [] : ['x'],
    }),
    [ndim === 0 ? 'h/c' : 'h/c/0']: new Uint8Array(Uint16Array.from(bits).buffer),
  }
}

describe('float16 variables (xarray writes them as v2 <f2 and v3 float16)', () => {
  // 1.5, -2 and 65504 as IEEE half floats.
  const v3 = halfFiles([0x3e00, 0xc000, 0x7bff], {})
  const bytes = v3['h/c/0'] as Uint8Array
  const v2 = {
    '.zgroup': json({ zarr_format: 2 }),
    '.zattrs': json({}),
    'h/.zarray': json({
      zarr_format: 2,
      shape: [3],
      chunks: [3],
      dtype: '<f2',
      fill_value: 'NaN',
      order: 'C',
      filters: null,
      compressor: null,
    }),
    'h/.zattrs': json({ _ARRAY_DIMENSIONS: ['x'] }),
    'h/0': bytes,
  }
  for (const [format, files] of [
    ['v3', v3],
    ['v2', v2],
  ] as const) {
    it(`${format}: the values, with or without the runtime's Float16Array`, async () => {
      const ds = await datasetOf(files)
      assert.deepEqual([...(await ds.variable('h').load()).values], [1.5, -2, 65504])
    })
  }
})

describe('a slice of pandas-indexed times out of order, between time strings (run seed 55)', () => {
  // xarray asks pandas' DatetimeIndex.slice_indexer, which selects such a slice by value (every time
  // from the start's first instant, each end held exactly, else KeyError), and takes only the whole
  // index: a part of it is no slice over positions, a KeyError. It kept positions from the start on.
  const units = 'hours since 1970-11-27'
  const outcome = async (ds: Dataset, indexer: LabelIndexer): Promise<number[] | string> =>
    positions(ds, indexer).catch((error: unknown) => {
      assert.ok(isHamtError(error), String(error))
      return 'error'
    })
  it('xarray gives every time or refuses; so do we', async () => {
    const ds = await timeDataset([17, 15, 16], { units, calendar: 'standard' })
    const cases: [LabelIndexer, number[] | string][] = [
      [{ start: '1970-11-27T15:00:00' }, [0, 1, 2]],
      [{ start: '1970-11-27T16' }, 'error'],
      [{ start: '1970-11-27T16', step: 2 }, 'error'],
      [{ stop: '1970-11-27T16' }, 'error'],
      [{ start: '1970-11-27T15:30' }, 'error'],
      [{ start: '1970-11-27T15:00:00', stop: '1970-11-27T16:00:00.000000' }, 'error'],
    ]
    for (const [indexer, expected] of cases) {
      assert.deepEqual(await outcome(ds, indexer), expected, JSON.stringify(indexer))
    }
  })
  it('the same slices of a cftime calendar stay positional (CFTimeIndex), as xarray', async () => {
    const ds = await timeDataset([17, 15, 16], { units, calendar: 'noleap' })
    assert.deepEqual(await outcome(ds, { start: '1970-11-27T15:00:00' }), [1, 2])
    assert.deepEqual(await outcome(ds, { start: '1970-11-27T16' }), [2])
  })
  it("a stop hour's last microsecond whose nearest double is the next hour held is no bound (run seed 75)", async () => {
    const hours = 'hours since 0001-01-01'
    const h = (hour: number): number => encodeTime(`9000-02-08T${hour}:00`, hours, 'noleap')
    const ds = await timeDataset([h(8), h(6), h(7)], { units: hours, calendar: 'noleap' })
    assert.deepEqual(await outcome(ds, { stop: '9000-02-08T07' }), 'error')
    assert.deepEqual(await outcome(ds, { start: '9000-02-08T06' }), [1, 2])
  })
})

describe('float16 decoded as xarray (run seeds 90 and 93 on Node 24; Node 20 reads them too)', () => {
  const values = async (ds: Promise<Dataset>): Promise<number[]> => [
    ...(await (await ds).variable('h').load()).values,
  ]
  it('a 0-d float16 variable is its value', async () => {
    assert.deepEqual(await values(datasetOf(halfFiles([0x3e00], {}, 0))), [1.5])
  })
  it('scale_factor and add_offset beside a _FillValue stay float16, each step rounded', async () => {
    // -125, 1.5 and 0.1 in half floats; xarray gives 23.25, 276.25 and 273.5 (273.15 is 273.25 in float16).
    const attrs = { scale_factor: 2, add_offset: 273.15, _FillValue: 'AAAAAAAA+H8=' }
    assert.deepEqual(
      await values(datasetOf(halfFiles([0xd7d0, 0x3e00, 0x2e66], attrs))),
      [23.25, 276.25, 273.5],
    )
  })
})

describe('a time coordinate holding NaT (run seed 124)', () => {
  it('is out of order to a slice, as pandas: string ends it does not hold are refused', async () => {
    // xarray writes NaT as int64 -2^63; it held as a number below every time, so the index was descending.
    const times = BigInt64Array.of(-3776086800n, -(2n ** 63n))
    const ds = await timeDataset(times, { units: 'seconds since 1970-01-01', calendar: 'standard' })
    const outcome = (indexer: LabelIndexer) =>
      positions(ds, indexer).catch((error: unknown) => (isHamtError(error) ? 'error' : error))
    // What xarray 2026.9 with pandas 3.1 gives.
    assert.deepEqual(await outcome({ stop: '1850-05-05' }), 'error')
    assert.deepEqual(await outcome({ start: '1850-05-05T07' }), 'error')
    assert.deepEqual(await outcome('1850-05-05T07:00:00'), [0])
  })
})

describe('label slices with a negative step', () => {
  it('reverse the coordinate as xarray (pandas slice_indexer with step -1)', async () => {
    const ds = await timeDataset([0, 24, 48, 72], { units: 'hours since 2000-01-01' })
    assert.deepEqual(await positions(ds, { start: '2000-01-04', stop: '2000-01-02', step: -1 }), [3, 2, 1])
  })
})

describe('int64 times beyond 2^53 units', () => {
  // Coordinates are held as doubles: 9000-01-01T00:00:00.000001 (2.2e17 µs) decoded as 00:00:00.
  it('decode to the microsecond, as cftime', async () => {
    const base = 221845392000000001n
    const times = BigInt64Array.of(base, base + 1n, base + 7n)
    const ds = await timeDataset(times, {
      units: 'microseconds since 1970-01-01',
      calendar: 'proleptic_gregorian',
    })
    assert.deepEqual((ds.coords.time as CFDatetime[]).map(String), [
      '9000-01-01T00:00:00.000001',
      '9000-01-01T00:00:00.000002',
      '9000-01-01T00:00:00.000008',
    ])
  })
})
