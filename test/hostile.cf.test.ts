// Hostile CF attributes and time values: every case ends within budget, with a correct value or a
// typed error (never a RangeError from BigInt, a hang in a regex, or a silent wrong date).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cfValueDecoder, decodeFillValue } from '../src/dataset/cf.js'
import {
  CFDatetime,
  decodeTimes,
  decodeTimesWithNaT,
  encodeTime,
  parseTimeUnits,
} from '../src/dataset/cf-time.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

const MB = 'x'.repeat(1 << 20)

test('absurd units strings: a typed error or undefined, quickly', async () => {
  const refused = [
    `days since ${'9'.repeat(1 << 20)}-01-01`,
    `days since ${'-'.repeat(1 << 20)}`,
    'days since 2000-13-01',
    'days since 2000-02-30',
    'days since 1582-10-10',
    'days since 0000-01-01',
    'days since 2000',
    'days since',
    'days since 2000-01-01 25:00',
    'months since 2000-01-01',
    'common_years since 2000-01-01',
  ]
  for (const units of refused) {
    const outcome = await withinBudget(`units ${units.slice(0, 40)}`, () => decodeTimes([0], units))
    assertTypedError(outcome, 'ERR_INVALID_ARGUMENT')
  }
  const notTime = [
    MB,
    `${MB} since 2000-01-01`,
    '__proto__ since 2000-01-01',
    'constructor since 2000-01-01',
    '',
  ]
  for (const units of notTime) {
    const outcome = await withinBudget(`units ${units.slice(0, 40)}`, () => parseTimeUnits(units))
    assert.equal(outcome.value, undefined)
    assertTypedError(await withinBudget('decode', () => decodeTimes([0], units)), 'ERR_INVALID_ARGUMENT')
  }
  // cftime ignores what follows a date; so do we, however long it is.
  for (const tail of [` ${MB}`, `${' '.repeat(1 << 20)}T`, `T12:00:00.${'5'.repeat(1 << 20)}`]) {
    const trailing = await withinBudget('trailing text', () =>
      decodeTimes([1], `days since 2000-01-01${tail}`),
    )
    assert.match(String(trailing.value?.[0]), /^2000-01-02T(00:00:00|12:00:00.555555)$/)
  }
})

test('hostile calendars', async () => {
  for (const calendar of ['none', '__proto__', 'toString', MB, 'tai']) {
    assertTypedError(
      await withinBudget(`calendar ${calendar.slice(0, 20)}`, () =>
        decodeTimes([0], 'days since 2000-01-01', calendar),
      ),
      'ERR_INVALID_ARGUMENT',
    )
  }
})

test('huge, NaN and infinite time values', async () => {
  const units = 'days since 2000-01-01'
  for (const value of [1e300, -1e300, 2 ** 63, 1e11, 2n ** 70n, -(2n ** 63n) + 1n]) {
    assertTypedError(
      await withinBudget(`value ${value}`, () => decodeTimes([value], units)),
      'ERR_INVALID_VALUE',
    )
  }
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -(2n ** 63n)]) {
    assertTypedError(
      await withinBudget(`value ${value}`, () => decodeTimes([value], units)),
      'ERR_INVALID_VALUE',
    )
    assert.deepEqual((await withinBudget('NaT', () => decodeTimesWithNaT([value], units))).value, [undefined])
  }
  // The largest microseconds cftime accepts: 292,277 years either way, far outside JS Date.
  const far = (
    await withinBudget('far', () =>
      decodeTimes([2n ** 63n - 1n, -(2n ** 63n) + 2n], 'microseconds since 2000-01-01'),
    )
  ).value
  assert.equal(far?.[0]?.toISOString(), '294277-01-09T04:00:54.775807')
  assert.equal(far?.[0]?.toDate(), undefined)
  assert.equal(far?.[1]?.toDate(), undefined)
  assertTypedError(
    await withinBudget('not a number', () => decodeTimes(['1' as never], units)),
    'ERR_INVALID_VALUE',
  )
})

test('years near the limit of the reference date', async () => {
  const limit = await withinBudget('limit', () =>
    decodeTimes([0, 365], 'days since 2147483000-01-01', 'noleap'),
  )
  assert.equal(limit.value?.[1]?.year, 2147483001)
  assertTypedError(
    await withinBudget('past limit', () => decodeTimes([1e8], 'days since 2147483000-01-01', 'noleap')),
    'ERR_INVALID_VALUE',
  )
  assertTypedError(
    await withinBudget('year 2^31', () => parseTimeUnits('days since 2147483648-01-01')),
    'ERR_INVALID_ARGUMENT',
  )
})

