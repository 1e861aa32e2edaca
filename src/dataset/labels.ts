// `sel` for one dimension: labels (numbers, strings of a string coordinate, or times as ISO strings,
// Dates or CFDatetimes) turned into positions of the view through its coordinate, with xarray's
// methods and errors.
import { InvalidArgumentError, LabelNotFoundError } from '../errors.js'
import { CFDatetime, labelPeriod, parseTimeUnits } from './cf-time.js'
import { type CoordinateInfo, labelText, labelValue, timeEdge, withinTolerance } from './coordinate.js'
import { parseDuration } from './duration.js'
import type { Label, LabelIndexer, LabelSlice, SelectOptions } from './interface.js'
import {
  type CoordinateIndex,
  coordinateIndex,
  locate,
  type Method,
  periodPositions,
  repeatedPositions,
  requireUnique,
  sliceBounds,
  valueSlice,
} from './lookup.js'
import { type DimSelection, positionAt, sizeOf } from './selection.js'
import {
  RESOLUTIONS,
  refuseCftimeStrings,
  refuseMissingCftime,
  refuseOverflow,
  timeIndexKind,
} from './time-index.js'

const METHODS: readonly Method[] = ['exact', 'nearest', 'pad', 'ffill', 'backfill', 'bfill']

export function isLabelSlice(value: unknown): value is LabelSlice {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof CFDatetime) &&
    Object.keys(value).every((key) => key === 'start' || key === 'stop' || key === 'step')
  )
}

/**
 * How a label slice is read: as `sel` reads it (pandas' value slice of a time coordinate out of
 * order), or as `box` makes it (every position between its two labels, whichever way).
 */
export type SliceReading = 'sel' | 'box'

/**
 * The label slices of a box given by bounds in either order: each keeps every position between its
 * two labels, both included, whichever way the view's coordinate runs (a reordered view, e.g. by
 * `isel` with a reversed list, runs its own way; xarray slices it in that order). They are read
 * as `'box'` slices by {@link resolveLabels}.
 */
export function boxSlices(
  bounds: Readonly<Record<string, readonly [Label, Label]>>,
  coordinateOf: (dim: string) => { coord: CoordinateInfo; view: DimSelection },
): Record<string, LabelSlice> {
  if (typeof bounds !== 'object' || bounds === null) {
    throw new InvalidArgumentError('box bounds must be an object of dimension name to [from, to]')
  }
  const slices: Record<string, LabelSlice> = {}
  for (const [dim, pair] of Object.entries(bounds)) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidArgumentError(`box bounds for ${JSON.stringify(dim)} must be [from, to]`)
    }
    const { coord, view } = coordinateOf(dim)
    const [a, b] = pair as readonly [Label, Label]
    // Compared as numbers in the coordinate's units, so times in any form sort correctly.
    const index = viewIndex(coord, view)
    const [va, vb] = [labelValue(coord, a), labelValue(coord, b)]
    // An unordered view slices between labels it holds (as pandas): the one found first starts.
    const reversed =
      index.order === 'unordered'
        ? locate(index, va, 'exact', undefined) > locate(index, vb, 'exact', undefined)
        : va <= vb === (index.order === 'descending')
    slices[dim] = reversed ? { start: b, stop: a } : { start: a, stop: b }
  }
  return slices
}

export function checkSelectOptions(options: SelectOptions | undefined): {
  method: Method
  tolerance: number | undefined
  /** A duration tolerance in nanoseconds (converted per coordinate). */
  duration: bigint | undefined
} {
  const method = options?.method ?? 'exact'
  if (!METHODS.includes(method)) {
    throw new InvalidArgumentError(`method must be one of ${METHODS.join(', ')}, got ${labelText(method)}`)
  }
  const tolerance = options?.tolerance
  if (typeof tolerance === 'string') {
    const duration = parseDuration(tolerance)
    if (duration < 0n)
      throw new InvalidArgumentError(`tolerance must not be negative, got ${labelText(tolerance)}`)
    return { method, tolerance: undefined, duration }
  }
  if (tolerance !== undefined && !(typeof tolerance === 'number' && tolerance >= 0)) {
    throw new InvalidArgumentError(
      `tolerance must be a number >= 0 or a duration string ('12h', 'P1D'), got ${labelText(tolerance)}`,
    )
  }
  return { method, tolerance, duration: undefined }
}

/** A duration (nanoseconds) in the units of a time coordinate; refused on a coordinate that is no time. */
function durationIn(coord: CoordinateInfo, ns: bigint, text: unknown): number {
  const units = coord.time === undefined ? undefined : parseTimeUnits(coord.time.units, coord.time.calendar)
  if (units === undefined) {
    throw new InvalidArgumentError(
      `tolerance ${labelText(text)} is a duration, but coordinate ${JSON.stringify(coord.index.name)} is not a CF time: give a number in its units`,
    )
  }
  return Number(ns) / (units.microseconds * 1000)
}

