// A dimension's coordinate as `sel` reads it: its values as numbers (a string coordinate's as
// ranks, a time's in its CF units), a label turned into such a number, a position into its value.
import { describeValue, InvalidArgumentError } from '../errors.js'
import {
  CFDatetime,
  decodedEdge,
  decodeTimesWithNaT,
  encodeTime,
  exactTime,
  integerEdge,
  offsetEdge,
  offsetTime,
} from './cf-time.js'
import type { CoordinateValue, Label } from './interface.js'
import { type CoordinateIndex, coordinateIndex } from './lookup.js'
import { type DimSelection, positionAt, sizeOf } from './selection.js'

/** A dimension's coordinate: its stored values as numbers, and its CF time units when it is a time. */
export interface CoordinateInfo {
  readonly index: CoordinateIndex
  /**
   * A CF time: its units, calendar and, for 64-bit integers past 2^53, the stored values; `base`
   * when they lie less than 2^53 apart: the index then holds each less it, exact (see {@link timeValue});
   * else `ranks`, them sorted without repeats (NaT left out): the index holds each one's rank.
   */
  readonly time?: {
    readonly units: string
    readonly calendar: string
    readonly raw?: ArrayLike<bigint>
    readonly base?: bigint
    readonly ranks?: ArrayLike<bigint>
  }
  /**
   * A string coordinate (station ids): its values, and them sorted without repeats. The index then
   * holds each value's rank among the sorted, so lookups and slices compare strings in order.
   */
  readonly strings?: { readonly values: readonly string[]; readonly sorted: readonly string[] }
}

/** A string coordinate: its ranks as the index's numbers (see {@link CoordinateInfo.strings}). */
export function stringCoordinate(name: string, values: readonly string[]): CoordinateInfo {
  const sorted = [...new Set(values)].sort(codePointOrder)
  const rank = new Map(sorted.map((value, i) => [value, i]))
  const ranks = Float64Array.from(values, (value) => rank.get(value) as number)
  return { index: coordinateIndex(name, ranks, false), strings: { values, sorted } }
}

/**
 * Strings in code point order, as Python compares them (JS's `<` compares UTF-16 units, which puts
 * characters past U+FFFF before U+E000..U+FFFF): surrogates are moved above the rest of the BMP.
 */
function codePointOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

/** A string label's rank; one the coordinate lacks falls half-way between its neighbours. */
function stringRank(sorted: readonly string[], label: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (codePointOrder(sorted[mid] as string, label) < 0) lo = mid + 1
    else hi = mid
  }
  return sorted[lo] === label ? lo : lo - 0.5
}

/** The coordinate's value at a stored position: a number, a string, or a decoded time (undefined for NaT). */
export function coordinateValue(coord: CoordinateInfo, position: number): CoordinateValue {
  if (coord.strings !== undefined) return coord.strings.values[position]
  const value = coord.index.values[position] as number
  if (coord.time === undefined) return value
  return decodeTimesWithNaT([coord.time.raw?.[position] ?? value], coord.time.units, coord.time.calendar)[0]
}

/** A label as a number in the coordinate's units. */
export function labelValue(coord: CoordinateInfo, label: Label): number {
  if (coord.strings !== undefined) {
    if (typeof label !== 'string') {
      throw new InvalidArgumentError(
        `coordinate ${JSON.stringify(coord.index.name)} holds strings: give a string, got ${describeValue(label)}`,
      )
    }
    return stringRank(coord.strings.sorted, label)
  }
  if (typeof label === 'number' || typeof label === 'bigint') {
    const ranks = coord.time?.ranks
    if (ranks === undefined) return Number(label)
    const exact = typeof label === 'bigint' ? { numerator: label, denominator: 1n } : exactNumber(label)
    return exact === undefined ? (label as number) : rankOf(ranks, exact)
  }
  if (typeof label === 'string' || label instanceof Date || label instanceof CFDatetime) {
    if (coord.time === undefined) {
      throw new InvalidArgumentError(
        `coordinate ${JSON.stringify(coord.index.name)} is not a CF time (no "<unit> since <date>" units): give a number, got ${labelText(label)}`,
      )
    }
    return timeValue(coord.time, label)
  }
  throw new InvalidArgumentError(
    `label for ${JSON.stringify(coord.index.name)} must be a number, a time string, a Date or a CFDatetime, got ${describeValue(label)}`,
  )
}

/** A time as the index holds it: in the coordinate's units, less its `base` when it has one, or its rank. */
export function timeValue(
  time: NonNullable<CoordinateInfo['time']>,
  label: string | Date | CFDatetime,
): number {
  const { units, calendar, base, ranks } = time
  if (base !== undefined) return offsetTime(label, units, calendar, base)
  if (ranks !== undefined) return rankOf(ranks, exactTime(label, units, calendar))
  return encodeTime(label, units, calendar)
}

