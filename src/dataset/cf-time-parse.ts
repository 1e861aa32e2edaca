// The grammar of CF time units ('<unit> since <date>') as cftime 1.6 reads them. cftime matches its
// date pattern at the start of the string and ignores what follows, so 'days since 2000-01-01 12'
// is midnight (an hour needs its minutes) and a trailing 'UTC' is ignored; we follow it exactly.
import { InvalidArgumentError } from '../errors.js'

/** The fields of a date string; `offsetMinutes` is its UTC offset (east positive). */
export interface ParsedDate {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  microsecond: number
  offsetMinutes: number
}

/** Canonical unit name and its length in microseconds (months and common years in days of their calendar). */
const UNITS: Record<string, { unit: string; microseconds: number }> = {}
for (const [unit, microseconds, aliases] of [
  ['microseconds', 1, ['microseconds', 'microsecond', 'microsec', 'microsecs']],
  ['milliseconds', 1e3, ['milliseconds', 'millisecond', 'millisec', 'millisecs', 'msec', 'msecs', 'ms']],
  ['seconds', 1e6, ['seconds', 'second', 'sec', 'secs', 's']],
  ['minutes', 6e7, ['minutes', 'minute', 'min', 'mins']],
  ['hours', 3.6e9, ['hours', 'hour', 'hr', 'hrs', 'h']],
  ['days', 8.64e10, ['days', 'day', 'd']],
  ['months', 30 * 8.64e10, ['months', 'month']],
  ['common_years', 365 * 8.64e10, ['common_years', 'common_year']],
] as const) {
  for (const alias of aliases) UNITS[alias] = { unit, microseconds }
}

/** The unit of a CF unit name (case-insensitive), or undefined when it is not a time unit. */
export function timeUnitOf(name: string): { unit: string; microseconds: number } | undefined {
  return Object.hasOwn(UNITS, name.toLowerCase()) ? UNITS[name.toLowerCase()] : undefined
}

/** Splits '<unit> since <date>' as cftime does (whitespace-separated, 'since' in any case), or undefined. */
export function splitUnits(units: string): { unitName: string; date: string } | undefined {
  const match = /^\s*(\S+)\s+(\S+)\s+([\s\S]*)$/.exec(units)
  if (match === null || (match[2] as string).toLowerCase() !== 'since') return undefined
  return { unitName: match[1] as string, date: (match[3] as string).trim() }
}

// cftime's ISO8601_REGEX, matched at the start only.
const DATE =
  /^(?<year>[+-]?[0-9]+)(-(?<month>[0-9]{1,2})(-(?<day>[0-9]{1,2})(((.)(?<hour>[0-9]{1,2}):(?<minute>[0-9]{1,2})(:(?<second>[0-9]{1,2})(\.(?<fraction>[0-9]+))?)?)?((.?)(?<zone>Z|([-+])([0-9]{2})((:([0-9]{2}))|([0-9]{2}))?))?)?)?)?/
const ZONE = /^(?<sign>[+-])(?<hours>[0-9]{2}):?(?<minutes>[0-9]{2})?/
// Years beyond this are refused (cftime refuses them too, past a C int).
const MAX_YEAR = 2 ** 31 - 1

/**
 * The fields of a date as cftime parses a units string's reference date. With `partial`, a year
 * alone or a year and month are accepted too (for labels such as '2024-07').
 */
export function parseDate(text: string, what: string, partial = false): ParsedDate {
  const groups = DATE.exec(text.trim())?.groups
  if (groups === undefined || (!partial && groups.day === undefined)) {
    throw new InvalidArgumentError(`${what}: cannot parse a date from ${JSON.stringify(text.slice(0, 100))}`)
  }
  const year = Number(groups.year)
  if (!Number.isSafeInteger(year) || Math.abs(year) > MAX_YEAR) {
    throw new InvalidArgumentError(`${what}: year ${groups.year?.slice(0, 30)} is out of range`)
  }
  return {
    year,
    month: Number(groups.month ?? 1),
    day: Number(groups.day ?? 1),
    hour: Number(groups.hour ?? 0),
    minute: Number(groups.minute ?? 0),
    second: Number(groups.second ?? 0),
    microsecond: fraction(groups.fraction, partial),
    offsetMinutes: zoneMinutes(groups.zone),
  }
}

