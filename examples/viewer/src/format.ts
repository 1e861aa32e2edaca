// Labels for values and decoded CF times.
import type { CFDatetime } from '../../../src/dataset.js'

/**
 * A decoded time as its calendar writes it: the date alone at midnight ('2001-02-30' in a 360_day
 * calendar), else date and time to the minute (to the second when it has seconds). Never through JS
 * `Date`, which has no February 30 and no noleap year.
 */
export function timeText(date: CFDatetime): string {
  const [day, time = ''] = date.toISOString().split('T') as [string, string?]
  if (time === '00:00:00') return day
  return `${day} ${time.endsWith(':00') ? time.slice(0, 5) : time}`
}

/** A data value in at most four significant digits, without trailing zeros; NaN as "no data". */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'no data'
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value)
  return String(Number(value.toPrecision(4)))
}

/** "air temperature (K)", falling back to the variable's name. */
export function describeQuantity(name: string, longName: string, units: string): string {
  const label = longName === '' ? name : longName
  return units === '' ? label : `${label} (${units})`
}
