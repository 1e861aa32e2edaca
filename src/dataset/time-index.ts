// How xarray indexes a time coordinate (pandas' DatetimeIndex or CFTimeIndex) and the labels each
// refuses where it raises: `sel` refuses them too, rather than answer where xarray gives no answer.
import { InvalidArgumentError } from '../errors.js'
import { type CFDatetime, decodeTimesWithNaT } from './cf-time.js'
import { type CoordinateInfo, labelText, labelValue, withinNanoseconds } from './coordinate.js'
import type { Label } from './interface.js'
import { type CoordinateIndex, locate, type Method } from './lookup.js'
import { type DimSelection, positionAt } from './selection.js'

export const RESOLUTIONS = [
  'microsecond',
  'millisecond',
  'second',
  'minute',
  'hour',
  'day',
  'month',
  'year',
] as const
const PANDAS_CALENDARS = new Set(['standard', 'gregorian', 'proleptic_gregorian'])
// datetime64[ns] holds 1677-09-21 to 2262-04-11; xarray decodes outside it with cftime.
const PANDAS_FIRST = '1677-09-22T00:00:00'
const PANDAS_LAST = '2262-04-11T00:00:00'

/** How xarray indexes a time coordinate: pandas (with its finest resolution) or CFTimeIndex. */
const indexKinds = new WeakMap<CoordinateInfo, { pandas: boolean; resolution: number }>()

export function timeIndexKind(coord: CoordinateInfo): { pandas: boolean; resolution: number } {
  let kind = indexKinds.get(coord)
  if (kind !== undefined) return kind
  const time = coord.time as NonNullable<CoordinateInfo['time']>
  const dates = decodeTimesWithNaT(time.raw ?? coord.index.values, time.units, time.calendar).filter(
    (date): date is CFDatetime => date !== undefined,
  )
  const iso = dates.map((date) => date.toISOString())
  const pandas =
    PANDAS_CALENDARS.has(time.calendar) && iso.every((text) => text >= PANDAS_FIRST && text <= PANDAS_LAST)
  let resolution = RESOLUTIONS.indexOf('day')
  for (const date of dates) {
    const finest =
      date.microsecond % 1000 !== 0
        ? 0
        : date.microsecond !== 0
          ? 1
          : date.second !== 0
            ? 2
            : date.minute !== 0
              ? 3
              : date.hour !== 0
                ? 4
                : 5
    resolution = Math.min(resolution, finest)
  }
  kind = { pandas, resolution }
  indexKinds.set(coord, kind)
  return kind
}

/**
 * Refuses time strings xarray's CFTimeIndex does not look up: with a method (it compares the string
 * to its dates: TypeError) or in a list (it matches none: KeyError).
 */
export function refuseCftimeStrings(
  coord: CoordinateInfo,
  indexer: Label | readonly Label[],
  method: Method,
): void {
  if (coord.time === undefined || timeIndexKind(coord).pandas) return
  const list = Array.isArray(indexer)
  const text = (list ? indexer : [indexer]).find((label) => typeof label === 'string')
  if (text === undefined || (!list && method === 'exact')) return
  const how = list ? 'in a list' : `with method '${method}'`
  throw new InvalidArgumentError(
    `time string ${labelText(text)} ${how} on ${JSON.stringify(coord.index.name)}, a ${coord.time.calendar} time coordinate: xarray's CFTimeIndex raises there; give a Date or CFDatetime`,
  )
}

/**
 * Refuses a time label with a method where pandas raises OverflowError: it subtracts the label from
 * the times it measures (nearest: both neighbours; tolerance: the one found; the last time for none)
 * in int64 nanoseconds, which hold 292 years.
 */
export function refuseOverflow(
  coord: CoordinateInfo,
  index: CoordinateIndex,
  view: DimSelection,
  label: Label,
  method: Method,
  tolerance: boolean,
): void {
  const n = index.values.length
  if (typeof label === 'number' || typeof label === 'bigint' || coord.time === undefined || n === 0) return
  if (index.order === 'unordered' || !timeIndexKind(coord).pandas || (method !== 'nearest' && !tolerance))
    return
  const value = labelValue(coord, label)
  const sides: Method[] = method === 'nearest' ? ['pad', 'backfill'] : [method]
  const positions = sides.map((side) => {
    const found = locate(index, value, side)
    return positionAt(view, found < 0 ? n - 1 : found)
  })
  const far = positions.find((position) => !withinNanoseconds(coord, label, position))
  if (far === undefined) return
  throw new InvalidArgumentError(
    `time ${labelText(label)} with method '${method}' on ${JSON.stringify(index.name)}: it lies 2^63 ns (292 years) or more from the time at position ${far}, where xarray (pandas) raises OverflowError`,
  )
}

/** Refuses `what` on a time coordinate in a cftime calendar missing a time (NaT), as xarray reads it oddly. */
export function refuseMissingCftime(coord: CoordinateInfo, index: CoordinateIndex, what: string): void {
  if (coord.time === undefined || index.order !== 'unordered' || !index.values.some(Number.isNaN)) return
  if (timeIndexKind(coord).pandas) return
  throw new InvalidArgumentError(
    `${what} on ${JSON.stringify(index.name)}, a ${coord.time.calendar} time coordinate missing a time (NaT): xarray's CFTimeIndex counts NaT in periods and bounds by no rule followed here; use isel`,
  )
}
