// Selections by label and position against xarray: py-hamt 3.6.0 writes a labelled dataset on a real
// Kubo (HAMT plain and encrypted, sharded v1 and v2, a calendar each), xarray answers generated
// .sel/.isel calls, and openDataset's views must give the same values, dims, coordinates and times,
// and fail where xarray fails. Seeded: TS_HAMT_SEED=<n> replays a run.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { bytesToHex } from '../src/blocks.js'
import type { Dataset } from '../src/dataset/dataset.js'
import {
  CFDatetime,
  decodeTimes,
  type Label,
  type LabelIndexer,
  openDataset,
  type Variable,
} from '../src/dataset.js'
import { isHamtError, KuboStore } from '../src/index.js'
import { startKubo } from './helpers/kubo.js'
import { datasetDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 1) & 255)
const header = 'ts-hamt-dataset'
const UNITS = 'days since 2000-01-01'
/** The int16 variable with scale_factor, add_offset and _FillValue (CF value decoding). */
const PACKED = true

type Setup = {
  zarrFormat?: 2
  layout: 'hamt' | 'sharded-v1' | 'sharded-v2'
  calendar: string
  encrypted?: boolean
  via: 'gateways' | 'store'
}
const SETUPS: Setup[] = [
  { layout: 'hamt', calendar: 'standard', via: 'gateways' },
  { layout: 'hamt', calendar: 'noleap', encrypted: true, via: 'store' },
  { layout: 'sharded-v1', calendar: '360_day', via: 'gateways' },
  { layout: 'sharded-v2', calendar: 'julian', via: 'store' },
  { layout: 'hamt', calendar: 'all_leap', via: 'gateways' },
  { layout: 'sharded-v1', calendar: 'proleptic_gregorian', via: 'store' },
  { layout: 'hamt', calendar: 'gregorian', encrypted: true, via: 'gateways' },
  { layout: 'sharded-v2', calendar: '365_day', via: 'gateways' },
  { layout: 'hamt', calendar: '366_day', via: 'store' },
  { layout: 'hamt', calendar: 'standard', via: 'gateways', zarrFormat: 2 },
  { layout: 'sharded-v1', calendar: 'noleap', via: 'store', zarrFormat: 2 },
]

type PyIndexer = unknown
type Spec = {
  py: {
    op: 'sel' | 'isel' | 'ds'
    var?: string
    vars?: string[]
    indexers: Record<string, PyIndexer>
    method?: string
    tolerance?: number | { duration: string }
  }
  maxBlockValues: number
} & ({ run(ds: Dataset): Variable } | { runDataset(ds: Dataset): Dataset })
type PyResult =
  | { ok: true; records: Record<string, unknown>[] }
  | {
      ok: true
      attrs: Record<string, unknown>
      dims: string[]
      shape: number[]
      values: (number | null)[]
      coords: Record<string, unknown[]>
    }
  | { ok: false; error: string; message: string }

const daemon = await startKubo()
after(() => daemon.stop())

function timeFields(date: CFDatetime): number[] {
  return [date.year, date.month, date.day, date.hour, date.minute, date.second]
}

/**
 * A time label in one of the forms users give: a Date (where the calendar has it), a CFDatetime, or
 * a string, the whole instant or a coarser period ('2000-03', '2000-03-05'). xarray gets the string
 * where it reads strings (one exact label, slice ends), else the instant the string starts at: it
 * cannot take strings with a method or in a list on a cftime index, where we refuse them too
 * (test/hostile.dataset-ds13.test.ts), so we get that instant as a CFDatetime.
 */
