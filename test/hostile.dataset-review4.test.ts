// An outsider's datasets: xarray writes random labelled datasets (dimensions of length 0 to 9, every
// kind of coordinate or none, every integer, float and bool dtype, NaN, _FillValue, scale_factor/add_offset,
// missing_value, times in every calendar, random chunks and compressors, Zarr v3 and v2 (some in F order)), we copy
// them into a HAMT and every value openDataset gives (coordinates, whole variables, random isel) must
// be what xarray gives. Seeded: TS_HAMT_SEED replays a run.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { loadBlake3 } from '../src/blocks.js'
import { CFDatetime, openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { hamtOfDirectory } from './helpers/maps.js'
import { pyHamtPython } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const int = (n: number): number => Math.floor(random() * n)

const dir = mkdtempSync(join(tmpdir(), 'ts-hamt-review4-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const driver = fileURLToPath(new URL('./interop/random_dataset_driver.py', import.meta.url))

type SpecLabel = { num: string } | { str: string } | { time: string }
type Selection = {
  var: string
  indexers: Record<string, { kind: 'label' | 'list' | 'slice'; labels: SpecLabel[] }>
} & ({ values: string[]; dims: string[] } | { error: string })
type Written = {
  records: Record<string, string>[]
  selections: Selection[]
  dims: Record<string, number>
  variables: Record<
    string,
    { dims: string[]; shape: number[]; dtype: string; values: string[]; coord: boolean }
  >
}

async function xarrayWrite(
  path: string,
  seeds: number[],
  zarrFormat: 2 | 3,
): Promise<Record<string, Written>> {
  const python = await pyHamtPython()
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      ['-W', 'ignore', driver, 'write'],
      { maxBuffer: 1 << 28 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`driver failed (dataset seeds ${seeds}): ${stderr}`))
        else resolve(JSON.parse(stdout) as Record<string, Written>)
      },
    )
    child.stdin?.end(JSON.stringify({ dir: path, seeds, zarrFormat }))
  })
}

/** A value as the driver writes it: numbers by repr, times ISO, NaT, strings as they are. */
function same(ours: unknown, theirs: string, dtype: string): boolean {
  if (ours instanceof CFDatetime)
    return ours.toISOString().replace(/\.0+$/, '') === theirs.replace(/\.0+$/, '')
  if (typeof ours === 'string') return ours === theirs
  if (ours === undefined || ours === null) return theirs === 'NaT' || theirs === 'nan'
  // A bool variable's values are 1 and 0 (NaN where masked): True == 1 in Python too.
  const expected = theirs === 'True' ? 1 : theirs === 'False' ? 0 : Number(theirs)
  const value = Number(ours)
  if (Number.isNaN(expected)) return Number.isNaN(value)
  // xarray decodes in float32 where its dtype says so; our doubles round to its float32 values.
  if (dtype === 'float32')
    return Math.fround(value) === expected || Math.abs(value - expected) <= Math.abs(expected) * 1e-6
  return value === expected
}

/** Positions of a random isel along each dimension (a number, a list or a slice) and our indexer. */
function randomIsel(shape: readonly number[]): { indexer: unknown; positions: number[] | number }[] {
  return shape.map((n) => {
    const pick = random()
    if (n > 0 && pick < 0.25) {
      const i = int(n)
      return { indexer: random() < 0.5 ? i : i - n, positions: i }
    }
    if (n > 0 && pick < 0.5) {
      const list = Array.from({ length: 1 + int(3) }, () => int(n))
      return { indexer: list, positions: list }
    }
    const start = int(n + 1)
    const stop = start + int(n + 1 - start)
    const step = 1 + int(3)
    const positions: number[] = []
    for (let p = start; p < stop; p += step) positions.push(p)
    return { indexer: { start, stop, step }, positions }
  })
}

/** The flat C-order values of `values` (shape `shape`) at the chosen positions of each dimension. */
function pickValues(
  values: readonly string[],
  shape: readonly number[],
  picks: (number[] | number)[],
): string[] {
  const out: string[] = []
  const walk = (d: number, offset: number): void => {
    if (d === shape.length) {
      out.push(values[offset] as string)
      return
    }
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1)
    const pick = picks[d] as number[] | number
    for (const p of typeof pick === 'number' ? [pick] : pick) walk(d + 1, offset + p * stride)
  }
  walk(0, 0)
  return out
}

function labelOf(label: SpecLabel): number | string {
  return 'num' in label ? Number(label.num) : 'str' in label ? label.str : label.time
}

