// CF time decoding against cftime 1.6 (the venv's, which xarray uses for these calendars): generated
// units, values and calendars, every calendar, dates before the 1582 reform and after 2262.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  CFDatetime,
  decodeTimes,
  decodeTimesWithNaT,
  encodeTime,
  labelPeriod,
  parseTimeUnits,
} from '../src/dataset/cf-time.js'
import { isHamtError } from '../src/errors.js'
import { cftimeDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

const random = mulberry32(seed)
const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1))
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T

const CALENDARS = [
  'standard',
  'gregorian',
  'proleptic_gregorian',
  'julian',
  'noleap',
  '365_day',
  'all_leap',
  '366_day',
  '360_day',
] as const
const UNIT_NAMES = [
  ['microseconds', 'microsecond', 'microsec', 'microsecs'],
  ['milliseconds', 'millisecond', 'millisec', 'millisecs', 'msec', 'msecs', 'ms'],
  ['seconds', 'second', 'sec', 'secs', 's'],
  ['minutes', 'minute', 'min', 'mins'],
  ['hours', 'hour', 'hr', 'hrs', 'h'],
  ['days', 'day', 'd'],
] as const
const UNIT_DAYS = [1 / 86_400e6, 1 / 86_400e3, 1 / 86_400, 1 / 1440, 1 / 24, 1]
const pad = (value: number, width: number): string => String(value).padStart(width, '0')

function randomYear(): number {
  switch (int(0, 5)) {
    case 0:
      return int(1570, 1590) // around the Gregorian reform
    case 1:
      return int(-3000, 1581)
    case 2:
      return int(2200, 12000) // past datetime64[ns]
    case 3:
      return int(-2, 2)
    default:
      return int(1, 2300)
  }
}

function randomUnits(calendar: string): { units: string; unitIndex: number } {
  let unitIndex = int(0, UNIT_NAMES.length - 1)
  let name: string = pick(UNIT_NAMES[unitIndex] as readonly string[])
  if (calendar === '360_day' && random() < 0.15) [name, unitIndex] = ['months', -1]
  if ((calendar === 'noleap' || calendar === '365_day') && random() < 0.15)
    [name, unitIndex] = ['common_years', -2]
  if (random() < 0.2) name = name.toUpperCase()
  const year = randomYear()
  const yearText = year < 0 ? `-${pad(-year, 4)}` : random() < 0.8 ? pad(year, 4) : String(year)
  // Mostly valid days; 29..31 sometimes land on days the calendar lacks, where both sides must refuse.
  let date = `${yearText}-${pad(int(1, 12), random() < 0.8 ? 2 : 1)}-${pad(random() < 0.9 ? int(1, 28) : int(29, 31), 2)}`
  if (random() < 0.5) {
    date += `${pick(['T', ' '])}${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}`
    if (random() < 0.6) date += `:${pad(int(0, 59), 2)}`
    if (random() < 0.3) date += `.${int(0, 999999)}`
  }
  if (random() < 0.3) date += pick([' Z', 'Z', ' +05:30', '-0800', ' +05', '+01:00', ' UTC', ' -03:45'])
  return { units: `${name} ${random() < 0.1 ? 'SINCE' : 'since'} ${date}`, unitIndex }
}

function randomValues(unitIndex: number, integers: boolean): number[] {
  const unitDays = unitIndex === -1 ? 30 : unitIndex === -2 ? 365 : (UNIT_DAYS[unitIndex] as number)
  const spanDays = pick([3, 400, 40_000, 1_000_000, 50_000_000])
  const span = Math.min(spanDays / unitDays, 2 ** 52)
  return Array.from({ length: int(1, 8) }, () => {
    const value = (random() * 2 - 1) * span
    return integers ? Math.trunc(value) + 0 : value
  })
}

type Num2Date = { dates?: Array<string | null>; error?: string }

function decodeOrError(values: number[], units: string, calendar: string): Num2Date {
  try {
    return { dates: decodeTimesWithNaT(values, units, calendar).map((date) => date?.toISOString() ?? null) }
  } catch (error) {
    assert.ok(isHamtError(error), `untyped error for ${units} ${calendar}: ${error}`)
    return { error: String(error) }
  }
}

