// CF time decoding as cftime 1.6 (and so xarray's decode_cf) does it: values are whole microseconds
// after a reference date, counted in the variable's calendar.
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { type Calendar, requireCalendar } from './calendars.js'
import { CFDatetime } from './cf-datetime.js'
import { labelPeriod } from './cf-time-label.js'
import { parseDate, splitUnits, timeUnitOf } from './cf-time-parse.js'
import { divideRounded, toMicroseconds } from './cf-time-scale.js'

export type { Calendar } from './calendars.js'
export { CFDatetime } from './cf-datetime.js'
export { type LabelPeriod, labelPeriod } from './cf-time-label.js'
export type { LabelResolution } from './cf-time-parse.js'

/** A parsed units string: the unit's canonical name, its length in microseconds and the reference date. */
export interface TimeUnits {
  /** 'microseconds', 'milliseconds', 'seconds', 'minutes', 'hours', 'days', or 'months' (360_day) / 'common_years' (noleap). */
  unit: string
  /** The unit's length in microseconds. */
  microseconds: number
  /** The reference date, in the calendar, with any UTC offset of the units string applied. */
  epoch: CFDatetime
}

/**
 * Parses CF time units '<unit> since <date>' as cftime does. Undefined when `units` is not a time
 * unit at all (no 'since', or an unknown unit such as 'weeks' or 'm'); an InvalidArgumentError when it
 * is one but cannot be decoded (a malformed or nonexistent date, 'months' outside 360_day).
 *
 * @example
 * ```ts
 * parseTimeUnits('hours since 2000-01-01 12:30:00 +05:00')?.epoch.toISOString() // '2000-01-01T07:30:00'
 * parseTimeUnits('kelvin') // undefined
 * ```
 */
export function parseTimeUnits(units: string, calendar: string = 'standard'): TimeUnits | undefined {
  if (typeof units !== 'string') return undefined
  const split = splitUnits(units.length > 1000 ? units.slice(0, 1000) : units)
  const unit = split === undefined ? undefined : timeUnitOf(split.unitName)
  if (split === undefined || unit === undefined) return undefined
  const known = requireCalendar(calendar)
  if (unit.unit === 'months' && known !== '360_day') {
    throw new InvalidArgumentError(
      `units: 'months since' is only defined for the 360_day calendar, not ${known}`,
    )
  }
  if (unit.unit === 'common_years' && known !== 'noleap' && known !== '365_day') {
    throw new InvalidArgumentError(
      `units: 'common_years since' is only defined for the noleap calendar, not ${known}`,
    )
  }
  const date = parseDate(split.date, 'units')
  let epoch: CFDatetime
  try {
    epoch = CFDatetime.fromFields(date, known)
  } catch (error) {
    throw new InvalidArgumentError(
      `units: the reference date of ${JSON.stringify(units.slice(0, 100))} is not valid`,
      {
        cause: error,
      },
    )
  }
  if (date.offsetMinutes !== 0) epoch = epoch.addMicroseconds(-date.offsetMinutes * 60e6)
  return { unit: unit.unit, microseconds: unit.microseconds, epoch }
}

function requireUnits(units: string, calendar: string | undefined): TimeUnits {
  const parsed = parseTimeUnits(units, calendar ?? 'standard')
  if (parsed === undefined) {
    throw new InvalidArgumentError(
      `units: expected '<unit> since <date>' with a time unit, got ${JSON.stringify(String(units).slice(0, 100))}`,
    )
  }
  return parsed
}

/**
 * Decodes CF time values ('<unit> since <date>' in a calendar, default 'standard') to dates, as
 * cftime's num2date: whole microseconds, floats rounded as cftime does. A value beyond int64
 * microseconds, or NaN/±Infinity, is an InvalidValueError (see {@link decodeTimesWithNaT} to keep NaN as a gap).
 *
 * @example
 * ```ts
 * decodeTimes([0, 59], 'days since 2001-01-01', 'noleap').map(String) // ['2001-01-01T00:00:00', '2001-03-01T00:00:00']
 * ```
 */
export function decodeTimes(
  values: ArrayLike<number | bigint>,
  units: string,
  calendar?: string,
): CFDatetime[] {
  const dates = decodeTimesWithNaT(values, units, calendar)
  const gap = dates.indexOf(undefined)
  if (gap >= 0) throw new InvalidValueError(`time value ${gap} is ${values[gap]}, not a time`)
  return dates as CFDatetime[]
}

/**
 * As {@link decodeTimes}, but NaN, ±Infinity and the int64 NaT sentinel (-2^63n, or the number -2^63 it
 * becomes in a Float64Array) decode to undefined,
 * as xarray gives NaT for them.
 */
export function decodeTimesWithNaT(
  values: ArrayLike<number | bigint>,
  units: string,
  calendar?: string,
): Array<CFDatetime | undefined> {
  const { unit, microseconds, epoch } = requireUnits(units, calendar)
  const snap = unit !== 'microseconds' && unit !== 'milliseconds'
  const dates = new Array<CFDatetime | undefined>(values.length)
  for (let index = 0; index < values.length; index++) {
    const scaled = toMicroseconds(values[index] as number | bigint, microseconds, snap, index)
    dates[index] = scaled === undefined ? undefined : epoch.addMicroseconds(scaled)
  }
  return dates
}

