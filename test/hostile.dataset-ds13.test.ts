// Label lookups of a time coordinate against xarray 2026.9 (pandas 3.1) in the same run: partial
// dates matching nothing on an index out of order or missing a time, and cftime calendars' answers
// to a time string with a method or a list of time strings (xarray raises there).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import type { LabelIndexer, Method } from '../src/dataset.js'
import { isHamtError } from '../src/index.js'
import { timeSliceDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { timeDataset } from './helpers/time-dataset.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const NAT = -(2n ** 63n)

type Case = {
  values: string[]
  units: string
  calendar: string
  label: string | string[]
  method: string | null
  tolerance?: string
}
type Answer = { positions: number[]; scalar: boolean } | 'error'

const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
const pad = (n: number): string => String(n).padStart(2, '0')

/** A partial date (a year, a month or a day) around 2000, or a list of them. */
function partialDate(): string {
  const year = String(1999 + Math.floor(random() * 3))
  const month = `${year}-${pad(1 + Math.floor(random() * 12))}`
  return pick([year, month, `${month}-${pad(1 + Math.floor(random() * 28))}`])
}

/** Days or hours in 2000 (a few NaT), ascending, descending or out of order. */
function times(): { values: string[]; units: string } {
  const hours = random() < 0.3
  const n = 1 + Math.floor(random() * 6)
  const span = hours ? 24 * 400 : 400
  const values = Array.from({ length: n }, () => BigInt(Math.floor(random() * span)))
  const order = random()
  if (order < 0.3) values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  else if (order < 0.6) values.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
  if (random() < 0.2) values[Math.floor(random() * n)] = NAT
  return { values: values.map(String), units: `${hours ? 'hours' : 'days'} since 2000-01-01` }
}

async function ours(c: Case): Promise<Answer> {
  const ds = await timeDataset(BigInt64Array.from(c.values, BigInt), { units: c.units, calendar: c.calendar })
  try {
    const options =
      c.method === null
        ? undefined
        : { method: c.method as Method, ...(c.tolerance === undefined ? {} : { tolerance: c.tolerance }) }
    const view = ds.variable('p').sel({ time: c.label as LabelIndexer }, options)
    return { positions: [...(await view.load()).values], scalar: view.dims.length === 0 }
  } catch (error) {
    assert.ok(isHamtError(error), `untyped: ${error}`)
    return 'error'
  }
}

/** Each case's answer by us and by xarray: the first few that differ. */
async function differences(cases: Case[]): Promise<string[]> {
  const { results } = await timeSliceDriver<{
    results: ({ positions: number[]; scalar: boolean } | { error: string })[]
  }>('slices', { cases })
  const wrong: string[] = []
  for (const [i, c] of cases.entries()) {
    const result = results[i] as { positions: number[]; scalar: boolean } | { error: string }
    const theirs = 'error' in result ? 'error' : result
    const mine = await ours(c)
    if (JSON.stringify(mine) !== JSON.stringify(theirs) && wrong.length < 8)
      wrong.push(`${JSON.stringify(c)}: ours ${JSON.stringify(mine)}, xarray ${JSON.stringify(theirs)}`)
  }
  return wrong
}

describe('a partial date on a pandas time index, against xarray', () => {
  it('matching nothing inside an index out of order, descending or missing a time is an empty selection', async () => {
    const fixed: Case[] = [
      {
        values: ['2', '0', '4', '1', '5', '3'],
        units: 'days since 2000-01-01',
        calendar: 'standard',
        label: '2001',
        method: null,
      },
      {
        values: ['0', String(NAT), '2'],
        units: 'days since 2000-01-01',
        calendar: 'standard',
        label: '2000-02',
        method: null,
      },
      {
        values: ['100', '0'],
        units: 'days since 2000-01-01',
        calendar: 'standard',
        label: '2000-02',
        method: null,
      },
      {
        values: ['100', '0'],
        units: 'days since 2000-01-01',
        calendar: 'standard',
        label: '2001',
        method: null,
      },
    ]
    const generated = Array.from(
      { length: 200 },
      (): Case => ({
        ...times(),
        calendar: pick(['standard', 'proleptic_gregorian']),
        label: partialDate(),
        method: null,
      }),
    )
    assert.deepEqual(await differences([...fixed, ...generated]), [], `run seed ${seed}`)
  })
})

describe('a cftime calendar given time strings, against xarray', () => {
  it('refuses a string with a method and a list of strings, as xarray raises', async () => {
    const generated = Array.from({ length: 150 }, (): Case => {
      const { values, units } = times()
      const sorted = values.filter((v) => v !== String(NAT)).sort((a, b) => Number(a) - Number(b))
      const list = random() < 0.5
      const label = list ? Array.from({ length: 1 + Math.floor(random() * 3) }, partialDate) : partialDate()
      return {
        values: sorted.length > 0 ? sorted : ['0'],
        units,
        calendar: pick(['noleap', '360_day', 'julian', 'all_leap']),
        label,
        method: pick([null, 'nearest', 'pad', 'backfill']),
      }
    })
    assert.deepEqual(await differences(generated), [], `run seed ${seed}`)
  })
})

describe('int64 times lying 2^53 or more units apart, against xarray', () => {
  // 2260-01-01 is 9151488000000000 µs after 1970, past 2^53; with a time in 1811 beside them the
  // coordinate spans more than 2^53 µs, so no base makes its doubles exact.
  it('tell microseconds past 2^53 apart in labels, lists, methods and slices', async () => {
    const base = 9151488000000000n
    const far = [-5000000000000000n, -5000000000000001n, 2n]
    const us = (n: number): string => `2260-01-01T00:00:00.${String(n).padStart(6, '0')}`
    const label = (): string =>
      pick([us(Math.floor(random() * 12)), '2260-01-01', '2260', '1811-06-13T06:13:20'])
    const cases: Case[] = Array.from({ length: 120 }, () => {
      const n = 1 + Math.floor(random() * 5)
      const values = Array.from({ length: n }, () => base + BigInt(1 + Math.floor(random() * 10)))
      values.splice(Math.floor(random() * (n + 1)), 0, pick(far))
      if (random() < 0.5) values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      const list = random() < 0.2
      const method = pick([null, null, 'pad', 'backfill'])
      return {
        values: values.map(String),
        units: 'microseconds since 1970-01-01',
        calendar: 'standard',
        label: list ? [label(), label()] : label(),
        method,
        ...(method !== null && random() < 0.4 ? { tolerance: pick(['0us', '1us', '2us', '3us']) } : {}),
      }
    })
    assert.deepEqual(await differences(cases), [], `run seed ${seed}`)
  })
})

describe('nearest and tolerance on a pandas time index, against xarray', () => {
  // pandas subtracts the label from the neighbours (the last time for a missing one) in int64
  // nanoseconds: 292 years or more apart it raises OverflowError.
  it('refuses where the distances pandas takes overflow int64 nanoseconds, answers elsewhere', async () => {
    const years = (y: number): bigint => BigInt(Math.round((y - 1970) * 365.2425 * 86400)) * 1_000_000n
    const cases: Case[] = Array.from({ length: 150 }, () => {
      const n = 1 + Math.floor(random() * 4)
      const values = Array.from({ length: n }, () => years(pick([1690, 1700, 1800, 1970, 2000, 2100, 2250])))
      if (random() < 0.5) values.push(9151488000000000n + BigInt(Math.floor(random() * 5)))
      values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      if (random() < 0.4) values.reverse()
      const method = pick(['nearest', 'nearest', 'pad', 'backfill'])
      const label = (): string =>
        `${pick([1680, 1700, 1850, 1970, 2000, 2200, 2260])}-0${1 + Math.floor(random() * 9)}`
      return {
        values: [...new Set(values)].map(String),
        units: 'microseconds since 1970-01-01',
        calendar: pick(['standard', 'proleptic_gregorian']),
        label: random() < 0.2 ? [label(), label()] : label(),
        method,
        ...(method === 'nearest' && random() < 0.7 ? {} : { tolerance: pick(['1D', '36500D', '106000D']) }),
      }
    })
    assert.deepEqual(await differences(cases), [], `run seed ${seed}`)
  })
})