/** xarray's label selections on the dataset, made again with `sel`: the same values and dims, or both errors. */
async function checkSelections(ds: Awaited<ReturnType<typeof openDataset>>, written: Written, what: string) {
  for (const selection of written.selections) {
    const indexers = Object.fromEntries(
      Object.entries(selection.indexers).map(([dim, { kind, labels }]) => {
        const values = labels.map(labelOf)
        if (kind === 'label') return [dim, values[0]]
        if (kind === 'list') return [dim, values]
        return [dim, { start: values[0], stop: values[1] }]
      }),
    )
    const where = `sel ${JSON.stringify(indexers)} of ${selection.var} in ${what}`
    let ours: { values: Float64Array; dims: readonly string[] } | { error: unknown }
    try {
      ours = await ds.variable(selection.var).sel(indexers).load()
    } catch (error) {
      if (!isHamtError(error)) throw error
      ours = { error }
    }
    if ('error' in selection) {
      assert.ok('error' in ours, `${where}: xarray fails (${selection.error}), we gave a result`)
      continue
    }
    assert.ok(
      !('error' in ours),
      `${where}: xarray gives values, we fail: ${'error' in ours ? ours.error : ''}`,
    )
    assert.deepEqual(ours.dims, selection.dims, where)
    const dtype = written.variables[selection.var]?.dtype as string
    const wrong = selection.values.filter((theirs, i) => !same(ours.values[i], theirs, dtype))
    assert.equal(ours.values.length, selection.values.length, where)
    assert.deepEqual(wrong, [], where)
  }
}

/** A record cell in one spelling for both sides: numbers in the column's dtype, times ISO, NaN. */
function canonical(cell: unknown, dtype: string | undefined): string {
  if (cell === null || cell === undefined || cell === 'nan' || cell === 'NaT') return 'NaN'
  if (cell === 'True' || cell === 'False') cell = cell === 'True' ? 1 : 0
  if (typeof cell === 'string' && /^-?\d{4,}-\d\d-\d\dT/.test(cell)) return cell.replace(/\.0+$/, '')
  if (typeof cell === 'string' && dtype !== undefined && /^(u?int|float)/.test(dtype)) cell = Number(cell)
  if (typeof cell === 'number') return String(dtype === 'float32' ? Math.fround(cell) : cell)
  return String(cell)
}

/** `ds.load().toRecords()` holds the rows of xarray's `to_dataframe()` (as a multiset). */
async function checkRecords(ds: Awaited<ReturnType<typeof openDataset>>, written: Written, what: string) {
  const rows = (records: readonly Record<string, unknown>[]): string[] =>
    records
      .map((row) =>
        JSON.stringify(
          Object.keys(row)
            .sort()
            .map((k) => [k, canonical(row[k], written.variables[k]?.dtype)]),
        ),
      )
      .sort()
  const ours = (await ds.load()).toRecords()
  assert.equal(ours.length, written.records.length, `rows of ${what}`)
  assert.deepEqual(rows(ours).slice(0, 20), rows(written.records).slice(0, 20), `records of ${what}`)
}

