// Label -> position on a 1-D coordinate, as pandas' Index does it for xarray's `sel`: exact,
// pad/backfill/nearest with a tolerance, and label slices inclusive at both ends. Positions follow
// the coordinate's order, so a descending coordinate (latitude north to south) pads towards larger
// values, as pandas does.
import { InvalidArgumentError, LabelNotFoundError } from '../errors.js'
import { f16round } from './fill-value.js'

/** How a coordinate's values are ordered; pandas' "monotonic" allows equal neighbours. */
export type CoordinateOrder = 'ascending' | 'descending' | 'unordered'

/** A coordinate's values as numbers in the file's units, ready for lookups. */
export interface CoordinateIndex {
  readonly name: string
  readonly values: Float64Array
  /** float32 on disk: labels and distances are rounded to float32, as numpy compares them. */
  readonly float32: boolean
  /** float16 on disk: xarray casts a label (not a slice's bounds) to float16; pandas holds the index as float64. */
  readonly float16?: boolean
  readonly order: CoordinateOrder
}

/** How `sel` matches a label that is not in the coordinate (xarray's `method`). */
export type Method = 'exact' | 'nearest' | 'pad' | 'ffill' | 'backfill' | 'bfill'

export function coordinateIndex(
  name: string,
  values: Float64Array,
  float32: boolean,
  float16 = false,
): CoordinateIndex {
  return { name, values, float32, ...(float16 ? { float16 } : {}), order: orderOf(values) }
}

function orderOf(values: Float64Array): CoordinateOrder {
  let ascending = true
  let descending = true
  for (let i = 1; i < values.length && (ascending || descending); i++) {
    const a = values[i - 1] as number
    const b = values[i] as number
    if (!(a <= b)) ascending = false
    if (!(a >= b)) descending = false
  }
  if (values.some(Number.isNaN)) return 'unordered'
  return ascending ? 'ascending' : descending ? 'descending' : 'unordered'
}

/** The label as the coordinate compares it (xarray casts float labels to a float32 or float16 coordinate's dtype). */
export function castLabel(index: CoordinateIndex, label: number, bound = false): number {
  return index.float32 ? Math.fround(label) : index.float16 && !bound ? f16round(label) : label
}

function distance(index: CoordinateIndex, position: number, label: number): number {
  const d = Math.abs((index.values[position] as number) - label)
  return index.float32 ? Math.fround(d) : d
}