/** {@link decodedEdge} in the index's numbers (see {@link timeValue}). */
export function timeEdge(
  time: NonNullable<CoordinateInfo['time']>,
  instant: CFDatetime,
  side: 'first' | 'last',
): number {
  const { units, calendar, base, ranks } = time
  if (base !== undefined) return offsetEdge(instant, units, calendar, base, side)
  if (ranks !== undefined)
    return rankOf(ranks, { numerator: integerEdge(instant, units, calendar, side), denominator: 1n })
  return decodedEdge(instant, units, calendar, side)
}

/** An exact rational: `numerator / denominator`. */
export type Fraction = { numerator: bigint; denominator: bigint }

/** A finite double as the exact fraction it is (m·2^e: doubled until whole); undefined for NaN, ±Infinity. */
function exactNumber(x: number): Fraction | undefined {
  if (!Number.isFinite(x)) return undefined
  let whole = x
  let denominator = 1n
  while (!Number.isInteger(whole)) {
    whole *= 2
    denominator *= 2n
  }
  return { numerator: BigInt(whole), denominator }
}

/**
 * The rank of a value among sorted integers: its own where held; between two, a quarter from the
 * nearer (half-way when as near both), so `nearest` in ranks picks as pandas does in values.
 */
export function rankOf(sorted: ArrayLike<bigint>, { numerator, denominator }: Fraction): number {
  const scaled = (i: number): bigint => (sorted[i] as bigint) * denominator
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (scaled(mid) < numerator) lo = mid + 1
    else hi = mid
  }
  if (lo < sorted.length && scaled(lo) === numerator) return lo
  if (lo === 0 || lo === sorted.length) return lo - 0.5
  const below = numerator - scaled(lo - 1)
  const above = scaled(lo) - numerator
  return lo - (below < above ? 0.75 : below > above ? 0.25 : 0.5)
}

const INT64 = 2n ** 63n

/** Whether the time at stored `position` lies less than 2^63 ns from time `label` (an int64 of pandas holds their distance). */
export function withinNanoseconds(
  coord: CoordinateInfo,
  label: string | Date | CFDatetime,
  position: number,
): boolean {
  const time = coord.time as NonNullable<CoordinateInfo['time']>
  const held = coordinateValue(coord, position)
  if (!(held instanceof CFDatetime)) return true
  const at = (date: string | Date | CFDatetime): bigint =>
    exactTime(date, time.units, time.calendar).numerator
  const ns = (at(held) - at(label)) * 1000n
  return ns < INT64 && ns >= -INT64
}

/** Whether the ranked time at stored `position` lies within `tolerance` units of `label`, exactly. */
export function withinTolerance(
  coord: CoordinateInfo,
  label: Label,
  position: number,
  tolerance: number,
): boolean {
  const time = coord.time as NonNullable<CoordinateInfo['time']>
  const held = time.raw?.[position] as bigint
  const value =
    typeof label === 'bigint'
      ? { numerator: label, denominator: 1n }
      : typeof label === 'number'
        ? exactNumber(label)
        : exactTime(label as string | Date | CFDatetime, time.units, time.calendar)
  const limit = exactNumber(tolerance)
  if (value === undefined || limit === undefined) return tolerance === Number.POSITIVE_INFINITY
  const gap = held * value.denominator - value.numerator
  return (gap < 0n ? -gap : gap) * limit.denominator <= limit.numerator * value.denominator
}

/** A label as messages show it. */
export function labelText(label: unknown): string {
  if (typeof label === 'string') return JSON.stringify(label.length > 100 ? `${label.slice(0, 100)}…` : label)
  if (label instanceof Date) return Number.isNaN(label.getTime()) ? 'Invalid Date' : label.toISOString()
  if (label instanceof CFDatetime) return label.toISOString()
  return String(label)
}

/** Decoded coordinate values of the positions `from..to` of a view's dimension. */
export function coordinateSlice(
  coord: CoordinateInfo,
  selection: DimSelection,
  from = 0,
  to = sizeOf(selection),
): CoordinateValue[] {
  const strings = coord.strings?.values
  if (strings !== undefined) {
    return Array.from({ length: to - from }, (_, i) => strings[positionAt(selection, from + i)])
  }
  const stored = coord.time?.raw ?? coord.index.values
  const values = Array.from(
    { length: to - from },
    (_, i) => stored[positionAt(selection, from + i)] as number | bigint,
  )
  if (coord.time === undefined) return values as number[]
  return decodeTimesWithNaT(values, coord.time.units, coord.time.calendar)
}