async function checkOne(
  path: string,
  written: Written,
  datasetSeed: number,
  zarrFormat: 2 | 3,
): Promise<void> {
  const what = `dataset seed ${datasetSeed}, Zarr v${zarrFormat} (run seed ${seed})`
  const { root, store } = await hamtOfDirectory(path)
  const ds = await openDataset(root, { store })
  assert.deepEqual({ ...ds.dims }, written.dims, `dims of ${what}`)
  const coords = ds.coords as Record<string, readonly unknown[]>
  for (const [name, v] of Object.entries(written.variables)) {
    if (!v.coord) continue
    const ours = coords[name]
    assert.ok(ours !== undefined, `coordinate ${name} missing in ${what}`)
    const wrong = v.values.filter((theirs, i) => !same(ours[i], theirs, v.dtype))
    assert.equal(ours.length, v.values.length, `length of ${name} in ${what}`)
    assert.deepEqual(wrong, [], `coordinate ${name} of ${what}: ours ${JSON.stringify(ours)}`)
  }
  await checkSelections(ds, written, what)
  await checkRecords(ds, written, what)
  const dataVars = Object.entries(written.variables).filter(([, v]) => !v.coord)
  assert.deepEqual(ds.dataVars.sort(), dataVars.map(([n]) => n).sort(), `data variables of ${what}`)
  for (const [name, v] of dataVars) {
    const variable = ds.variable(name)
    assert.deepEqual(variable.dims, v.dims, `dims of ${name} in ${what}`)
    const { values } = await variable.load()
    const wrong = v.values
      .map((theirs, i) => ({ i, theirs, ours: values[i] }))
      .filter(({ theirs, ours }) => !same(ours, theirs, v.dtype))
    assert.equal(values.length, v.values.length, `size of ${name} in ${what}`)
    assert.deepEqual(wrong.slice(0, 5), [], `${name} (${v.dtype}) of ${what}`)
    for (let k = 0; k < 3; k++) {
      const picks = randomIsel(v.shape)
      const indexers = Object.fromEntries(v.dims.map((d, i) => [d, picks[i]?.indexer]))
      const view = variable.isel(indexers as never)
      const expected = pickValues(
        v.values,
        v.shape,
        picks.map((p) => p.positions),
      )
      const got = await view.load({ maxBlockValues: 1 + int(20) })
      const bad = expected.filter((theirs, i) => !same(got.values[i], theirs, v.dtype))
      assert.equal(
        got.values.length,
        expected.length,
        `isel ${JSON.stringify(indexers)} of ${name} in ${what}`,
      )
      assert.deepEqual(bad, [], `isel ${JSON.stringify(indexers)} of ${name} in ${what}`)
    }
  }
}

describe('random datasets xarray wrote read back as xarray reads them', () => {
  for (const zarrFormat of [3, 2] as const) {
    it(`Zarr v${zarrFormat}`, async () => {
      const seeds = Array.from({ length: 40 }, () => int(2 ** 31))
      const where = join(dir, `v${zarrFormat}`)
      const written = await xarrayWrite(where, seeds, zarrFormat)
      for (const s of seeds) {
        try {
          await checkOne(join(where, `${s}.zarr`), written[s] as Written, s, zarrFormat)
        } catch (error) {
          throw new Error(`dataset seed ${s} (Zarr v${zarrFormat}, run seed ${seed}): ${error}`, {
            cause: error,
          })
        }
      }
    })
  }
})

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** A Zarr v2 dataset from its files (key to bytes), in an in-memory HAMT. */
async function v2Dataset(files: Record<string, Uint8Array>) {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  await map.set('.zgroup', json({ zarr_format: 2 }))
  await map.set('.zattrs', json({}))
  for (const [key, value] of Object.entries(files)) await map.set(key, value)
  return { root: await map.flush(), store }
}

/** numpy's fixed-width unicode (`<U<chars>`): UTF-32LE code points, zero-padded. */
function utf32(values: readonly (string | number[])[], chars: number): Uint8Array {
  const out = new Int32Array(values.length * chars)
  values.forEach((value, i) => {
    const points = typeof value === 'string' ? Array.from(value, (c) => c.codePointAt(0) as number) : value
    out.set(points, i * chars)
  })
  return new Uint8Array(out.buffer)
}

function zarray(dtype: string, shape: number[], chunks: number[], filters: unknown = null): Uint8Array {
  return json({
    zarr_format: 2,
    shape,
    chunks,
    dtype,
    fill_value: null,
    order: 'C',
    filters,
    compressor: null,
    dimension_separator: '.',
  })
}

describe('Zarr v2 fixed-width unicode coordinates (<U without vlen-utf8)', () => {
  it('read as the strings xarray reads (zarr-python 2 wrote them as UTF-32)', async () => {
    // xarray 2026.9 / zarr 3.0.9 read these files as ['AB', '72503', 'é', 'x'].
    const { root, store } = await v2Dataset({
      'station/.zarray': zarray('<U5', [4], [2]),
      'station/.zattrs': json({ _ARRAY_DIMENSIONS: ['station'] }),
      'station/0': utf32(['AB', '72503'], 5),
      'station/1': utf32(['é', 'x'], 5),
      'v/.zarray': zarray('<f8', [4], [4]),
      'v/.zattrs': json({ _ARRAY_DIMENSIONS: ['station'] }),
      'v/0': new Uint8Array(Float64Array.from([1, 2, 3, 4]).buffer),
    })
    const ds = await openDataset(root, { store })
    assert.deepEqual(ds.coords.station, ['AB', '72503', 'é', 'x'])
    const picked = await ds.variable('v').sel({ station: '72503' }).load()
    assert.deepEqual([...picked.values], [2])
  })

  it('a code point outside Unicode is a typed error, not a RangeError', async () => {
    const { root, store } = await v2Dataset({
      'station/.zarray': zarray('<U2', [2], [2]),
      'station/.zattrs': json({ _ARRAY_DIMENSIONS: ['station'] }),
      'station/0': utf32([[0x41], [0x110000, 0x41]], 2),
      'v/.zarray': zarray('<f8', [2], [2]),
      'v/.zattrs': json({ _ARRAY_DIMENSIONS: ['station'] }),
      'v/0': new Uint8Array(16),
    })
    assertTypedError(
      await withinBudget('code point 0x110000', () => openDataset(root, { store })),
      'ERR_INVALID_VALUE',
    )
  })
})