function timeLabel(
  random: () => number,
  date: CFDatetime,
  stringsToPython: boolean,
): { py: unknown; ts: Label } {
  const fields = timeFields(date)
  const pick = random()
  const asDate = date.toDate()
  if (
    pick < 0.25 &&
    asDate !== undefined &&
    ['standard', 'gregorian', 'proleptic_gregorian'].includes(date.calendar)
  )
    return { py: { time: fields }, ts: asDate }
  if (pick < 0.45) return { py: { time: fields }, ts: date }
  const keep = pick < 0.7 ? 6 : pick < 0.8 ? 3 : pick < 0.9 ? 2 : 4
  const text = date.toISOString().slice(0, [0, 4, 7, 10, 13, 16, 19][keep])
  const start = fields.map((v, i) => (i < keep ? v : i < 3 ? 1 : 0))
  if (!stringsToPython && !['standard', 'gregorian', 'proleptic_gregorian'].includes(date.calendar)) {
    const [year, month, day, hour, minute, second] = start as [number, number, number, number, number, number]
    return {
      py: { time: start },
      ts: new CFDatetime(year, month, day, hour, minute, second, 0, date.calendar),
    }
  }
  return { py: stringsToPython ? { str: text } : { time: start }, ts: text }
}

function generate(random: () => number, ds: Dataset, calendar: string, count: number): Spec[] {
  const coords = ds.coords as Record<string, readonly (number | CFDatetime)[]>
  const times = coords.time as readonly CFDatetime[]
  const numeric = (dim: string): number[] => coords[dim] as number[]
  const firstDay = 0
  const lastDay = 306
  const int = (n: number): number => Math.floor(random() * n)
  const specs: Spec[] = []
  for (let s = 0; s < count; s++) {
    const variable = random() < 0.7 ? 'temp' : random() < 0.5 || !PACKED ? 'elevation' : 'packed'
    const dims = variable === 'elevation' ? ['lat', 'lon'] : ['time', 'lat', 'lon']
    const maxBlockValues = random() < 0.5 ? 1 + int(40) : 1 << 20
    if (random() < 0.25) {
      const py: Record<string, unknown> = {}
      const ts: Record<string, number | number[] | { start?: number; stop?: number; step?: number }> = {}
      for (const dim of dims) {
        if (random() < 0.4) continue
        const size = ds.dims[dim] as number
        const kind = random()
        if (kind < 0.35) {
          const i = int(2 * size + 2) - size - 1 // now and then out of bounds
          py[dim] = i
          ts[dim] = i
        } else if (kind < 0.6) {
          const list = Array.from({ length: 1 + int(4) }, () => int(size))
          py[dim] = list
          ts[dim] = list
        } else {
          const start = random() < 0.2 ? null : int(2 * size) - size
          const stop = random() < 0.2 ? null : int(2 * size) - size
          const step = random() < 0.7 ? 1 : 1 + int(3)
          py[dim] = { slice: [start, stop, step] }
          ts[dim] = { start: start ?? undefined, stop: stop ?? undefined, step }
        }
      }
      specs.push({
        py: { op: 'isel', var: variable, indexers: py },
        run: (d) => d.variable(variable).isel(ts),
        maxBlockValues,
      })
      continue
    }
    const methods = ['nearest', 'pad', 'ffill', 'backfill', 'bfill'] as const
    const method = random() < 0.45 ? undefined : methods[int(methods.length)]
    const py: Record<string, unknown> = {}
    const ts: Record<string, LabelIndexer> = {}
    let hasTime = false
    const labelFor = (dim: string, exact: boolean, strings = false): { py: unknown; ts: Label } => {
      if (dim === 'time') {
        hasTime = true
        const date =
          exact || random() < 0.3
            ? (times[int(times.length)] as CFDatetime)
            : (decodeTimes(
                [firstDay - 5 + random() * (lastDay - firstDay + 10)],
                UNITS,
                calendar,
              )[0] as CFDatetime)
        // Whole seconds: xarray's labels here are built from the fields.
        const whole = new CFDatetime(
          date.year,
          date.month,
          date.day,
          date.hour,
          date.minute,
          date.second,
          0,
          calendar,
        )
        return timeLabel(random, whole, strings)
      }
      const values = numeric(dim)
      if (exact || random() < 0.25) {
        const v = values[int(values.length)] as number
        return { py: v, ts: v }
      }
      if (random() < 0.25) {
        // A midpoint: nearest must break the tie as pandas does (towards the larger value).
        const i = int(values.length - 1)
        const mid = ((values[i] as number) + (values[i + 1] as number)) / 2
        return { py: mid, ts: mid }
      }
      const lo = Math.min(...values)
      const hi = Math.max(...values)
      const v = Math.round((lo - 20 + random() * (hi - lo + 40)) * 4) / 4
      return { py: v, ts: v }
    }
    for (const dim of dims) {
      if (random() < 0.35) continue
      const kind = random()
      if (kind < 0.45 || (method !== undefined && kind >= 0.75)) {
        const label = labelFor(dim, method === undefined && random() < 0.85, method === undefined)
        py[dim] = label.py
        ts[dim] = label.ts
      } else if (kind < 0.75) {
        const labels = Array.from({ length: 1 + int(3) }, () =>
          labelFor(dim, method === undefined && random() < 0.85),
        )
        py[dim] = labels.map((l) => l.py)
        ts[dim] = labels.map((l) => l.ts)
      } else {
        const a = random() < 0.15 ? undefined : labelFor(dim, random() < 0.5, true)
        const b = random() < 0.15 ? undefined : labelFor(dim, random() < 0.5, true)
        const step = random() < 0.8 ? 1 : 2
        py[dim] = { slice: [a?.py ?? null, b?.py ?? null, step] }
        ts[dim] = { start: a?.ts, stop: b?.ts, step }
      }
    }
    const onlyTime = Object.keys(ts).length === 1 && hasTime
    const duration = method !== undefined && onlyTime && random() < 0.6 ? durationText(random) : undefined
    const tolerance =
      method !== undefined && !hasTime && random() < 0.4 ? Math.round(random() * 80) / 4 : undefined
    const options = {
      ...(method === undefined ? {} : { method }),
      ...(tolerance === undefined ? {} : { tolerance }),
      ...(duration === undefined ? {} : { tolerance: duration }),
    }
    const pyOptions = {
      ...(method === undefined ? {} : { method }),
      ...(tolerance === undefined ? {} : { tolerance }),
      ...(duration === undefined ? {} : { tolerance: { duration } }),
    }
    specs.push({
      py: { op: 'sel', var: variable, indexers: py, ...pyOptions },
      run: (d) => d.variable(variable).sel(ts, options),
      maxBlockValues,
    })
    if (random() < 0.3) specs.push(datasetSpec(random, labelFor))
    if (random() < 0.2) {
      // A time alone with a method and a duration tolerance (xarray: tolerance applies to every dimension).
      const label = labelFor('time', false)
      const options = {
        method: methods[int(methods.length)] as (typeof methods)[number],
        tolerance: durationText(random),
      }
      specs.push({
        py: {
          op: 'sel',
          var: 'temp',
          indexers: { time: label.py },
          method: options.method,
          tolerance: { duration: options.tolerance },
        },
        run: (d) => d.variable('temp').sel({ time: label.ts }, options),
        maxBlockValues,
      })
    }
  }
  return specs
}