/**
 * The value of a date in a variable's time units, as cftime's date2num: exact when the date falls on
 * a whole unit, else the (fractional) quotient. `label` may be a CFDatetime, a JS Date (see
 * {@link CFDatetime.fromDate}) or a date string as in units ('2024-07-01T12:00', also '2024' and '2024-07').
 *
 * @example
 * ```ts
 * encodeTime('2000-01-02T12:00', 'days since 2000-01-01') // 1.5
 * ```
 */
export function encodeTime(label: string | Date | CFDatetime, units: string, calendar?: string): number {
  const { microseconds, epoch } = requireUnits(units, calendar)
  const date = toCalendar(label, epoch.calendar)
  const delta = date.microsecondsSince(epoch)
  const factor = BigInt(microseconds)
  return delta % factor === 0n ? Number(delta / factor) : divideRounded(delta, factor)
}

function toCalendar(label: string | Date | CFDatetime, calendar: Calendar): CFDatetime {
  if (label instanceof CFDatetime) return label
  if (label instanceof Date) return CFDatetime.fromDate(label, calendar)
  if (typeof label !== 'string')
    throw new InvalidArgumentError('label: expected a string, a Date or a CFDatetime')
  return labelPeriod(label, calendar).start
}

/**
 * `label` in 64-bit integer times' units less `base`, exactly (the index of such times holds each
 * less their least, so that doubles tell apart integers past 2^53 that lie closer than 2^53).
 */
export function offsetTime(
  label: string | Date | CFDatetime,
  units: string,
  calendar: string,
  base: bigint,
): number {
  const { numerator, denominator } = exactTime(label, units, calendar)
  const delta = numerator - base * denominator
  return delta % denominator === 0n ? Number(delta / denominator) : divideRounded(delta, denominator)
}

/** `label` in a time coordinate's units as an exact fraction: `numerator / denominator` units. */
export function exactTime(
  label: string | Date | CFDatetime,
  units: string,
  calendar: string,
): { numerator: bigint; denominator: bigint } {
  const { microseconds, epoch } = requireUnits(units, calendar)
  return {
    numerator: toCalendar(label, epoch.calendar).microsecondsSince(epoch),
    denominator: BigInt(microseconds),
  }
}

/**
 * {@link decodedEdge} of integer times held less `base`: the first integer whose time is at or
 * after `instant` (`'first'`), or the last at or before it (`'last'`), less `base`.
 */
export function offsetEdge(
  instant: CFDatetime,
  units: string,
  calendar: string,
  base: bigint,
  side: 'first' | 'last',
): number {
  return Number(integerEdge(instant, units, calendar, side) - base)
}

/** The first integer time at or after `instant` (`'first'`), or the last at or before it (`'last'`). */
export function integerEdge(
  instant: CFDatetime,
  units: string,
  calendar: string,
  side: 'first' | 'last',
): bigint {
  const { numerator: delta, denominator: factor } = exactTime(instant, units, calendar)
  const floor = delta / factor - (delta % factor < 0n ? 1n : 0n)
  return side === 'last' || delta % factor === 0n ? floor : floor + 1n
}

const bits = new DataView(new ArrayBuffer(8))
const SIGN = 1n << 63n
/** A double as an integer in the doubles' order: neighbouring doubles differ by one. */
function orderKey(value: number): bigint {
  bits.setFloat64(0, value)
  const raw = bits.getBigUint64(0)
  return raw >= SIGN ? -(raw - SIGN) : raw
}
function fromOrderKey(key: bigint): number {
  bits.setBigUint64(0, key >= 0n ? key : SIGN - key)
  return bits.getFloat64(0)
}

/** A value's whole microseconds, or undefined where it decodes to no time (NaT, or past int64). */
function decodable(value: number, microseconds: number, snap: boolean): number | bigint | undefined {
  try {
    return toMicroseconds(value, microseconds, snap, 0)
  } catch (error) {
    if (error instanceof InvalidValueError) return undefined
    throw error
  }
}

/**
 * The stored value where the values decoding to `instant` or later begin (`'first'`), or where those
 * decoding to `instant` or earlier end (`'last'`): a time period's edges as xarray compares decoded
 * times. encodeTime's nearest double can decode to the next microsecond, or hold none: in
 * 'hours since 0001-01-01', 2024-07-21T17:59:59.999999 and 18:00 are one double.
 */
export function decodedEdge(
  instant: CFDatetime,
  units: string,
  calendar: string | undefined,
  side: 'first' | 'last',
): number {
  const { unit, microseconds, epoch } = requireUnits(units, calendar)
  const snap = unit !== 'microseconds' && unit !== 'milliseconds'
  const target = toCalendar(instant, epoch.calendar).microsecondsSince(epoch)
  const nearest = encodeTime(instant, units, calendar)
  // Whether the double of `key` decodes before the edge. One that decodes to no time (±∞, NaN, NaT's
  // -2^63, past 64-bit microseconds) is before it when negative, keeping the order monotonic.
  const before = (key: bigint): boolean => {
    const scaled = decodable(fromOrderKey(key), microseconds, snap)
    if (scaled === undefined) return key < 0n
    const us = BigInt(scaled)
    return side === 'last' ? us <= target : us < target
  }
  // The last double before the edge lies within a few microseconds of `nearest`: gallop, then bisect.
  let low = orderKey(nearest)
  let high = low
  const up = before(low)
  for (let step = 1n; ; step *= 2n) {
    if (up) high = low + step
    else low = high - step
    if (before(up ? high : low) !== up) break
    if (up) low = high
    else high = low
  }
  while (high - low > 1n) {
    const middle = (low + high) / 2n
    if (before(middle)) low = middle
    else high = middle
  }
  return fromOrderKey(side === 'last' ? low : high)
}