describe('Zarr v2 64-bit integers with fill_value null', () => {
  it('a chunk never written reads as zeros, as zarr-python reads it (xarray writes int64 times so)', async () => {
    // zarr-python 3.0.9 reads these files as t = [0, 0, 1, 2] (it skips writing the all-zero chunk).
    const int64 = (values: bigint[]): Uint8Array => new Uint8Array(BigInt64Array.from(values).buffer)
    const { root, store } = await v2Dataset({
      'time/.zarray': json({
        ...JSON.parse(new TextDecoder().decode(zarray('<i8', [4], [2]))),
        fill_value: null,
      }),
      'time/.zattrs': json({ _ARRAY_DIMENSIONS: ['time'], units: 'hours since 2000-01-01' }),
      'time/1': int64([1n, 2n]),
      'n/.zarray': json({
        ...JSON.parse(new TextDecoder().decode(zarray('<u8', [4], [2]))),
        fill_value: null,
      }),
      'n/.zattrs': json({ _ARRAY_DIMENSIONS: ['time'] }),
      'n/1': int64([7n, 8n]),
    })
    const ds = await openDataset(root, { store })
    assert.deepEqual(
      (ds.coords.time as CFDatetime[]).map((t) => t.toISOString()),
      ['2000-01-01T00:00:00', '2000-01-01T00:00:00', '2000-01-01T01:00:00', '2000-01-01T02:00:00'],
    )
    assert.deepEqual([...(await ds.variable('n').load()).values], [0, 0, 7, 8])
  })
})

/** A small Zarr v3 dataset (x coordinate, v(x)) whose array `v` has `mutate` applied to its zarr.json. */
async function mutatedV3(mutate: (meta: Record<string, unknown>) => unknown, chunkBytes?: Uint8Array) {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const array = (dtype: string, dims: string[]) => ({
    zarr_format: 3,
    node_type: 'array',
    shape: [4],
    data_type: dtype,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [2] } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    attributes: {},
    dimension_names: dims,
  })
  await map.set('zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
  await map.set('x/zarr.json', json(array('float64', ['x'])))
  await map.set('x/c/0', new Uint8Array(Float64Array.of(1, 2).buffer))
  await map.set('x/c/1', new Uint8Array(Float64Array.of(3, 4).buffer))
  const meta = array('int16', ['x']) as Record<string, unknown>
  const mutated = mutate(meta) ?? meta
  await map.set(
    'v/zarr.json',
    typeof mutated === 'string' ? new TextEncoder().encode(mutated) : json(mutated),
  )
  await map.set('v/c/0', chunkBytes ?? new Uint8Array(Int16Array.of(5, 6).buffer))
  await map.set('v/c/1', chunkBytes ?? new Uint8Array(Int16Array.of(7, 8).buffer))
  return { root: await map.flush(), store }
}

/** The dataset of {@link mutatedV3} with the coordinate x carrying `attributes`. */
async function withCoordinateAttrs(attributes: Record<string, unknown>) {
  const { root, store } = await mutatedV3(() => undefined)
  const map = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true, readOnly: false })
  const bytes = (await map.get('x/zarr.json')) as Uint8Array
  const meta = JSON.parse(new TextDecoder().decode(bytes))
  await map.set('x/zarr.json', json({ ...meta, attributes }))
  return { root: await map.flush(), store }
}

const HOSTILE_VALUES: unknown[] = [
  null,
  -1,
  0,
  1.5,
  2 ** 53,
  1e308,
  'NaN',
  '',
  'x'.repeat(1 << 16),
  [],
  [[]],
  [2 ** 31, 2 ** 31],
  [-1],
  [1, 2, 3],
  {},
  { __proto__: { polluted: true } },
  JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}'),
  true,
]
const FIELDS = [
  'shape',
  'data_type',
  'chunk_grid',
  'chunk_key_encoding',
  'fill_value',
  'codecs',
  'attributes',
  'dimension_names',
  'zarr_format',
  'node_type',
]

