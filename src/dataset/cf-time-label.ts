// Time labels as xarray reads them for selection: a label names a period ('2024-07' is the month).
import { InvalidArgumentError } from '../errors.js'
import { type Calendar, requireCalendar, rulesOf } from './calendars.js'
import { CFDatetime } from './cf-datetime.js'
import { type LabelResolution, parseLabel } from './cf-time-parse.js'

/** The dates a time label stands for, as xarray's partial-date selection reads it. */
export interface LabelPeriod {
  /** The first instant of the label ('2024-07' starts at 2024-07-01T00:00:00). */
  start: CFDatetime
  /** The last microsecond of the label's period ('2024-07' ends at 2024-07-31T23:59:59.999999); `start` for ms/µs labels. */
  end: CFDatetime
  resolution: LabelResolution
}

/**
 * Reads a time label in a calendar the way xarray reads `sel(time='2024-07')`: the whole month,
 * day, hour… that the label names (labels with milliseconds or microseconds name one instant).
 * Accepts xarray's forms ('2024', '2024-07-01T12', '20240701', '2024-07-01 12:30') and dates as in
 * units strings, with a UTC offset ('2024-7-1T00:00+02:00'); anything else is an InvalidArgumentError.
 *
 * @example
 * ```ts
 * const { start, end } = labelPeriod('2001-02', '360_day')
 * String(end) // '2001-02-30T23:59:59.999999'
 * ```
 */
export function labelPeriod(label: string, calendar: Calendar | string = 'standard'): LabelPeriod {
  if (typeof label !== 'string') throw new InvalidArgumentError('label: expected a string')
  const known = requireCalendar(calendar)
  const date = parseLabel(label)
  let start = CFDatetime.fromFields(date, known)
  if (date.offsetMinutes !== 0) start = start.addMicroseconds(-date.offsetMinutes * 60e6)
  return { start, end: periodEnd(start, date.resolution, known), resolution: date.resolution }
}

function periodEnd(start: CFDatetime, resolution: LabelResolution, calendar: Calendar): CFDatetime {
  const { year, month } = start
  const nextYear = year === -1 && !rulesOf(calendar).hasYearZero ? 1 : year + 1
  switch (resolution) {
    case 'year':
      return new CFDatetime(nextYear, 1, 1, 0, 0, 0, 0, calendar).addMicroseconds(-1)
    case 'month':
      return (
        month === 12
          ? new CFDatetime(nextYear, 1, 1, 0, 0, 0, 0, calendar)
          : new CFDatetime(year, month + 1, 1, 0, 0, 0, 0, calendar)
      ).addMicroseconds(-1)
    case 'day':
      return start.addMicroseconds(86_400e6 - 1)
    case 'hour':
      return start.addMicroseconds(3_600e6 - 1)
    case 'minute':
      return start.addMicroseconds(60e6 - 1)
    case 'second':
      return start.addMicroseconds(1e6 - 1)
    default:
      return start
  }
}