test('decodeTimes matches cftime.num2date on generated units, values and calendars', async () => {
  const cases = Array.from({ length: 600 }, () => {
    const calendar = pick(CALENDARS)
    const { units, unitIndex } = randomUnits(calendar)
    const integers = random() < 0.5
    return { values: randomValues(unitIndex, integers), int: integers, units, calendar }
  })
  const expected = await cftimeDriver<Num2Date[]>('num2date', { cases })
  let decoded = 0
  const years = new Set<string>()
  for (const [i, c] of cases.entries()) {
    const want = expected[i] as Num2Date
    const got = decodeOrError(c.values, c.units, c.calendar)
    const what = `${JSON.stringify(c)} (seed ${seed})`
    if (want.error !== undefined) {
      assert.ok(got.error !== undefined, `cftime refused (${want.error}) but we decoded: ${what}`)
      continue
    }
    assert.deepEqual(got, { dates: want.dates }, what)
    decoded++
    for (const date of want.dates ?? []) {
      const year = Number(/^-?\d+/.exec(date ?? '')?.[0])
      years.add(year < 1582 ? 'before 1582' : year > 2262 ? 'after 2262' : 'between')
    }
  }
  assert.ok(decoded > cases.length / 2, `only ${decoded} cases decoded`)
  assert.equal(years.size, 3, 'dates before the reform and after datetime64[ns] were compared')
})

test('encodeTime matches cftime.date2num, and round-trips decodeTimes', async () => {
  const cases = Array.from({ length: 400 }, () => {
    const calendar = pick(CALENDARS)
    const { units, unitIndex } = randomUnits(calendar)
    const values = randomValues(unitIndex, true)
    return { values, units, calendar }
  })
  const decodable = cases.flatMap((c) => {
    try {
      return [{ ...c, dates: decodeTimes(c.values, c.units, c.calendar) }]
    } catch {
      return []
    }
  })
  assert.ok(decodable.length > cases.length / 2)
  for (const c of decodable) {
    c.dates.forEach((date, i) => {
      assert.equal(encodeTime(date, c.units, c.calendar), c.values[i], `${c.units} ${c.calendar} ${date}`)
      const label = date.toISOString()
      if (date.year > 0)
        assert.equal(encodeTime(label, c.units, c.calendar), c.values[i], `${label} in ${c.units}`)
    })
  }
  // Dates between the decoded ones, in the units: fractional values as cftime computes them.
  const probes = decodable.flatMap((c) =>
    c.dates.map((date) => {
      const shifted = date.addMicroseconds(int(-1e12, 1e12))
      return {
        date: [
          shifted.year,
          shifted.month,
          shifted.day,
          shifted.hour,
          shifted.minute,
          shifted.second,
          shifted.microsecond,
        ],
        shifted,
        units: c.units,
        calendar: c.calendar,
      }
    }),
  )
  const expected = await cftimeDriver<Array<{ value?: number; error?: string }>>('date2num', {
    cases: probes.map(({ shifted: _, ...probe }) => probe),
  })
  for (const [i, probe] of probes.entries()) {
    const want = expected[i] as { value?: number; error?: string }
    assert.equal(want.error, undefined, `cftime refused ${JSON.stringify(probe)}`)
    const got = encodeTime(probe.shifted, probe.units, probe.calendar)
    const tolerance = Math.abs(want.value as number) * 2 ** -52
    assert.ok(
      Math.abs(got - (want.value as number)) <= tolerance,
      `${probe.shifted} in ${probe.units}: ${got} vs ${want.value}`,
    )
  }
})