/** Positions before `label` in the coordinate's order (`orEqual`: before or at it). */
function countBefore(index: CoordinateIndex, label: number, orEqual: boolean): number {
  const { values } = index
  const ascending = index.order === 'ascending'
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const v = values[mid] as number
    const before = ascending ? (orEqual ? v <= label : v < label) : orEqual ? v >= label : v > label
    if (before) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First position of each value of an unordered coordinate, built on its first exact lookup. */
const firstPositions = new WeakMap<CoordinateIndex, Map<number, number>>()

function exactPosition(index: CoordinateIndex, label: number): number {
  if (index.order === 'unordered') {
    let positions = firstPositions.get(index)
    if (positions === undefined) {
      positions = new Map()
      for (let i = index.values.length - 1; i >= 0; i--) positions.set(index.values[i] as number, i)
      firstPositions.set(index, positions)
    }
    return Number.isNaN(label) ? -1 : (positions.get(label) ?? -1)
  }
  const at = countBefore(index, label, false)
  return at < index.values.length && index.values[at] === label ? at : -1
}

/** Whether no two values are equal (NaNs count as equal, as pandas counts them), found once per index. */
const uniqueness = new WeakMap<CoordinateIndex, boolean>()

function isUnique(index: CoordinateIndex): boolean {
  let unique = uniqueness.get(index)
  if (unique === undefined) {
    const { values } = index
    if (index.order === 'unordered') unique = new Set(values).size === values.length
    else {
      unique = true
      for (let i = 1; i < values.length && unique; i++) unique = values[i] !== values[i - 1]
    }
    uniqueness.set(index, unique)
  }
  return unique
}

/** pandas looks up with a method, or many labels at once, only in an index of distinct values. */
export function requireUnique(index: CoordinateIndex, what: string): void {
  if (!isUnique(index)) {
    throw new InvalidArgumentError(
      `coordinate ${JSON.stringify(index.name)} holds a value more than once: ${what} needs distinct values`,
    )
  }
}

/**
 * Every position holding `label` exactly, in the coordinate's order, when the coordinate repeats
 * values; undefined when it does not (then `locate` finds the one position).
 */
export function repeatedPositions(index: CoordinateIndex, rawLabel: number): number[] | undefined {
  if (isUnique(index)) return undefined
  const label = castLabel(index, rawLabel)
  if (index.order !== 'unordered') {
    const from = countBefore(index, label, false)
    const to = countBefore(index, label, true)
    return Array.from({ length: to - from }, (_, i) => from + i)
  }
  const positions: number[] = []
  index.values.forEach((v, i) => {
    if (v === label) positions.push(i)
  })
  return positions
}

function requireOrdered(index: CoordinateIndex, what: string): void {
  if (index.order === 'unordered') {
    throw new InvalidArgumentError(
      `coordinate ${JSON.stringify(index.name)} is neither ascending nor descending (or holds NaN): ${what} needs a monotonic coordinate`,
    )
  }
}

/**
 * The position of `label` under `method`, or -1 when there is none (or none within `tolerance`),
 * as pandas' `get_indexer`: ties of `nearest` go to the larger value.
 */
export function locate(index: CoordinateIndex, rawLabel: number, method: Method, tolerance?: number): number {
  const label = castLabel(index, rawLabel)
  if (method === 'exact') {
    if (tolerance !== undefined) {
      throw new InvalidArgumentError('tolerance needs a method: nearest, pad/ffill or backfill/bfill')
    }
    return exactPosition(index, label)
  }
  requireOrdered(index, `method ${JSON.stringify(method)}`)
  requireUnique(index, `method ${JSON.stringify(method)}`)
  const n = index.values.length
  if (n === 0 || Number.isNaN(label)) return -1
  const exact = exactPosition(index, label)
  const before = countBefore(index, label, false)
  const pad = exact >= 0 ? exact : before - 1
  const backfill = exact >= 0 ? exact : before < n ? before : -1
  let found: number
  if (method === 'pad' || method === 'ffill') found = pad
  else if (method === 'backfill' || method === 'bfill') found = backfill
  else {
    // pandas measures a missing side against the last value; the other side then always wins.
    const left = distance(index, pad < 0 ? n - 1 : pad, label)
    const right = distance(index, backfill < 0 ? n - 1 : backfill, label)
    const leftWins = index.order === 'ascending' ? left < right : left <= right
    found = leftWins || backfill < 0 ? pad : backfill
  }
  if (found >= 0 && tolerance !== undefined && !(distance(index, found, label) <= tolerance)) return -1
  return found
}

/**
 * Positions `[start, stop)` of the label slice `start..stop`, both ends included as xarray (pandas
 * `slice_locs`) includes them; an absent end is the coordinate's end. Empty when the labels run
 * against the coordinate's order.
 */
export function sliceBounds(
  index: CoordinateIndex,
  start: number | undefined,
  stop: number | undefined,
): { start: number; stop: number } {
  const n = index.values.length
  if (index.order === 'unordered') {
    // pandas slices an unordered index only between labels it holds exactly, each once or in one
    // run of neighbours (its get_loc is then a slice: the run's first starts, its last stops).
    const bound = (label: number | undefined, fallback: number, side: 'start' | 'stop'): number => {
      if (label === undefined) return fallback
      const repeated = repeatedPositions(index, label)
      if (repeated !== undefined && repeated.length > 1) {
        const first = repeated[0] as number
        if (!repeated.every((position, i) => position === first + i)) {
          requireUnique(index, `a slice bounded by ${label}, a value it holds more than once apart,`)
        }
        return side === 'start' ? first : (repeated.at(-1) as number)
      }
      return exactPosition(index, castLabel(index, label, true))
    }
    const from = bound(start, 0, 'start')
    const to = bound(stop, n - 1, 'stop')
    if (from < 0 || to < 0) requireOrdered(index, 'a slice between labels it does not hold')
    return { start: from, stop: Math.max(from, to + 1) }
  }
  const from = start === undefined ? 0 : countBefore(index, castLabel(index, start, true), false)
  const to = stop === undefined ? n : countBefore(index, castLabel(index, stop, true), true)
  return { start: from, stop: Math.max(from, to) }
}

/**
 * Positions whose values lie in `[start, end]` (a time label's period): a range on an ascending
 * coordinate, else a list; undefined when the period lies wholly before or after an ascending one,
 * where pandas and xarray raise KeyError.
 */
export function periodPositions(
  index: CoordinateIndex,
  start: number,
  end: number,
):
  | { kind: 'range'; start: number; step: 1; count: number }
  | { kind: 'list'; indices: number[] }
  | undefined {
  const { values } = index
  if (index.order === 'ascending') {
    const first = values[0] as number
    const last = values[values.length - 1] as number
    if (values.length > 0 && ((start < first && end < first) || (start > last && end > last)))
      return undefined
    const from = countBefore(index, start, false)
    const to = countBefore(index, end, true)
    return { kind: 'range', start: from, step: 1, count: Math.max(0, to - from) }
  }
  const indices: number[] = []
  values.forEach((v, i) => {
    if (v >= start && v <= end) indices.push(i)
  })
  return { kind: 'list', indices }
}

/**
 * pandas' DatetimeIndex not ascending (descending, out of order, with NaT) slices between time
 * strings by value: from the start's first instant, which it must hold, and to the stop's last, which
 * it never holds (a period's last nanosecond: KeyError); xarray takes only the whole index.
 */
export function valueSlice(
  index: CoordinateIndex,
  start: number | undefined,
  stopGiven: boolean,
  step: number,
  label: string,
): { kind: 'range'; start: 0; step: 1; count: number } {
  const { values } = index
  const held = start === undefined || (!Number.isNaN(start) && values.includes(start))
  const inside = start === undefined ? values.length : values.filter((v) => v >= start).length
  if (stopGiven || !held || Math.ceil(inside / step) !== values.length) {
    throw new LabelNotFoundError(
      label,
      index.name,
      ': the time coordinate is not ascending, where xarray slices by time strings only from a time it holds, with no stop, taking every time',
    )
  }
  return { kind: 'range', start: 0, step: 1, count: values.length }
}