function fraction(digits: string | undefined, exact: boolean): number {
  if (digits === undefined) return 0
  if (exact) return Number(digits.slice(0, 6).padEnd(6, '0'))
  return Math.trunc(Number(`0.${digits}`) * 1e6) // as cftime: int(float('0.' + fraction) * 1e6)
}

function zoneMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0
  const groups = ZONE.exec(zone)?.groups as Record<string, string | undefined>
  const minutes = Number(groups.hours) * 60 + Number(groups.minutes ?? 0)
  return groups.sign === '-' ? -minutes : minutes
}

/** The finest field a label gives: xarray selects the whole period of a coarser label. */
export type LabelResolution =
  | 'year'
  | 'month'
  | 'day'
  | 'hour'
  | 'minute'
  | 'second'
  | 'millisecond'
  | 'microsecond'

const FIELDS = ['year', 'month', 'day', 'hour', 'minute', 'second', 'fraction'] as const

// xarray's date-string patterns for time labels (basic, extended, cftime-style), each field optional
// after the year; `.` before the fraction is any character, as in xarray.
function labelPattern(dateSep: string, dateTimeSep: string, timeSep: string): RegExp {
  const pieces = [
    ['', '(?<year>[+-]?\\d{4,5})'],
    [dateSep, '(?<month>\\d{2})'],
    [dateSep, '(?<day>\\d{2})'],
    [dateTimeSep, '(?<hour>\\d{2})'],
    [timeSep, '(?<minute>\\d{2})'],
    [timeSep, '(?<second>\\d{2})'],
    ['.', '(?<fraction>\\d{1,6})'],
  ]
  let pattern = ''
  for (const [separator, field] of pieces.reverse())
    pattern = `${separator}${field}${pattern ? `(?:${pattern})?` : ''}`
  return new RegExp(`^${pattern}$`)
}
const LABEL_PATTERNS = [labelPattern('', 'T', ''), labelPattern('-', 'T', ':'), labelPattern('-', ' ', ':')]

/**
 * A time label as xarray reads one for selection ('2024', '2024-07', '2024-07-01T12', '20240701',
 * '2024-07-01 12:30:00.5') with its resolution; failing those, a date as in units strings, which
 * may carry a UTC offset ('2024-7-1T00:00+02:00'), but then nothing may follow it.
 */
export function parseLabel(text: string): ParsedDate & { resolution: LabelResolution } {
  const trimmed = text.trim()
  if (trimmed.length <= 64) {
    for (const pattern of LABEL_PATTERNS) {
      const groups = pattern.exec(trimmed)?.groups
      if (groups === undefined) continue
      return {
        year: Number(groups.year),
        month: Number(groups.month ?? 1),
        day: Number(groups.day ?? 1),
        hour: Number(groups.hour ?? 0),
        minute: Number(groups.minute ?? 0),
        second: Number(groups.second ?? 0),
        microsecond: fraction(groups.fraction, true),
        offsetMinutes: 0,
        resolution: resolutionOf(groups),
      }
    }
  }
  const match = DATE.exec(trimmed)
  if (match === null || match[0].length !== trimmed.length) {
    throw new InvalidArgumentError(`label: cannot parse a date from ${JSON.stringify(text.slice(0, 100))}`)
  }
  return { ...parseDate(trimmed, 'label', true), resolution: resolutionOf(match.groups ?? {}) }
}

function resolutionOf(groups: Record<string, string | undefined>): LabelResolution {
  const finest = FIELDS.filter((field) => groups[field] !== undefined).at(-1) ?? 'year'
  if (finest !== 'fraction') return finest
  return (groups.fraction as string).length <= 3 ? 'millisecond' : 'microsecond'
}