/** A duration as users write one (whole microseconds: xarray takes a cftime index's as a timedelta). */
function durationText(random: () => number): string {
  const n = 1 + Math.floor(random() * 60)
  const pick = random()
  if (pick < 0.5) return `${n}${['h', 'D', 'min', ' days', ' hours'][Math.floor(random() * 5)]}`
  if (pick < 0.75) return `P${n % 4}DT${n}H`
  return `${n % 3} days ${String(n % 24).padStart(2, '0')}:30:00`
}

/** Dataset.point/box/timeRange over a few variables, against `ds[vars].sel(...).to_dataframe()`. */
function datasetSpec(
  random: () => number,
  labelFor: (dim: string, exact: boolean, strings?: boolean) => { py: unknown; ts: Label },
): Spec {
  const all = ['temp', 'packed', 'elevation']
  const vars = all.filter(() => random() < 0.6)
  if (vars.length === 0) vars.push(all[Math.floor(random() * 3)] as string)
  const timed = vars.some((v) => v !== 'elevation')
  const pick = random()
  const variables = random() < 0.2 && vars.length === 3 ? undefined : vars
  const base = { op: 'ds' as const, vars, maxBlockValues: 1 << 20 }
  if (pick < 0.4) {
    const py: Record<string, unknown> = {}
    const ts: Record<string, Label> = {}
    for (const dim of timed && random() < 0.3 ? ['time'] : ['lat', 'lon']) {
      const label = labelFor(dim, false)
      py[dim] = label.py
      ts[dim] = label.ts
    }
    const duration = 'time' in ts && random() < 0.7 ? durationText(random) : undefined
    return {
      py: {
        ...base,
        indexers: py,
        method: 'nearest',
        ...(duration === undefined ? {} : { tolerance: { duration } }),
      },
      maxBlockValues: base.maxBlockValues,
      runDataset: (d) =>
        d.point(ts, { ...(duration === undefined ? {} : { tolerance: duration }), variables }),
    }
  }
  if (pick < 0.7 || !timed) {
    const py: Record<string, unknown> = {}
    const bounds: Record<string, [Label, Label]> = {}
    for (const dim of ['lat', 'lon']) {
      if (random() < 0.2) continue
      const a = labelFor(dim, random() < 0.5)
      const b = labelFor(dim, random() < 0.5)
      py[dim] = { box: [a.py, b.py] }
      bounds[dim] = [a.ts, b.ts]
    }
    return {
      py: { ...base, indexers: py },
      maxBlockValues: base.maxBlockValues,
      runDataset: (d) => d.box(bounds, { variables }),
    }
  }
  const a = random() < 0.15 ? undefined : labelFor('time', random() < 0.5, true)
  const b = random() < 0.15 ? undefined : labelFor('time', random() < 0.5, true)
  return {
    py: { ...base, indexers: { time: { slice: [a?.py ?? null, b?.py ?? null, 1] } } },
    maxBlockValues: base.maxBlockValues,
    runDataset: (d) => d.timeRange(a?.ts, b?.ts, { variables }),
  }
}