/** The coordinate restricted to what the view keeps (the stored one when the view keeps all). */
function viewIndex(coord: CoordinateInfo, view: DimSelection): CoordinateIndex {
  const { index } = coord
  if (view.kind === 'range' && view.start === 0 && view.step === 1 && view.count === index.values.length) {
    return index
  }
  const values = new Float64Array(sizeOf(view))
  for (let i = 0; i < values.length; i++) values[i] = index.values[positionAt(view, i)] as number
  return coordinateIndex(index.name, values, index.float32, index.float16)
}

/**
 * The coordinate in reverse order, its order the opposite: one value, or one repeated, is ascending
 * to pandas, so reversed it is descending (slice(10, 10.25, -1) of [10] is empty, as pandas gives).
 */
function reversed(index: CoordinateIndex): CoordinateIndex {
  const order =
    index.order === 'ascending' ? 'descending' : index.order === 'descending' ? 'ascending' : 'unordered'
  return { ...index, values: index.values.slice().reverse(), order }
}

/** Positions of the view (relative to it) that `indexer` selects along `coord`'s dimension. */
export function resolveLabels(
  coord: CoordinateInfo,
  view: DimSelection,
  indexer: LabelIndexer,
  options: SelectOptions | undefined,
  reading: SliceReading = 'sel',
): DimSelection {
  const checked = checkSelectOptions(options)
  const { method } = checked
  const tolerance =
    checked.duration === undefined
      ? checked.tolerance
      : durationIn(coord, checked.duration, options?.tolerance)
  const index = viewIndex(coord, view)
  const name = index.name
  if (coord.strings !== undefined && (method === 'nearest' || tolerance !== undefined)) {
    // Ranks have no distance between them; pandas cannot subtract strings either.
    throw new InvalidArgumentError(
      `coordinate ${JSON.stringify(name)} holds strings: method 'nearest' and tolerance need numbers or times`,
    )
  }
  if (isLabelSlice(indexer)) {
    if (method !== 'exact' || tolerance !== undefined) {
      throw new InvalidArgumentError(
        `cannot use method or tolerance with a slice (dimension ${JSON.stringify(name)})`,
      )
    }
    const step = indexer.step ?? 1
    if (!Number.isSafeInteger(step) || step === 0) {
      throw new InvalidArgumentError(
        `slice step for ${JSON.stringify(name)} must be a nonzero integer, got ${step}`,
      )
    }
    // pandas slices a DatetimeIndex that is not ascending (descending too) between time strings by
    // value; the start's period begins at a held value, found as an unordered bound finds it.
    const { start: from, stop: to } = indexer
    const strings =
      (from === undefined || typeof from === 'string') && (to === undefined || typeof to === 'string')
    if (
      strings &&
      reading === 'sel' &&
      coord.time !== undefined &&
      index.order !== 'ascending' &&
      timeIndexKind(coord).pandas
    ) {
      if (from === undefined && to === undefined) {
        // pandas masks from np.array(True) there, and numpy 2 refuses nonzero() of a 0-d array.
        throw new InvalidArgumentError(
          `slice with neither start nor stop on ${JSON.stringify(name)}, a time coordinate not ascending: xarray (pandas with numpy 2) raises ValueError there; use isel`,
        )
      }
      const first =
        from === undefined
          ? undefined
          : heldInstant(coord, index, labelPeriod(from, coord.time.calendar).start)
      return valueSlice(index, first, to !== undefined, Math.abs(step), labelText(from ?? to))
    }
    // CFTimeIndex holding NaT bounds slices by no rule we can follow ([2000-01-01, NaT] from 2000-01-01 is empty).
    if (reading === 'sel' && (from !== undefined || to !== undefined))
      refuseMissingCftime(coord, index, 'a slice')
    // A negative step runs over the view backwards (pandas swaps the sides of its bounds): the
    // reversed coordinate sliced forward, its positions mapped back.
    const backwards = step < 0
    const run = backwards ? reversed(index) : index
    // A time string bounds a slice by its period: the start's first instant, the stop's last (pandas).
    // box keeps the positions between its labels: one time repeated is all of them.
    const descending = reading === 'sel' ? descendingToXarray(coord, index) : index.order === 'descending'
    const flip = descending !== backwards
    const bound = (label: Label | undefined, side: 'start' | 'stop'): number | undefined => {
      if (label === undefined) return undefined
      if (typeof label !== 'string' || coord.time === undefined) {
        const value = labelValue(coord, label)
        // A binary search finds no place for NaN: it would act as an absent end.
        if (Number.isNaN(value)) {
          throw new InvalidArgumentError(
            `slice ${side} for ${JSON.stringify(name)} is NaN: give a label or leave it out`,
          )
        }
        return value
      }
      const period = labelPeriod(label, coord.time.calendar)
      const early = (side === 'start') !== flip
      const instant = early ? period.start : period.end
      // Out of order, a slice runs between held labels.
      if (index.order === 'unordered') return heldInstant(coord, index, instant)
      // The edge a bound needs is that of the run's order: only one time repeated tells it from `early`.
      const lower = (side === 'start') === (run.order !== 'descending')
      return timeEdge(coord.time, instant, lower ? 'first' : 'last')
    }
    const bounds = sliceBounds(run, bound(from, 'start'), bound(to, 'stop'))
    const count = Math.ceil((bounds.stop - bounds.start) / Math.abs(step))
    if (!backwards) return { kind: 'range', start: bounds.start, step, count }
    // The reversed coordinate's start, as a position of the view: a range running down from there.
    return { kind: 'range', start: index.values.length - 1 - bounds.start, step, count }
  }
  const find = (label: Label): number => {
    if (method !== 'exact') refuseOverflow(coord, index, view, label, method, tolerance !== undefined)
    // Ranks have no distances: a ranked time's tolerance is measured on its stored integers.
    const ranked = coord.time?.ranks !== undefined && tolerance !== undefined && method !== 'exact'
    let position = locate(index, labelValue(coord, label), method, ranked ? undefined : tolerance)
    if (ranked && position >= 0 && !withinTolerance(coord, label, positionAt(view, position), tolerance))
      position = -1
    if (position < 0) {
      const hint =
        method === 'exact'
          ? ": try method 'nearest'"
          : ` with method '${method}'${tolerance === undefined ? '' : ` within tolerance ${options?.tolerance}`}`
      throw new LabelNotFoundError(labelText(label), name, hint)
    }
    return position
  }
  refuseCftimeStrings(coord, indexer, method)
  if (Array.isArray(indexer)) {
    refuseMissingCftime(coord, index, 'a list') // xarray: InvalidIndexError
    requireUnique(index, 'a list of labels')
    return { kind: 'list', indices: indexer.map(find) }
  }
  // CFTimeIndex counts NaT in every period holding a time: refused rather than rows missing.
  if (typeof indexer === 'string') refuseMissingCftime(coord, index, 'a time string')
  if (typeof indexer === 'string' && method === 'exact' && coord.time !== undefined) {
    const period = periodOf(coord, index, indexer)
    if (period !== undefined) return period
  }
  if (method === 'exact') {
    // A label the coordinate holds more than once keeps the dimension with each position (pandas get_loc).
    const repeated = repeatedPositions(index, labelValue(coord, indexer as Label))
    if (repeated !== undefined && repeated.length > 1) return { kind: 'list', indices: repeated }
  }
  return { kind: 'point', index: find(indexer as Label) }
}

