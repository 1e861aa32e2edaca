// Day arithmetic of the CF calendars, as cftime counts: every calendar maps a date to a whole day
// number and back. Years are astronomical inside this file (…, -1, 0, 1, …); the real-world
// calendars' "no year zero" numbering is applied at the edges (see displayYear/astronomicalYear).
import { InvalidArgumentError } from '../errors.js'

/** The calendars cftime knows, by their CF names. */
export type Calendar =
  | 'standard'
  | 'gregorian'
  | 'proleptic_gregorian'
  | 'julian'
  | 'noleap'
  | '365_day'
  | 'all_leap'
  | '366_day'
  | '360_day'

/** The arithmetic of one calendar family. */
export interface CalendarRules {
  /** Real-world calendars count days on the same timeline as JS Date (day 0 = 1970-01-01 Gregorian). */
  readonly realWorld: boolean
  /** cftime's default: false for standard/gregorian/julian (1 BC is year -1), true for the others. */
  readonly hasYearZero: boolean
  daysInMonth(year: number, month: number): number
  /** Whether a valid-looking date exists (only the standard calendar's 1582-10-05..14 does not). */
  exists(year: number, month: number, day: number): boolean
  toDays(year: number, month: number, day: number): number
  fromDays(days: number): [year: number, month: number, day: number]
}

const CALENDARS: readonly Calendar[] = [
  'standard',
  'gregorian',
  'proleptic_gregorian',
  'julian',
  'noleap',
  '365_day',
  'all_leap',
  '366_day',
  '360_day',
]

/** The calendar named by a CF `calendar` attribute (case-insensitive, as cftime), or undefined. */
export function calendarOf(name: string): Calendar | undefined {
  const lower = name.toLowerCase()
  return (CALENDARS as readonly string[]).includes(lower) ? (lower as Calendar) : undefined
}

/** The calendar `calendar` names (see calendarOf), or an InvalidArgumentError naming it. */
export function requireCalendar(calendar: unknown): Calendar {
  const known = calendarOf(String(calendar))
  if (known === undefined)
    throw new InvalidArgumentError(`calendar: unknown CF calendar ${JSON.stringify(calendar)}`)
  return known
}

const CUMULATIVE_365 = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
const CUMULATIVE_366 = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366]
const MONTH_LENGTHS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const mod = (a: number, b: number): number => ((a % b) + b) % b
const gregorianLeap = (year: number): boolean =>
  mod(year, 4) === 0 && (mod(year, 100) !== 0 || mod(year, 400) === 0)
const julianLeap = (year: number): boolean => mod(year, 4) === 0

function monthLength(leap: boolean, month: number): number {
  return month === 2 && leap ? 29 : (MONTH_LENGTHS[month - 1] as number)
}

// Days of a March-based year before the first of `month` (March = 0), the usual civil-date trick
// that puts the leap day at the end of the counting year.
const daysBeforeMonthFromMarch = (month: number): number =>
  Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5)

function monthDayFromMarch(dayOfYear: number): [month: number, day: number] {
  const mp = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1
  return [mp < 10 ? mp + 3 : mp - 9, day]
}

/** Days since 1970-01-01 of a proleptic Gregorian date. */
function gregorianToDays(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = daysBeforeMonthFromMarch(month) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146097 + dayOfEra - 719468
}

function gregorianFromDays(days: number): [number, number, number] {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const dayOfEra = z - era * 146097
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) /
      365,
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const [month, day] = monthDayFromMarch(dayOfYear)
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day]
}

function julianRaw(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 4)
  return era * 1461 + (y - era * 4) * 365 + daysBeforeMonthFromMarch(month) + day - 1
}

// 1970-01-01 Gregorian is 1969-12-19 Julian.
const JULIAN_EPOCH = julianRaw(1969, 12, 19)

const julianToDays = (year: number, month: number, day: number): number =>
  julianRaw(year, month, day) - JULIAN_EPOCH