/** Rows as comparable text, in a canonical order: xarray orders dimensions its own way. */
function rowKeys(records: readonly Record<string, unknown>[]): string[] {
  return records
    .map((row) =>
      JSON.stringify(
        Object.keys(row)
          .sort()
          .map((k) => [k, row[k]]),
      ),
    )
    .sort()
}

function flatCoord(value: unknown): unknown[] {
  const list = Array.isArray(value) ? value : [value]
  return list.map((v) =>
    v instanceof CFDatetime ? [...timeFields(v), v.microsecond] : Number.isNaN(v) ? null : v,
  )
}

/** What `run` resolved to, or the error it threw. */
async function settled<T>(run: () => Promise<T>): Promise<T | unknown> {
  try {
    return await run()
  } catch (error) {
    return error
  }
}

/** Where xarray raised, asserts ts-hamt's typed counterpart and is true; false where xarray answered. */
function refusedAsXarray(outcome: unknown, expected: PyResult, label: string): boolean {
  if (expected.ok) return false
  const code = expected.error === 'KeyError' ? 'ERR_LABEL_NOT_FOUND' : 'ERR_INVALID_ARGUMENT'
  assert.ok(
    isHamtError(outcome, code),
    `${label}: xarray raised ${expected.error} (${expected.message}); got ${String(outcome)}`,
  )
  return true
}

async function checkDataset(
  ds: Dataset,
  run: (ds: Dataset) => Dataset,
  expected: PyResult,
  label: string,
): Promise<void> {
  const outcome = await settled(async () => (await run(ds).load()).toRecords())
  if (refusedAsXarray(outcome, expected, label)) return
  if (!Array.isArray(outcome)) assert.fail(`${label}: xarray answered, ts-hamt threw ${String(outcome)}`)
  assert.ok('records' in expected, label)
  assert.equal(outcome.length, expected.records.length, `${label}: rows`)
  assert.deepEqual(rowKeys(outcome), rowKeys(expected.records), `${label}: records`)
}

