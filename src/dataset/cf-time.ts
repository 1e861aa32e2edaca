// CF time decoding as cftime 1.6 (and so xarray's decode_cf) does it: values are whole microseconds
// after a reference date, counted in the variable's calendar.
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { astronomicalYear, type Calendar, calendarOf, displayYear, rulesOf } from './calendars.js'
import { parseDate, splitUnits, timeUnitOf } from './cf-time-parse.js'
import { divideRounded, toMicroseconds } from './cf-time-scale.js'

export type { Calendar } from './calendars.js'

const DAY_US = 86_400_000_000
const DAY_US_BIG = 86_400_000_000n
const DAY_MS = 86_400_000
// Below this a day number times DAY_US plus a time of day stays an exact double.
const SAFE_SUM = 2 ** 53 - 2 * DAY_US
const MAX_DATE_MS = 8.64e15

const pad = (value: number, width: number): string => String(value).padStart(width, '0')

/**
 * A date in a CF calendar, as cftime's `datetime`: the fields are those of the calendar (a 360_day
 * date can be February 30), years as cftime numbers them (standard, gregorian and julian have no
 * year 0: 1 BC is -1). Dates are immutable.
 *
 * @example
 * ```ts
 * const date = new CFDatetime(2001, 2, 30, 0, 0, 0, 0, '360_day')
 * date.toISOString() // '2001-02-30T00:00:00'
 * date.toDate() // undefined: no such day in JS Date's calendar
 * ```
 */
export class CFDatetime {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
  readonly microsecond: number
  readonly calendar: Calendar
  /** Day number in the calendar (for real-world calendars, days since 1970-01-01 on JS Date's timeline). */
  readonly #days: number
  readonly #microOfDay: number

  /**
   * Validates every field against the calendar; an invalid date (Feb 29 in a noleap year, 1582-10-10 in
   * the standard calendar, year 0 where there is none, a minute of 60) is an InvalidArgumentError.
   */
  constructor(
    year: number,
    month: number,
    day: number,
    hour = 0,
    minute = 0,
    second = 0,
    microsecond = 0,
    calendar: Calendar | string = 'standard',
  ) {
    const known = calendarOf(String(calendar))
    if (known === undefined)
      throw new InvalidArgumentError(`calendar: unknown CF calendar ${JSON.stringify(calendar)}`)
    const rules = rulesOf(known)
    const fields = { year, month, day, hour, minute, second, microsecond }
    for (const [name, value] of Object.entries(fields)) {
      if (!Number.isSafeInteger(value))
        throw new InvalidArgumentError(`${name}: expected an integer, got ${value}`)
    }
    if (year === 0 && !rules.hasYearZero) {
      throw new InvalidArgumentError(`year: the ${known} calendar has no year 0 (1 BC is year -1)`)
    }
    if (Math.abs(year) >= 2 ** 31) throw new InvalidArgumentError(`year: ${year} is out of range`)
    const astronomical = astronomicalYear(rules, year)
    checkRange('month', month, 1, 12)
    checkRange('day', day, 1, rules.daysInMonth(astronomical, month))
    if (!rules.exists(astronomical, month, day)) {
      throw new InvalidArgumentError(
        `${year}-${month}-${day} is not a date of the mixed Julian/Gregorian calendar`,
      )
    }
    checkRange('hour', hour, 0, 23)
    checkRange('minute', minute, 0, 59)
    checkRange('second', second, 0, 59)
    checkRange('microsecond', microsecond, 0, 999_999)
    this.year = year
    this.month = month
    this.day = day
    this.hour = hour
    this.minute = minute
    this.second = second
    this.microsecond = microsecond
    this.calendar = known
    this.#days = rules.toDays(astronomical, month, day)
    this.#microOfDay = ((hour * 60 + minute) * 60 + second) * 1e6 + microsecond
  }