function julianFromDays(days: number): [number, number, number] {
  const z = days + JULIAN_EPOCH
  const era = Math.floor(z / 1461)
  const dayOfEra = z - era * 1461
  const yearOfEra = Math.min(Math.floor(dayOfEra / 365), 3)
  const [month, day] = monthDayFromMarch(dayOfEra - 365 * yearOfEra)
  return [yearOfEra + era * 4 + (month <= 2 ? 1 : 0), month, day]
}

// The mixed calendar switches from Julian to Gregorian after 1582-10-04 (Julian), next day 1582-10-15.
const GREGORIAN_START = gregorianToDays(1582, 10, 15)
const beforeReform = (year: number, month: number, day: number): boolean =>
  year < 1582 || (year === 1582 && (month < 10 || (month === 10 && day < 15)))

const always = (): boolean => true

const proleptic: CalendarRules = {
  realWorld: true,
  hasYearZero: true,
  daysInMonth: (year, month) => monthLength(gregorianLeap(year), month),
  exists: always,
  toDays: gregorianToDays,
  fromDays: gregorianFromDays,
}

const julian: CalendarRules = {
  realWorld: true,
  hasYearZero: false,
  daysInMonth: (year, month) => monthLength(julianLeap(year), month),
  exists: always,
  toDays: julianToDays,
  fromDays: julianFromDays,
}

const mixed: CalendarRules = {
  realWorld: true,
  hasYearZero: false,
  daysInMonth: (year, month) => monthLength(year < 1582 ? julianLeap(year) : gregorianLeap(year), month),
  exists: (year, month, day) => !(year === 1582 && month === 10 && day > 4 && day < 15),
  toDays: (year, month, day) =>
    beforeReform(year, month, day) ? julianToDays(year, month, day) : gregorianToDays(year, month, day),
  fromDays: (days) => (days < GREGORIAN_START ? julianFromDays(days) : gregorianFromDays(days)),
}

function fixedYear(cumulative: readonly number[]): CalendarRules {
  const yearLength = cumulative[12] as number
  return {
    realWorld: false,
    hasYearZero: true,
    daysInMonth: (_year, month) => (cumulative[month] as number) - (cumulative[month - 1] as number),
    exists: always,
    toDays: (year, month, day) => year * yearLength + (cumulative[month - 1] as number) + day - 1,
    fromDays: (days) => {
      const year = Math.floor(days / yearLength)
      const dayOfYear = days - year * yearLength
      let month = 1
      while ((cumulative[month] as number) <= dayOfYear) month++
      return [year, month, dayOfYear - (cumulative[month - 1] as number) + 1]
    },
  }
}

const days360: CalendarRules = {
  realWorld: false,
  hasYearZero: true,
  daysInMonth: () => 30,
  exists: always,
  toDays: (year, month, day) => year * 360 + (month - 1) * 30 + day - 1,
  fromDays: (days) => {
    const year = Math.floor(days / 360)
    const dayOfYear = days - year * 360
    return [year, Math.floor(dayOfYear / 30) + 1, (dayOfYear % 30) + 1]
  },
}

const noLeap = fixedYear(CUMULATIVE_365)
const allLeap = fixedYear(CUMULATIVE_366)

/** The arithmetic of a calendar. */
export function rulesOf(calendar: Calendar): CalendarRules {
  switch (calendar) {
    case 'standard':
    case 'gregorian':
      return mixed
    case 'proleptic_gregorian':
      return proleptic
    case 'julian':
      return julian
    case 'noleap':
    case '365_day':
      return noLeap
    case 'all_leap':
    case '366_day':
      return allLeap
    case '360_day':
      return days360
  }
}

/** The year as cftime shows it: without a year zero, astronomical year 0 is 1 BC, shown as -1. */
export function displayYear(rules: CalendarRules, astronomical: number): number {
  return rules.hasYearZero || astronomical > 0 ? astronomical : astronomical - 1
}

/** The astronomical year of a shown year (the caller has rejected year 0 where there is none). */
export function astronomicalYear(rules: CalendarRules, shown: number): number {
  return rules.hasYearZero || shown > 0 ? shown : shown + 1
}