test('fixed cases: the 1582 reform, years without zero, calendars with impossible days', () => {
  assert.equal(decodeTimes([1], 'days since 1582-10-04', 'standard')[0]?.toISOString(), '1582-10-15T00:00:00')
  assert.equal(
    decodeTimes([1], 'days since 1582-10-04', 'proleptic_gregorian')[0]?.toISOString(),
    '1582-10-05T00:00:00',
  )
  assert.equal(decodeTimes([-1], 'days since 0001-01-01', 'julian')[0]?.toISOString(), '-0001-12-31T00:00:00')
  assert.equal(
    decodeTimes([-1], 'days since 0001-01-01', 'proleptic_gregorian')[0]?.toISOString(),
    '0000-12-31T00:00:00',
  )
  const feb30 = decodeTimes([59], 'days since 2001-01-01', '360_day')[0] as CFDatetime
  assert.equal(feb30.toISOString(), '2001-02-30T00:00:00')
  assert.equal(feb30.toDate(), undefined)
  assert.equal(
    decodeTimes([59], 'days since 2001-01-01', 'noleap')[0]?.toDate()?.toISOString(),
    '2001-03-01T00:00:00.000Z',
  )
  assert.equal(
    decodeTimes([0], 'days since 1500-01-01', 'standard')[0]?.toDate()?.toISOString(),
    '1500-01-10T00:00:00.000Z', // the same day on Date's proleptic Gregorian timeline
  )
  assert.equal(parseTimeUnits('kelvin'), undefined)
  assert.equal(parseTimeUnits('weeks since 2000-01-01'), undefined)
  assert.equal(
    parseTimeUnits('hours since 2000-01-01 12:30:00 +05:00')?.epoch.toISOString(),
    '2000-01-01T07:30:00',
  )
  assert.deepEqual(decodeTimesWithNaT([Number.NaN, 1], 'days since 2000-01-01').map(String), [
    'undefined',
    '2000-01-02T00:00:00',
  ])
  assert.equal(encodeTime(new Date('2000-01-02T12:00:00Z'), 'days since 2000-01-01'), 1.5)
  assert.equal(encodeTime('2000-01-02T12:00', 'hours since 2000-01-01'), 36)
  assert.equal(encodeTime('2000-02', 'days since 2000-01-01', '360_day'), 30)
  const a = new CFDatetime(1582, 10, 4, 0, 0, 0, 0, 'standard')
  const b = new CFDatetime(1582, 10, 14, 0, 0, 0, 0, 'proleptic_gregorian')
  assert.equal(a.compare(b), 0) // the same day on both timelines
  assert.equal(a.microsecondsSince(b), 0n)
})

test('units strings from a soup of date tokens: parsed or refused exactly as cftime does', async () => {
  const tokens = [
    '2000',
    '-',
    '1',
    '01',
    '12',
    ':',
    '30',
    'T',
    ' ',
    '.',
    '5',
    'Z',
    '+',
    '05',
    '0530',
    'x',
    '-0',
    '999',
  ]
  const cases = Array.from({ length: 600 }, () => {
    let date = pick(['', '-', '+']) + String(int(0, 3000))
    for (let i = int(0, 10); i > 0; i--) date += pick(tokens)
    const calendar = pick(CALENDARS)
    return {
      values: [0, 1],
      int: true,
      units: `${pick(['hours', 'days', 'seconds'])} since ${date}`,
      calendar,
    }
  })
  const expected = await cftimeDriver<Num2Date[]>('num2date', { cases })
  for (const [i, c] of cases.entries()) {
    const want = expected[i] as Num2Date
    const got = decodeOrError(c.values, c.units, c.calendar)
    const what = `${JSON.stringify(c)} (seed ${seed})`
    if (want.error !== undefined)
      assert.ok(got.error !== undefined, `cftime refused (${want.error}): ${what}`)
    else assert.deepEqual(got, { dates: want.dates }, what)
  }
})

test('labels name periods as xarray selection reads them', () => {
  const cases: Array<[string, string, string, string]> = [
    ['2024', 'standard', '2024-01-01T00:00:00', '2024-12-31T23:59:59.999999'],
    ['2001-02', '360_day', '2001-02-01T00:00:00', '2001-02-30T23:59:59.999999'],
    ['2000-02', 'noleap', '2000-02-01T00:00:00', '2000-02-28T23:59:59.999999'],
    ['2000-02', 'all_leap', '2000-02-01T00:00:00', '2000-02-29T23:59:59.999999'],
    ['1582-10-04', 'standard', '1582-10-04T00:00:00', '1582-10-04T23:59:59.999999'],
    ['20240701', 'standard', '2024-07-01T00:00:00', '2024-07-01T23:59:59.999999'],
    ['2024-07-01T12', 'standard', '2024-07-01T12:00:00', '2024-07-01T12:59:59.999999'],
    ['2024-07-01 12:30', 'julian', '2024-07-01T12:30:00', '2024-07-01T12:30:59.999999'],
    ['2024-07-01T12:30:15.25', 'standard', '2024-07-01T12:30:15.250000', '2024-07-01T12:30:15.250000'],
    ['2024-7-1T00:00+02:00', 'standard', '2024-06-30T22:00:00', '2024-06-30T22:00:59.999999'],
    ['-0001-12', 'julian', '-0001-12-01T00:00:00', '-0001-12-31T23:59:59.999999'],
    ['-0001', 'standard', '-0001-01-01T00:00:00', '-0001-12-31T23:59:59.999999'],
  ]
  for (const [label, calendar, start, end] of cases) {
    const period = labelPeriod(label, calendar)
    assert.deepEqual([String(period.start), String(period.end)], [start, end], `${label} in ${calendar}`)
  }
  assert.equal(encodeTime('2024-07-01T12', 'hours since 2024-07-01'), 12)
})