/**
 * Whether xarray casts a time string bound as on a descending index: pandas when strictly so,
 * CFTimeIndex when monotonic decreasing with two or more values (one time repeated is, too).
 */
function descendingToXarray(coord: CoordinateInfo, index: CoordinateIndex): boolean {
  const { values, order } = index
  if (order !== 'ascending' || coord.time === undefined || values.length < 2) return order === 'descending'
  // Ascending with its ends equal: one time repeated.
  return values[0] === values[values.length - 1] && !timeIndexKind(coord).pandas
}

/**
 * The held value that decodes to `instant`, or NaN, held nowhere (its nearest double may be a
 * neighbour's: in 'hours since 0001-01-01', 07:59:59.999999 is 08:00).
 */
function heldInstant(coord: CoordinateInfo, index: CoordinateIndex, instant: CFDatetime): number {
  const time = coord.time as NonNullable<CoordinateInfo['time']>
  const first = timeEdge(time, instant, 'first')
  const last = timeEdge(time, instant, 'last')
  return index.values.find((v) => v >= first && v <= last) ?? Number.NaN
}

/**
 * A time string names a period, as xarray reads `sel(time='2024-07')`: every position in it (the
 * dimension is kept) when xarray indexes with cftime, or with pandas when the label is coarser than
 * the coordinate's resolution; undefined when the label is one instant to look up.
 */
function periodOf(coord: CoordinateInfo, index: CoordinateIndex, label: string): DimSelection | undefined {
  const time = coord.time as NonNullable<CoordinateInfo['time']>
  const period = labelPeriod(label, time.calendar)
  const kind = timeIndexKind(coord)
  if (kind.pandas && RESOLUTIONS.indexOf(period.resolution) <= kind.resolution) return undefined
  const start = timeEdge(time, period.start, 'first')
  const end = timeEdge(time, period.end, 'last')
  const positions = periodPositions(index, start, end)
  // pandas 3.1 refuses a period past either end of a monotonic index; inside one, or on an index
  // out of order (NaT too), a period matching nothing is an empty selection.
  const { values } = index
  const pastEnds =
    kind.pandas &&
    index.order === 'descending' &&
    (start > (values[0] as number) || end < (values[values.length - 1] as number))
  if (positions === undefined || pastEnds) {
    throw new LabelNotFoundError(
      labelText(label),
      index.name,
      ': no time of the coordinate falls in that period',
    )
  }
  return positions
}