  /** The date `days` days and `microOfDay` microseconds after the calendar's day 0. */
  static #fromDays(calendar: Calendar, days: number, microOfDay: number): CFDatetime {
    const rules = rulesOf(calendar)
    const [year, month, day] = rules.fromDays(days)
    const seconds = Math.floor(microOfDay / 1e6)
    return new CFDatetime(
      displayYear(rules, year),
      month,
      day,
      Math.floor(seconds / 3600),
      Math.floor(seconds / 60) % 60,
      seconds % 60,
      microOfDay % 1e6,
      calendar,
    )
  }

  /**
   * The date of a JS Date in a calendar: the same instant for the real-world calendars (standard,
   * gregorian, proleptic_gregorian, julian), the same UTC fields for the others (an error where they do
   * not form a date of that calendar, e.g. Feb 29 in noleap).
   */
  static fromDate(date: Date, calendar: Calendar | string = 'standard'): CFDatetime {
    const time = date.getTime()
    if (!Number.isFinite(time)) throw new InvalidArgumentError('date: an invalid Date')
    const known = calendarOf(String(calendar))
    if (known === undefined)
      throw new InvalidArgumentError(`calendar: unknown CF calendar ${JSON.stringify(calendar)}`)
    if (rulesOf(known).realWorld) {
      const days = Math.floor(time / DAY_MS)
      return CFDatetime.#fromDays(known, days, (time - days * DAY_MS) * 1000)
    }
    return new CFDatetime(
      date.getUTCFullYear(),
      date.getUTCMonth() + 1,
      date.getUTCDate(),
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
      date.getUTCMilliseconds() * 1000,
      known,
    )
  }

  /** As cftime's `isoformat()`: '2001-02-30T12:00:00', with '.ffffff' only when there are microseconds. */
  toISOString(): string {
    const sign = this.year < 0 ? '-' : ''
    const date = `${sign}${pad(Math.abs(this.year), 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}`
    const time = `${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}`
    return `${date}T${time}${this.microsecond === 0 ? '' : `.${pad(this.microsecond, 6)}`}`
  }

  /** The same as {@link toISOString}. */
  toString(): string {
    return this.toISOString()
  }

  /**
   * The JS Date of this date, or undefined where there is none. Real-world calendars give the same
   * instant (a standard-calendar date before 1582-10-15 is a Julian date: the Date shows its proleptic
   * Gregorian fields); the idealized calendars give the Date with the same fields when those form a
   * Gregorian date. Microseconds are truncated to milliseconds; beyond Date's ±8.64e15 ms: undefined.
   */
  toDate(): Date | undefined {
    const rules = rulesOf(this.calendar)
    let days = this.#days
    if (!rules.realWorld) {
      const gregorian = rulesOf('proleptic_gregorian')
      if (this.day > gregorian.daysInMonth(this.year, this.month)) return undefined
      days = gregorian.toDays(this.year, this.month, this.day)
    }
    const ms = days * DAY_MS + Math.floor(this.#microOfDay / 1000)
    return Math.abs(ms) <= MAX_DATE_MS ? new Date(ms) : undefined
  }

  /**
   * Negative, zero or positive as this date is before, at or after `other`. Dates of the real-world
   * calendars compare as instants; an idealized calendar compares only with itself (or its alias).
   */
  compare(other: CFDatetime): number {
    this.#checkComparable(other)
    return this.#days - other.#days || this.#microOfDay - other.#microOfDay
  }

  /** Whole microseconds from `other` to this date (positive when this one is later), as cftime's subtraction. */
  microsecondsSince(other: CFDatetime): bigint {
    this.#checkComparable(other)
    return BigInt(this.#days - other.#days) * DAY_US_BIG + BigInt(this.#microOfDay - other.#microOfDay)
  }

  /** This date plus a whole number of microseconds (negative to go back), in the same calendar. */
  addMicroseconds(microseconds: number | bigint): CFDatetime {
    if (typeof microseconds === 'number') {
      if (!Number.isInteger(microseconds)) {
        throw new InvalidArgumentError(`microseconds: expected an integer, got ${microseconds}`)
      }
      const total = this.#microOfDay + microseconds
      if (Math.abs(total) < SAFE_SUM) {
        const dayShift = Math.floor(total / DAY_US)
        return CFDatetime.#fromDays(this.calendar, this.#days + dayShift, total - dayShift * DAY_US)
      }
      microseconds = BigInt(microseconds)
    }
    const total = BigInt(this.#microOfDay) + microseconds
    let dayShift = total / DAY_US_BIG
    if (total < 0n && dayShift * DAY_US_BIG !== total) dayShift -= 1n
    const days = this.#days + Number(dayShift)
    if (!Number.isSafeInteger(days) || Math.abs(days) > 2 ** 40) {
      throw new InvalidValueError(
        `a date ${microseconds} microseconds from ${this.toISOString()} is out of range`,
      )
    }
    return CFDatetime.#fromDays(this.calendar, days, Number(total - dayShift * DAY_US_BIG))
  }

  #checkComparable(other: CFDatetime): void {
    const mine = rulesOf(this.calendar)
    const theirs = rulesOf(other.calendar)
    if (mine !== theirs && !(mine.realWorld && theirs.realWorld)) {
      throw new InvalidArgumentError(`cannot compare a ${this.calendar} date with a ${other.calendar} date`)
    }
  }
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (value < min || value > max) throw new InvalidArgumentError(`${name}: ${value} is not in ${min}..${max}`)
}

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
  const known = calendarOf(String(calendar))
  if (known === undefined)
    throw new InvalidArgumentError(`calendar: unknown CF calendar ${JSON.stringify(calendar)}`)
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
    epoch = new CFDatetime(
      date.year,
      date.month,
      date.day,
      date.hour,
      date.minute,
      date.second,
      date.microsecond,
      known,
    )
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
 * As {@link decodeTimes}, but NaN, ±Infinity and the int64 NaT sentinel (-2^63n) decode to undefined,
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
  const date = parseDate(label, 'label', true)
  const parsed = new CFDatetime(
    date.year,
    date.month,
    date.day,
    date.hour,
    date.minute,
    date.second,
    date.microsecond,
    calendar,
  )
  return date.offsetMinutes === 0 ? parsed : parsed.addMicroseconds(-date.offsetMinutes * 60e6)
}
