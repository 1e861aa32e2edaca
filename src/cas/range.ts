import { InvalidArgumentError, RangeNotSatisfiableError } from '../errors.js'
import { plainView } from './id.js'
import type { ByteRange } from './interface.js'

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Rejects a range that is not one of the three documented shapes with non-negative integers. */
export function checkByteRange(range: unknown): asserts range is ByteRange {
  if (typeof range !== 'object' || range === null) {
    throw new InvalidArgumentError('range must be { offset, length? } or { suffix }')
  }
  const r = range as Record<string, unknown>
  if ('suffix' in r) {
    if ('offset' in r || 'length' in r) {
      throw new InvalidArgumentError('range: give either { suffix } or { offset, length? }, not both')
    }
    if (!isNonNegativeInteger(r.suffix)) {
      throw new InvalidArgumentError(`range.suffix must be a non-negative integer, got ${String(r.suffix)}`)
    }
    return
  }
  if (!isNonNegativeInteger(r.offset)) {
    throw new InvalidArgumentError(`range.offset must be a non-negative integer, got ${String(r.offset)}`)
  }
  if (r.length !== undefined && !isNonNegativeInteger(r.length)) {
    throw new InvalidArgumentError(`range.length must be a non-negative integer, got ${String(r.length)}`)
  }
}

/**
 * The `[start, end)` byte positions a range selects in a value of `size` bytes. Every path that
 * slices a value goes through here, so a malformed range (see {@link checkByteRange}) is an
 * InvalidArgumentError on all of them, and a range reaching outside the value a RangeNotSatisfiableError.
 */
export function resolveByteRange(range: ByteRange, size: number): [number, number] {
  checkByteRange(range)
  if ('suffix' in range) {
    if (range.suffix > size) {
      throw new RangeNotSatisfiableError(
        `range: last ${range.suffix} bytes requested of a ${size}-byte value`,
      )
    }
    return [size - range.suffix, size]
  }
  const end = range.length === undefined ? size : range.offset + range.length
  if (range.offset > size || end > size) {
    const what = range.length === undefined ? `offset ${range.offset}` : `bytes ${range.offset}..${end}`
    throw new RangeNotSatisfiableError(`range: ${what} requested of a ${size}-byte value`)
  }
  return [range.offset, end]
}

/** A copy of the bytes a range selects, under the same bounds rules as {@link resolveByteRange}. */
export function sliceByteRange(bytes: Uint8Array, range: ByteRange): Uint8Array {
  const [start, end] = resolveByteRange(range, bytes.length)
  // Through a plain view: a Buffer's own slice is a view, not the copy this promises.
  return plainView(bytes).slice(start, end)
}