test('hostile labels and dates', async () => {
  const units = 'days since 2000-01-01'
  for (const label of ['', MB, 'yesterday', '2000-02-30', '1582-10-10', new Date(Number.NaN), 42 as never]) {
    assertTypedError(
      await withinBudget(`label ${String(label).slice(0, 20)}`, () => encodeTime(label, units)),
      'ERR_INVALID_ARGUMENT',
    )
  }
  const noleap = new CFDatetime(2001, 1, 1, 0, 0, 0, 0, 'noleap')
  assertTypedError(
    await withinBudget('mixed calendars', () => encodeTime(noleap, units)),
    'ERR_INVALID_ARGUMENT',
  )
  assertTypedError(
    await withinBudget('leap day in noleap', () =>
      encodeTime(new Date('2000-02-29T00:00:00Z'), units, 'noleap'),
    ),
    'ERR_INVALID_ARGUMENT',
  )
  for (const fields of [
    [2000.5, 1, 1],
    [Number.NaN, 1, 1],
    [2000, 0, 1],
    [2000, 1, 1, 24],
    [Number.POSITIVE_INFINITY, 1, 1],
  ]) {
    assertTypedError(
      await withinBudget(`fields ${fields}`, () => new CFDatetime(...(fields as [number, number, number]))),
      'ERR_INVALID_ARGUMENT',
    )
  }
})

test('malformed CF attributes: typed errors naming the attribute', async () => {
  const cases: Array<[Record<string, unknown>, string, unknown]> = [
    [{ scale_factor: 'abc' }, 'int16', 0],
    [{ add_offset: { x: 1 } }, 'int16', 0],
    [{ scale_factor: [1, 2] }, 'int16', 0],
    [{ _FillValue: 'zzzz' }, 'float32', 'NaN'],
    [{ _FillValue: 'AAAA' }, 'float32', 'NaN'],
    [{ _FillValue: MB }, 'float64', 'NaN'],
    [{ _FillValue: 1.5 }, 'int16', 0],
    [{ _FillValue: 'Infinity' }, 'int16', 0],
    [{ _FillValue: {} }, 'int16', 0],
    [{ missing_value: Array.from({ length: 1e5 }, (_, i) => i) }, 'int32', 0],
    [{ missing_value: ['x'] }, 'int32', 0],
    [{ _FillValue: 300, _Unsigned: 'true' }, 'int8', 0],
    [{}, 'int16', '0x12345'],
    [{}, 'int16', 'NaN'],
  ]
  for (const [attrs, dataType, fill] of cases) {
    const outcome = await withinBudget(`attrs ${JSON.stringify(attrs).slice(0, 60)}`, () =>
      cfValueDecoder(attrs, dataType, fill),
    )
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
  }
  for (const attrs of [null, 'x', [1]]) {
    assertTypedError(
      await withinBudget('attrs not an object', () => cfValueDecoder(attrs as never, 'int16', 0)),
      'ERR_INVALID_ARGUMENT',
    )
  }
  const decoder = cfValueDecoder({ _FillValue: 3 }, 'int16', 0)
  assertTypedError(
    await withinBudget('wrong array', () => decoder.decode(new Float64Array(2) as never)),
    'ERR_INVALID_VALUE',
  )
  assertTypedError(
    await withinBudget('not an array', () => decoder.decode([1, 2] as never)),
    'ERR_INVALID_VALUE',
  )
  assertTypedError(
    await withinBudget('unknown type', () => decodeFillValue('abc', 'complex64')),
    'ERR_INVALID_VALUE',
  )
})

test('decoding a million values stays within budget', async () => {
  const decoder = cfValueDecoder({ scale_factor: 0.01, add_offset: 273.15, _FillValue: -32768 }, 'int16', 0)
  const raw = Int16Array.from({ length: 1 << 20 }, (_, i) => (i % 7 === 0 ? -32768 : i % 30000))
  const decoded = await withinBudget('1M int16', () => decoder.decode(raw))
  assert.equal(decoded.value?.values.length, 1 << 20)
  const times = Float64Array.from({ length: 100_000 }, (_, i) => i / 24 + (seed % 1000))
  const dates = await withinBudget('100k float times', () =>
    decodeTimes(times, 'days since 1850-01-01', 'noleap'),
  )
  assert.equal(dates.value?.length, 100_000)
})
