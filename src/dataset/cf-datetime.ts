// A date in a CF calendar (cftime's datetime): the calendar's own fields, and a day number plus
// time of day for arithmetic and comparison.
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { astronomicalYear, type Calendar, displayYear, requireCalendar, rulesOf } from './calendars.js'
import type { ParsedDate } from './cf-time-parse.js'

const DAY_US = 86_400_000_000
const DAY_US_BIG = 86_400_000_000n
const DAY_MS = 86_400_000
// Below this a day number times DAY_US plus a time of day stays an exact double.
const SAFE_SUM = 2 ** 53 - 2 * DAY_US
const MAX_DATE_MS = 8.64e15
// Years beyond a C int are refused, as cftime refuses them.
const MAX_YEAR = 2 ** 31 - 1
// Set by CFDatetime.#fromDays just before it constructs a date it has computed, so the constructor
// skips validating it (decoding makes one date a value).
let trusted: { calendar: Calendar; days: number; microOfDay: number } | undefined

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
    const computed = trusted
    trusted = undefined
    this.year = year
    this.month = month
    this.day = day
    this.hour = hour
    this.minute = minute
    this.second = second
    this.microsecond = microsecond
    if (computed !== undefined) {
      // Made by #fromDays from a valid day number: nothing to check.
      this.calendar = computed.calendar
      this.#days = computed.days
      this.#microOfDay = computed.microOfDay
      return
    }
    const known = requireCalendar(calendar)
    const rules = rulesOf(known)
    const fields = { year, month, day, hour, minute, second, microsecond }
    for (const [name, value] of Object.entries(fields)) {
      if (!Number.isSafeInteger(value))
        throw new InvalidArgumentError(`${name}: expected an integer, got ${value}`)
    }
    if (year === 0 && !rules.hasYearZero) {
      throw new InvalidArgumentError(`year: the ${known} calendar has no year 0 (1 BC is year -1)`)
    }
    if (Math.abs(year) > MAX_YEAR) throw new InvalidArgumentError(`year: ${year} is out of range`)
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
    this.calendar = known
    this.#days = rules.toDays(astronomical, month, day)
    this.#microOfDay = ((hour * 60 + minute) * 60 + second) * 1e6 + microsecond
  }

  /** The date `days` days and `microOfDay` microseconds after the calendar's day 0. */
  static #fromDays(calendar: Calendar, days: number, microOfDay: number): CFDatetime {
    const rules = rulesOf(calendar)
    const [year, month, day] = rules.fromDays(days)
    const shown = displayYear(rules, year)
    if (Math.abs(shown) > MAX_YEAR) throw new InvalidValueError(`a date in year ${shown} is out of range`)
    const seconds = Math.floor(microOfDay / 1e6)
    trusted = { calendar, days, microOfDay }
    return new CFDatetime(
      shown,
      month,
      day,
      Math.floor(seconds / 3600),
      Math.floor(seconds / 60) % 60,
      seconds % 60,
      microOfDay % 1e6,
    )
  }

  /** The date of a parsed date string's fields in `calendar` (its UTC offset is the caller's to apply). */
  static fromFields(date: Omit<ParsedDate, 'offsetMinutes'>, calendar: Calendar): CFDatetime {
    const { year, month, day, hour, minute, second, microsecond } = date
    return new CFDatetime(year, month, day, hour, minute, second, microsecond, calendar)
  }

  /**
   * The date of a JS Date in a calendar: the same instant for the real-world calendars (standard,
   * gregorian, proleptic_gregorian, julian), the same UTC fields for the others (an error where they do
   * not form a date of that calendar, e.g. Feb 29 in noleap).
   */
  static fromDate(date: Date, calendar: Calendar | string = 'standard'): CFDatetime {
    const time = date.getTime()
    if (!Number.isFinite(time)) throw new InvalidArgumentError('date: an invalid Date')
    const known = requireCalendar(calendar)
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
