// Which positions of one stored dimension a view keeps: one (the dimension is dropped), an evenly
// stepped range (down when its step is negative), or a list. Views compose: an `isel` on a view maps through what it already keeps,
// so nothing is read until values are asked for.
import { InvalidArgumentError } from '../errors.js'

export type DimSelection =
  | { readonly kind: 'point'; readonly index: number }
  | { readonly kind: 'range'; readonly start: number; readonly step: number; readonly count: number }
  | { readonly kind: 'list'; readonly indices: readonly number[] }

/**
 * A positional slice, Python style: `stop` excluded, negatives count from the end, `step` a nonzero
 * integer (a negative one runs backwards from `start`, the last position by default, as NumPy's).
 */
export interface IndexSlice {
  start?: number
  stop?: number
  step?: number
}

/** What `isel` takes for a dimension: a position, a list of positions or a slice of them. */
export type PositionIndexer = number | readonly number[] | IndexSlice

export function fullRange(size: number): DimSelection {
  return { kind: 'range', start: 0, step: 1, count: size }
}

export function sizeOf(selection: DimSelection): number {
  return selection.kind === 'point'
    ? 1
    : selection.kind === 'range'
      ? selection.count
      : selection.indices.length
}

/** The stored position of the view's `i`-th position. */
export function positionAt(selection: DimSelection, i: number): number {
  if (selection.kind === 'point') return selection.index
  if (selection.kind === 'range') return selection.start + i * selection.step
  return selection.indices[i] as number
}

function checkPosition(i: number, size: number, dim: string): number {
  if (!Number.isSafeInteger(i) || i < -size || i >= size) {
    throw new InvalidArgumentError(
      `index ${String(i)} is out of bounds for dimension ${JSON.stringify(dim)} of size ${size}`,
    )
  }
  return i < 0 ? i + size : i
}

/** A slice end as a position, clamped to `floor`..size (a backward slice's floor is -1: before 0). */
function sliceEnd(
  value: number | undefined,
  fallback: number,
  size: number,
  what: string,
  floor = 0,
): number {
  if (value === undefined || value === null) return fallback
  if (!Number.isSafeInteger(value))
    throw new InvalidArgumentError(`slice ${what} must be an integer, got ${value}`)
  const v = value < 0 ? value + size : value
  return Math.min(Math.max(v, floor), size)
}

/** Positions of the view (0..size) that `indexer` picks, as a selection relative to the view. */
export function resolvePositions(indexer: PositionIndexer, size: number, dim: string): DimSelection {
  if (typeof indexer === 'number') return { kind: 'point', index: checkPosition(indexer, size, dim) }
  if (Array.isArray(indexer)) {
    return { kind: 'list', indices: indexer.map((i: number) => checkPosition(i, size, dim)) }
  }
  if (typeof indexer === 'object' && indexer !== null) {
    const { start, stop, step = 1 } = indexer as IndexSlice
    if (!Number.isSafeInteger(step) || step === 0) {
      throw new InvalidArgumentError(
        `slice step for ${JSON.stringify(dim)} must be a nonzero integer, got ${step}`,
      )
    }
    if (step < 0) {
      // Python's slice.indices: the ends clamp to -1..size-1 (a range running down, as sel's backward slices).
      const from = Math.min(sliceEnd(start, size - 1, size, 'start', -1), size - 1)
      const to = Math.min(sliceEnd(stop, -1, size, 'stop', -1), size - 1)
      return { kind: 'range', start: from, step, count: from > to ? Math.ceil((from - to) / -step) : 0 }
    }
    const from = sliceEnd(start, 0, size, 'start')
    const to = sliceEnd(stop, size, size, 'stop')
    return { kind: 'range', start: from, step, count: to > from ? Math.ceil((to - from) / step) : 0 }
  }
  throw new InvalidArgumentError(
    `indexer for ${JSON.stringify(dim)} must be an integer, an array of integers or { start, stop, step }`,
  )
}

/** `inner` (positions of the view) mapped through `outer` (the view's stored positions). */
export function compose(outer: DimSelection, inner: DimSelection): DimSelection {
  if (outer.kind === 'point') throw new Error('a dropped dimension cannot be selected again')
  if (inner.kind === 'point') return { kind: 'point', index: positionAt(outer, inner.index) }
  if (inner.kind === 'list') return { kind: 'list', indices: inner.indices.map((i) => positionAt(outer, i)) }
  if (outer.kind === 'range') {
    return {
      kind: 'range',
      start: outer.start + inner.start * outer.step,
      step: outer.step * inner.step,
      count: inner.count,
    }
  }
  const indices: number[] = []
  for (let k = 0; k < inner.count; k++) indices.push(outer.indices[inner.start + k * inner.step] as number)
  return { kind: 'list', indices }
}
