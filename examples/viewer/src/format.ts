// Labels for values and CF-style time coordinates ("days since 2020-01-01").

const UNIT_MS: Record<string, number> = {
  day: 86_400_000,
  hour: 3_600_000,
  minute: 60_000,
  second: 1_000,
}

/** A CF time coordinate value as an ISO date (and time when not midnight); otherwise the number. */
export function formatTime(value: number, units: string, calendar?: unknown): string {
  return isoTime(value, units, calendar) ?? formatValue(value)
}

/** Calendars that JS `Date` counts (proleptic Gregorian; "standard" differs only before 1582-10-15). */
const DATE_CALENDARS = new Set(['standard', 'gregorian', 'proleptic_gregorian'])

/**
 * The ISO date of a time value in `<unit>s since <date>` on the standard calendar (what JS `Date`
 * counts), undefined for other units and calendars. Kept this small on purpose: CF calendars belong
 * to the library.
 */
export function isoTime(value: number, units: string, calendar: unknown = 'standard'): string | undefined {
  if (typeof calendar !== 'string' || !DATE_CALENDARS.has(calendar.toLowerCase())) return undefined
  const match =
    /^\s*(day|hour|minute|second)s?\s+since\s+(\d{4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?/i.exec(
      units,
    )
  const unitMs = match === null ? undefined : UNIT_MS[match[1]!.toLowerCase()]
  if (match === null || unitMs === undefined || !Number.isFinite(value)) return undefined
  const [year, month, day] = match[2]!.split('-').map(Number) as [number, number, number]
  const [hours = 0, minutes = 0, seconds = 0] = (match[3] ?? '').split(':').filter(Boolean).map(Number)
  const epoch = Date.UTC(year, month - 1, day, hours, minutes, seconds)
  const time = new Date(epoch + value * unitMs)
  if (Number.isNaN(time.getTime())) return undefined
  const iso = time.toISOString()
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 16).replace('T', ' ')} UTC`
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