async function check(ds: Dataset, spec: Spec, expected: PyResult, label: string): Promise<void> {
  if ('runDataset' in spec) return checkDataset(ds, spec.runDataset, expected, label)
  const outcome = await settled(async () => {
    const variable = spec.run(ds)
    const { values } = await variable.load({ maxBlockValues: spec.maxBlockValues })
    return { variable, values }
  })
  if (refusedAsXarray(outcome, expected, label)) return
  if (!(typeof outcome === 'object' && outcome !== null && 'variable' in outcome)) {
    assert.fail(`${label}: xarray answered, ts-hamt threw ${String(outcome)}`)
  }
  const { variable, values } = outcome as { variable: Variable; values: Float64Array }
  assert.ok('dims' in expected, label)
  assert.deepEqual(variable.dims, expected.dims, `${label}: dims`)
  assert.deepEqual(variable.attrs, expected.attrs, `${label}: attrs`)
  assert.deepEqual(variable.shape, expected.shape, `${label}: shape`)
  assert.deepEqual(
    [...values].map((v) => (Number.isNaN(v) ? null : v)),
    expected.values,
    `${label}: values`,
  )
  const coords = variable.coords
  for (const [name, want] of Object.entries(expected.coords)) {
    assert.deepEqual(flatCoord(coords[name]), want, `${label}: coordinate ${name}`)
  }
  assert.deepEqual(
    Object.keys(coords).sort(),
    Object.keys(expected.coords).sort(),
    `${label}: coordinate names`,
  )
}

describe('dataset selections against xarray on datasets py-hamt wrote', () => {
  const random = mulberry32(seed)
  for (const setup of SETUPS) {
    const name = `${setup.zarrFormat === 2 ? 'Zarr v2 ' : ''}${setup.layout}${setup.encrypted ? ' encrypted' : ''}, ${setup.calendar} calendar, via ${setup.via}`
    it(name, { timeout: 300_000 }, async () => {
      const request = {
        rpcUrl: daemon.rpcUrl,
        gatewayUrl: daemon.gatewayUrl,
        layout: setup.layout,
        calendar: setup.calendar,
        ...(setup.zarrFormat === undefined ? {} : { zarrFormat: setup.zarrFormat }),
        ...(setup.encrypted
          ? {
              encryption: {
                keyHex: bytesToHex(key),
                headerHex: bytesToHex(new TextEncoder().encode(header)),
              },
            }
          : {}),
      }
      const written = await datasetDriver<{ root: string; group: string | null }>('write', request)
      const source =
        setup.via === 'gateways'
          ? { gateways: daemon.gatewayUrl }
          : { store: new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl }) }
      const ds = await openDataset(written.root, {
        ...source,
        ...(setup.encrypted ? { encryption: { key, header } } : {}),
      })
      assert.equal(ds.group, written.group ?? '')
      assert.equal(ds.layout.kind, setup.layout === 'hamt' ? 'hamt' : 'sharded')
      assert.deepEqual(ds.dims, { time: 23, lat: 17, lon: 24 })
      assert.deepEqual(ds.dataVars, ['elevation', 'packed', 'temp'])
      // As the driver encoded it: fill values are numbers here, not xarray's base64.
      const { fillValue, scaleFactor, addOffset } = ds.variable('packed').encoding
      assert.deepEqual(
        { fillValue, scaleFactor, addOffset },
        { fillValue: -32767, scaleFactor: 0.5, addOffset: 10 },
      )
      // As xarray shows a decoded time: its units and calendar are encoding, not attributes.
      assert.deepEqual(ds.variable('time').attrs, {})
      const { units, calendar } = ds.variable('time').encoding
      assert.deepEqual({ units, calendar }, { units: UNITS, calendar: setup.calendar })
      const specs = generate(random, ds, setup.calendar, 40)
      const { results } = await datasetDriver<{ results: PyResult[] }>('select', {
        ...request,
        root: written.root,
        group: written.group,
        selections: specs.map((s) => s.py),
      })
      let failures = 0
      for (const [i, spec] of specs.entries()) {
        const label = `seed ${seed} ${name} #${i} ${JSON.stringify(spec.py)}`
        await check(ds, spec, results[i] as PyResult, label)
        if (!(results[i] as PyResult).ok) failures++
      }
      const datasets = specs.filter((s) => s.py.op === 'ds').length
      const durations = specs.filter((s) => typeof s.py.tolerance === 'object').length
      console.log(
        `${name}: ${specs.length} selections (${datasets} dataset-wide, ${durations} with a duration tolerance), ${failures} refused by both`,
      )
    })
  }
})
