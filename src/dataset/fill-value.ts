// Fill values as numbers. Zarr v3 writes a float array's `fill_value` as a number, 'NaN',
// 'Infinity', '-Infinity' or '0x…' (the IEEE bits, big-endian); xarray (zarr format 3) writes a
// float variable's `_FillValue` attribute as base64 of the little-endian float64 ('AAAAAAAA+H8=' is NaN).
import { base64pad } from 'multiformats/bases/base64'
import { InvalidValueError } from '../errors.js'

/** Zarr v3 numeric data types (and bool), as in an array's `data_type`. */
export type ZarrDataType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'

const NAMED: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
}

export const isFloatType = (type: string): boolean =>
  type === 'float16' || type === 'float32' || type === 'float64'
export const isIntegerType = (type: string): boolean => /^u?int(8|16|32|64)$/.test(type)

/**
 * A fill value as a number (bigint for 64-bit integers beyond 2^53, boolean for bool), from any of the
 * forms Zarr v3 metadata and xarray's attributes use; undefined for null/undefined. `what` names the
 * attribute for the error a malformed value gets (InvalidValueError).
 *
 * @example
 * ```ts
 * decodeFillValue('AAAAAICHw8A=', 'float32', '_FillValue') // -9999
 * decodeFillValue('0x7fc00000', 'float32', 'fill_value') // NaN
 * ```
 */
export function decodeFillValue(
  value: unknown,
  dataType: string,
  what = 'fill value',
): number | bigint | boolean | undefined {
  const decoded = decodeAny(value, dataType, what)
  if (typeof decoded === 'number' && isIntegerType(dataType) && !Number.isInteger(decoded)) {
    throw new InvalidValueError(`${what}: ${decoded} is not an integer for a ${dataType} array`)
  }
  return decoded
}

function decodeAny(value: unknown, dataType: string, what: string): number | bigint | boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'boolean' && dataType === 'bool') return value
  if (typeof value === 'bigint') return isIntegerType(dataType) ? value : Number(value)
  if (typeof value === 'number') return value
  if (typeof value !== 'string') {
    throw new InvalidValueError(`${what}: expected a number or a string, got ${typeof value}`)
  }
  if (Object.hasOwn(NAMED, value)) return NAMED[value]
  if (/^0x[0-9a-fA-F]+$/.test(value)) return fromHexBits(value, dataType, what)
  if (isFloatType(dataType) && value.length <= 24) return fromBase64(value, what)
  if (isIntegerType(dataType) && /^-?[0-9]{1,20}$/.test(value)) return integerText(value)
  throw new InvalidValueError(
    `${what}: cannot read ${JSON.stringify(value.slice(0, 40))} as a ${dataType} value`,
  )
}

function integerText(text: string): number | bigint {
  const asNumber = Number(text)
  return Number.isSafeInteger(asNumber) ? asNumber : BigInt(text)
}

function fromHexBits(hex: string, dataType: string, what: string): number {
  const bytes = (hex.length - 2) / 2
  const view = new DataView(new ArrayBuffer(8))
  if (dataType === 'float32' && bytes === 4) {
    view.setUint32(0, Number.parseInt(hex.slice(2), 16))
    return view.getFloat32(0)
  }
  if (dataType === 'float64' && bytes === 8) {
    view.setBigUint64(0, BigInt(hex))
    return view.getFloat64(0)
  }
  if (dataType === 'float16' && bytes === 2) return fromHalfBits(Number.parseInt(hex.slice(2), 16))
  throw new InvalidValueError(`${what}: hex ${hex} is not the width of a ${dataType}`)
}

function fromBase64(text: string, what: string): number {
  let bytes: Uint8Array
  try {
    bytes = base64pad.baseDecode(text)
  } catch (error) {
    throw new InvalidValueError(`${what}: ${JSON.stringify(text)} is neither a number nor base64`, {
      cause: error,
    })
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length === 8) return view.getFloat64(0, true)
  if (bytes.length === 4) return view.getFloat32(0, true)
  throw new InvalidValueError(
    `${what}: base64 ${JSON.stringify(text)} holds ${bytes.length} bytes, not a float`,
  )
}

/** The number an IEEE half float's 16 bits hold (every one is exact in a float32, and in a double). */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

/**
 * The bits of the half float nearest `x` (ties to even, as NumPy's float16 cast and Math.f16round;
 * past 65520 infinity), straight from the double: rounding through a float32 first could round twice.
 */
export function toHalfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0
  const a = Math.abs(x)
  if (a >= 65520) return sign | 0x7c00
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24) // subnormal; 0x400 is the least normal
  // The double's own exponent: Math.log2 can be off by one just below a power of two.
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, a)
  let exponent = ((view.getUint16(0) >> 4) & 0x7ff) - 1023
  let significand = roundHalfEven(a * 2 ** (10 - exponent)) // 1024..2048, exact before rounding
  if (significand === 2048) {
    exponent++
    significand = 1024
  }
  return sign | ((exponent + 15) << 10) | (significand - 1024)
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v)
  const rest = v - floor
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor
}

/** `Math.f16round` where the runtime lacks it (before Node 24): `x` rounded to the nearest half float. */
export const f16round: (x: number) => number =
  (Math as { f16round?: (x: number) => number }).f16round ?? ((x) => fromHalfBits(toHalfBits(x)))