/** Runs `run`, then waits a moment: the unhandled promise rejections it left behind (each would end a Node process). */
async function unhandledAfter(run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  const listener = (reason: unknown): void => {
    seen.push(String(reason))
  }
  process.on('unhandledRejection', listener)
  try {
    await run()
    await new Promise((resolve) => setTimeout(resolve, 100))
  } finally {
    process.off('unhandledRejection', listener)
  }
  return seen
}

describe('unknown codecs', () => {
  const cases: Record<string, (meta: Record<string, unknown>) => void> = {
    'two unknown v3 codecs': (meta) => {
      meta.codecs = [
        { name: 'bytes', configuration: { endian: 'little' } },
        { name: 'evil1' },
        { name: 'evil2' },
      ]
    },
    'codecs that are not objects': (meta) => {
      meta.codecs = [1, 2, 3]
    },
    'unknown codecs inside a shard': (meta) => {
      meta.codecs = [
        {
          name: 'sharding_indexed',
          configuration: {
            chunk_shape: [1],
            codecs: [
              { name: 'bytes', configuration: { endian: 'little' } },
              { name: 'evil1' },
              { name: 'evil2' },
            ],
            index_codecs: [
              { name: 'bytes', configuration: { endian: 'little' } },
              { name: 'evil3' },
              { name: 'evil4' },
            ],
          },
        },
      ]
    },
  }
  for (const [name, mutate] of Object.entries(cases)) {
    it(`${name}: reading is ERR_INVALID_VALUE and leaves no unhandled rejection (which ends a Node process)`, async () => {
      const { root, store } = await mutatedV3(mutate)
      const unhandled = await unhandledAfter(async () => {
        const ds = await openDataset(root, { store })
        assertTypedError(await withinBudget(name, () => ds.variable('v').load()), 'ERR_INVALID_VALUE')
      })
      assert.deepEqual(unhandled, [])
    })
  }

  it('unknown Zarr v2 filters and compressor: the same', async () => {
    const { root, store } = await v2Dataset({
      'v/.zarray': zarray('<f8', [2], [2], [{ id: 'evil1' }, { id: 'evil2' }]),
      'v/.zattrs': json({ _ARRAY_DIMENSIONS: ['x'] }),
      'v/0': new Uint8Array(16),
    })
    const unhandled = await unhandledAfter(async () => {
      const ds = await openDataset(root, { store })
      assertTypedError(await withinBudget('v2 filters', () => ds.variable('v').load()), 'ERR_INVALID_VALUE')
    })
    assert.deepEqual(unhandled, [])
  })
})

