// A review of the attackds11 change to ts-hamt/dataset (decoded period edges, value slices of
// out-of-order times, NaT, int64 times from their integers): targeted inputs, xarray the reference.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { loadBlake3 } from '../src/blocks.js'
import { type Dataset, type LabelIndexer, openDataset } from '../src/dataset.js'
import { isHamtError, type MemoryStore } from '../src/index.js'
import { timeSliceDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { timeStore } from './helpers/time-dataset.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const NAT = -(2n ** 63n)
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

async function timeDataset(values: BigInt64Array, attrs: Record<string, unknown>): Promise<Dataset> {
  const { root, store } = await timeStore(values, attrs)
  return openDataset(root, { store })
}

/** The positions `sel({ time: indexer })` keeps, or 'error' for a typed error. */
async function outcome(ds: Dataset, indexer: LabelIndexer): Promise<number[] | 'error'> {
  try {
    return [...(await ds.variable('p').sel({ time: indexer }).load()).values]
  } catch (error) {
    assert.ok(isHamtError(error), `untyped: ${error}`)
    return 'error'
  }
}

type Case = {
  values: string[]
  units: string
  calendar: string
  start: string | null
  stop: string | null
  step: number | null
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T

/** Hourly times (pandas-indexed) around 2000-01-01T10 out of order, repeated, descending or with NaT; string bounds. */
function generatedCase(): Case {
  const n = 1 + Math.floor(random() * 5)
  const hours = Array.from({ length: n }, () =>
    random() < 0.1 ? NAT : BigInt(10 + Math.floor(random() * 4)),
  )
  if (random() < 0.3) hours.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
  const label = (): string | null => {
    const hour = `2000-01-01T${String(9 + Math.floor(random() * 6)).padStart(2, '0')}`
    return pick([null, hour, `${hour}:00`, `${hour}:30`, `${hour}:00:00.000000`, '2000-01-01'])
  }
  // Both ends absent, xarray (pandas 3.1 on NumPy 2) fails on an out-of-order index: no case here.
  const start = label()
  return {
    values: hours.map(String),
    units: 'hours since 2000-01-01',
    calendar: pick(['standard', 'proleptic_gregorian']),
    start,
    stop: start === null ? (label() ?? '2000-01-01') : label(),
    step: random() < 0.2 ? 2 : null,
  }
}

describe('label slices of a time coordinate, against xarray', () => {
  it('generated orders (unordered, repeated, descending, NaT) and string bounds', async () => {
    const cases = Array.from({ length: 150 }, generatedCase)
    const { results } = await timeSliceDriver<{ results: ({ positions: number[] } | { error: string })[] }>(
      'slices',
      { cases },
    )
    const wrong: string[] = []
    for (const [i, c] of cases.entries()) {
      const ds = await timeDataset(BigInt64Array.from(c.values, BigInt), {
        units: c.units,
        calendar: c.calendar,
      })
      const indexer = {
        ...(c.start === null ? {} : { start: c.start }),
        ...(c.stop === null ? {} : { stop: c.stop }),
        ...(c.step === null ? {} : { step: c.step }),
      }
      const ours = await outcome(ds, indexer)
      const result = results[i] as { positions: number[] } | { error: string }
      const theirs = 'error' in result ? 'error' : result.positions
      if (JSON.stringify(ours) !== JSON.stringify(theirs))
        wrong.push(`${JSON.stringify(c)}: ours ${JSON.stringify(ours)}, xarray ${JSON.stringify(theirs)}`)
    }
    assert.deepEqual(wrong.slice(0, 8), [], `run seed ${seed}`)
  })
})

describe('an int64 time coordinate held once', () => {
  // The stored integers were kept beside the index's doubles for every int64 time coordinate: a
  // 10M-step axis held 80 MB more than as float64, where its doubles (exact below 2^53) suffice.
  it('holds no more than a float64 one when its doubles are exact', async () => {
    const n = 4_000_000
    const attrs = { units: 'hours since 2000-01-01', calendar: 'standard' }
    const int64 = await timeStore(
      BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      attrs,
    )
    const float64 = await timeStore(
      Float64Array.from({ length: n }, (_, i) => i),
      attrs,
    )
    const held: Dataset[] = [] // each kept open, so the next measure collects none of it
    // Several collections with turns between: freed ArrayBuffers are released after a collection.
    const settled = async (): Promise<number> => {
      for (let i = 0; i < 4; i++) {
        collectGarbage()
        await new Promise((resolve) => setImmediate(resolve))
      }
      return process.memoryUsage().arrayBuffers
    }
    const retained = async ({ root, store }: { root: Uint8Array; store: MemoryStore }): Promise<number> => {
      const before = await settled()
      held.push(await openDataset(root, { store })) // coordinates load at open
      return (await settled()) - before
    }
    const asFloat = await retained(float64)
    const asInt = await retained(int64)
    const MiB = 2 ** 20
    assert.ok(
      asInt < asFloat + 4 * n, // half the integers' 32 MB: the measure moves a few MiB under load
      `int64 ${(asInt / MiB).toFixed(1)} MiB, float64 ${(asFloat / MiB).toFixed(1)} MiB for ${(8 * n) / MiB} MiB of times`,
    )
    assert.deepEqual(
      held.map((ds) => ds.dims.time),
      [n, n],
    )
  })
})

describe('a time string at the ends of 64-bit microseconds', () => {
  // A period's edge is found by decoding doubles near it; the double -2^63 decodes to NaT and gave a
  // TypeError ("Cannot convert undefined to a BigInt"), a double past int64 microseconds a misleading
  // "time value 0" error. xarray cannot parse these years (CFTimeIndex reads 4-digit years).
  it('bounds a slice or is a typed error, never an untyped one', async () => {
    const units = 'microseconds since 1970-01-01'
    const year3000 = 32503680000000000n // a cftime-indexed coordinate (past pandas' 2262)
    const ds = await timeDataset(BigInt64Array.of(year3000, year3000 + 1n), {
      units,
      calendar: 'proleptic_gregorian',
    })
    for (const label of [
      '-290308-12-21T19:59:05.224192',
      '-290308-12-21T19:59:05',
      '300000-01-01',
      '290000',
    ]) {
      for (const indexer of [{ start: label }, { stop: label }, label]) await outcome(ds, indexer)
    }
  })
})

describe('a time coordinate CF-scaled', () => {
  // xarray's decode_cf scales a coordinate before decoding its times, as any variable.
  it('decodes its scaled values, as xarray', async () => {
    const values = BigInt64Array.of(1n, 2n, 3n)
    const units = 'hours since 2000-01-01'
    const ds = await timeDataset(values, { units, calendar: 'standard', scale_factor: 0.5 })
    assert.deepEqual((ds.coords.time as unknown[]).map(String), [
      '2000-01-01T00:30:00',
      '2000-01-01T01:00:00',
      '2000-01-01T01:30:00',
    ])
    assert.deepEqual(await outcome(ds, '2000-01-01T01:00'), [1])
  })
})

describe('box on a time coordinate that is not ascending', () => {
  // box keeps every position between its bounds whichever way the coordinate runs; the pandas
  // value slice (whole or KeyError) made box by time strings fail on a descending or unordered one.
  it('keeps the positions between its time strings', async () => {
    const units = 'hours since 2000-01-01'
    const down = await timeDataset(BigInt64Array.of(72n, 48n, 24n, 0n), { units, calendar: 'standard' })
    const box = async (ds: Dataset, bounds: [string, string]): Promise<number[]> => [
      ...(await ds.variable('p').box({ time: bounds }).load()).values,
    ]
    assert.deepEqual(await box(down, ['2000-01-02', '2000-01-03']), [1, 2])
    assert.deepEqual(await box(down, ['2000-01-03', '2000-01-02']), [1, 2])
  })
})