describe('hostile Zarr v3 array metadata', () => {
  it('every field replaced by hostile values: data or a typed error, within budget', async () => {
    const failures: string[] = []
    for (const field of FIELDS) {
      for (const value of HOSTILE_VALUES) {
        const { root, store } = await mutatedV3((meta) => {
          meta[field] = value
        })
        const what = `${field} = ${JSON.stringify(value)?.slice(0, 60)}`
        const outcome = await withinBudget(what, async () => {
          const ds = await openDataset(root, { store })
          return ds.dataVars.includes('v') ? [...(await ds.variable('v').load()).values] : []
        })
        if ('error' in outcome && outcome.error !== undefined && !isHamtError(outcome.error)) {
          failures.push(
            `${what}: ${String((outcome.error as Error)?.stack ?? outcome.error)
              .split('\n')
              .slice(0, 2)
              .join(' | ')}`,
          )
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined, `prototype polluted by ${what}`)
      }
    }
    assert.deepEqual(failures, [])
  })

  it('every Zarr v2 .zarray field replaced by hostile values: data or a typed error, within budget', async () => {
    const failures: string[] = []
    const base = JSON.parse(new TextDecoder().decode(zarray('<i2', [4], [2]))) as Record<string, unknown>
    for (const field of [...Object.keys(base), 'filters']) {
      for (const value of HOSTILE_VALUES) {
        const { root, store } = await v2Dataset({
          'x/.zarray': zarray('<f8', [4], [4]),
          'x/.zattrs': json({ _ARRAY_DIMENSIONS: ['x'] }),
          'x/0': new Uint8Array(Float64Array.of(1, 2, 3, 4).buffer),
          'v/.zarray': json({ ...base, [field]: value }),
          'v/.zattrs': json({ _ARRAY_DIMENSIONS: ['x'] }),
          'v/0': new Uint8Array(Int16Array.of(5, 6).buffer),
          'v/1': new Uint8Array(Int16Array.of(7, 8).buffer),
        })
        const what = `${field} = ${JSON.stringify(value)?.slice(0, 60)}`
        const unhandled = await unhandledAfter(async () => {
          const outcome = await withinBudget(what, async () => {
            const ds = await openDataset(root, { store })
            return ds.dataVars.includes('v') ? [...(await ds.variable('v').load()).values] : []
          })
          if ('error' in outcome && outcome.error !== undefined && !isHamtError(outcome.error)) {
            const stack = String((outcome.error as Error)?.stack ?? outcome.error)
            failures.push(`${what}: ${stack.split('\n').slice(0, 2).join(' | ')}`)
          }
        })
        if (unhandled.length > 0) failures.push(`${what}: unhandled ${unhandled}`)
        assert.equal(({} as Record<string, unknown>).polluted, undefined, `prototype polluted by ${what}`)
      }
    }
    assert.deepEqual(failures, [])
  })

  it('CF attributes of the variable and its coordinate replaced by hostile values: data or a typed error', async () => {
    const failures: string[] = []
    const keys = [
      '_FillValue',
      'missing_value',
      'scale_factor',
      'add_offset',
      'units',
      'calendar',
      '_Unsigned',
    ]
    const values = [
      ...HOSTILE_VALUES,
      'days since 2000-01-01',
      'seconds since 1-1-1',
      'AAAAAAAA+H8=',
      Array.from({ length: 5000 }, (_, i) => i),
    ]
    for (const key of keys) {
      for (const value of values) {
        for (const target of ['v', 'x']) {
          const { root, store } = await mutatedV3((meta) => {
            meta.attributes = { [key]: value }
          })
          // The coordinate's attributes are mutated by moving them: rebuild with x carrying them.
          const what = `${target}.${key} = ${JSON.stringify(value)?.slice(0, 60)}`
          const opened = target === 'v' ? { root, store } : await withCoordinateAttrs({ [key]: value })
          const outcome = await withinBudget(what, async () => {
            const ds = await openDataset(opened.root, { store: opened.store })
            void ds.coords
            const v = ds.variable('v')
            void v.encoding
            const loaded = await v.load()
            return [loaded.toRecords().length, [...loaded.values]]
          })
          if ('error' in outcome && outcome.error !== undefined && !isHamtError(outcome.error)) {
            const stack = String((outcome.error as Error)?.stack ?? outcome.error)
            failures.push(`${what}: ${stack.split('\n').slice(0, 2).join(' | ')}`)
          }
        }
      }
    }
    assert.deepEqual(failures, [])
  })

  it('a chunk grid of another rank than the shape is ERR_INVALID_VALUE at open', async () => {
    for (const chunkShape of [[2, 2], [], [2, 2, 2, 2]]) {
      const { root, store } = await mutatedV3((meta) => {
        meta.chunk_grid = { name: 'regular', configuration: { chunk_shape: chunkShape } }
      })
      const outcome = await withinBudget(`chunks ${chunkShape}`, () => openDataset(root, { store }))
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
    }
  })
})

describe('records of a whole dataset span every dimension, as to_dataframe', () => {
  it('a dimension only a coordinate has repeats the rows; one of length 0 leaves none', async () => {
    // xarray: Dataset({'v': 7.0}, coords={'s': [1, 2, 3]}).to_dataframe() has 3 rows; with s of length 0, none.
    for (const s of [[1, 2, 3], []]) {
      const { root, store } = await v2Dataset({
        's/.zarray': zarray('<f8', [s.length], [Math.max(1, s.length)]),
        's/.zattrs': json({ _ARRAY_DIMENSIONS: ['s'] }),
        ...(s.length > 0 ? { 's/0': new Uint8Array(Float64Array.from(s).buffer) } : {}),
        'v/.zarray': zarray('<f8', [], []),
        'v/.zattrs': json({ _ARRAY_DIMENSIONS: [] }),
        'v/0': new Uint8Array(Float64Array.of(7).buffer),
      })
      const records = (await (await openDataset(root, { store })).load()).toRecords()
      assert.deepEqual(
        records,
        s.map((value) => ({ s: value, v: 7 })),
      )
    }
  })
})
