// Turning a time value into whole microseconds exactly as cftime 1.6's num2date does: floats are
// scaled in x87 long double (64-bit significand), rounded half to even, and for units of a second
// or longer a result 1 µs off a whole second snaps to it (cftime issue 187); integers are exact.
import { InvalidValueError } from '../errors.js'

const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)
/** The int64 NaT sentinel once it is a double (coordinates are held as doubles). */
export const NAT_AS_NUMBER = -(2 ** 63)
const bits = new DataView(new ArrayBuffer(8))

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length
}

/** `value / 2^shift` (value >= 0) rounded to an integer, half to even. */
function shiftRoundHalfEven(value: bigint, shift: number): bigint {
  if (shift <= 0) return value << BigInt(-shift)
  const s = BigInt(shift)
  const quotient = value >> s
  const remainder = value - (quotient << s)
  const half = 1n << (s - 1n)
  return remainder > half || (remainder === half && (quotient & 1n) === 1n) ? quotient + 1n : quotient
}

/** A finite non-integer double as `mantissa * 2^exponent` with an integer mantissa. */
function decompose(value: number): { mantissa: bigint; exponent: number } {
  bits.setFloat64(0, value)
  const high = bits.getUint32(0)
  const low = bits.getUint32(4)
  const biased = (high >>> 20) & 0x7ff
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low)
  if (biased !== 0) mantissa |= 1n << 52n
  const signed = value < 0 ? -mantissa : mantissa
  return { mantissa: signed, exponent: (biased === 0 ? 1 : biased) - 1075 }
}

/**
 * Whole microseconds of `value` units of `factor` µs, or undefined for NaN and ±Infinity (cftime
 * masks them) and for the int64 NaT sentinel. `snap` is cftime's rule for units of a second or more. Beyond int64: InvalidValueError.
 */
export function toMicroseconds(
  value: number | bigint,
  factor: number,
  snap: boolean,
  index: number,
): number | bigint | undefined {
  // -2^63 is NaT: xarray (through pandas) decodes it so, and writes it for missing times.
  if (typeof value === 'bigint')
    return value === INT64_MIN ? undefined : checked(value * BigInt(factor), value, index)
  if (typeof value !== 'number')
    throw new InvalidValueError(`time value ${index}: expected a number, got ${typeof value}`)
  if (!Number.isFinite(value)) return undefined
  // The same NaT after an int64 became a float64 (coordinates are held so): exactly -2^63.
  if (value === NAT_AS_NUMBER) return undefined
  if (Number.isInteger(value)) {
    const product = value * factor
    if (Math.abs(product) <= Number.MAX_SAFE_INTEGER) return product
    return checked(BigInt(value) * BigInt(factor), value, index)
  }
  const quick = roundedProduct(value, factor, snap)
  if (quick !== undefined) return quick
  // The product rounded to a 64-bit significand, as `mantissa * 2^exponent`.
  const parts = decompose(value)
  let mantissa = parts.mantissa * BigInt(factor)
  let exponent = parts.exponent
  const negative = mantissa < 0n
  const magnitude = negative ? -mantissa : mantissa
  const excess = bitLength(magnitude) - 64
  if (excess > 0) {
    const rounded = shiftRoundHalfEven(magnitude, excess)
    mantissa = negative ? -rounded : rounded
    exponent += excess
  }
  const abs = negative ? -mantissa : mantissa
  if (exponent >= 0) return checked(mantissa << BigInt(exponent), value, index)
  const nearest = shiftRoundHalfEven(abs, -exponent)
  let result = negative ? -nearest : nearest
  if (snap) {
    const micro = ((result % 1_000_000n) + 1_000_000n) % 1_000_000n
    const floor = mantissa >> BigInt(-exponent) // BigInt >> floors toward -infinity
    const exact = floor << BigInt(-exponent) === mantissa
    if (micro === 1n) result = floor
    else if (micro === 999_999n) result = exact ? floor : floor + 1n
  }
  return checked(result, value, index)
}

/**
 * The fast path of the above in doubles: `value * factor = product + error` exactly (Dekker's
 * two-product), and when that sum is clear of a rounding tie (and of the snap rule), long double
 * rounding cannot change the nearest integer. Undefined sends the value to the exact path.
 */
function roundedProduct(value: number, factor: number, snap: boolean): number | undefined {
  const product = value * factor
  // Below 2^53 a long double resolves 2^-10, far inside the margin kept from ties below.
  if (!(Math.abs(product) < 2 ** 53) || Math.abs(value) < 2 ** -500) return undefined
  const [valueHigh, valueLow] = split(value)
  const [factorHigh, factorLow] = split(factor)
  const error =
    valueHigh * factorHigh - product + valueHigh * factorLow + valueLow * factorHigh + valueLow * factorLow
  const floor = Math.floor(product)
  const fraction = product - floor + error // in (-0.5, 1.5): |error| <= half an ulp of product
  if (Math.abs(fraction - Math.floor(fraction) - 0.5) < 2 ** -8) return undefined
  const rounded = floor + Math.round(fraction)
  if (snap) {
    const micro = ((rounded % 1e6) + 1e6) % 1e6
    if (micro === 1 || micro === 999_999) return undefined
  }
  return rounded + 0
}

function split(value: number): [high: number, low: number] {
  const scaled = 134_217_729 * value // 2^27 + 1
  const high = scaled - (scaled - value)
  return [high, value - high]
}

function checked(microseconds: bigint, value: number | bigint, index: number): number | bigint {
  if (microseconds > INT64_MAX || microseconds < INT64_MIN) {
    throw new InvalidValueError(`time value ${index} (${value}) is outside the range of 64-bit microseconds`)
  }
  const asNumber = Number(microseconds)
  return Number.isSafeInteger(asNumber) ? asNumber : microseconds
}

/** `numerator / denominator` as the nearest double, as Python's int / int (correctly rounded). */
export function divideRounded(numerator: bigint, denominator: bigint): number {
  const negative = numerator < 0n !== denominator < 0n
  const a = numerator < 0n ? -numerator : numerator
  const b = denominator < 0n ? -denominator : denominator
  if (a <= BigInt(Number.MAX_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const quotient = Number(a) / Number(b)
    return negative ? -quotient : quotient
  }
  // 56+ quotient bits with a sticky bit for the remainder: Number() then rounds exactly once.
  const shift = Math.max(0, 56 - (bitLength(a) - bitLength(b)))
  const scaled = a << BigInt(shift)
  let quotient = scaled / b
  if (quotient * b !== scaled) quotient |= 1n
  const result = Number(quotient) / 2 ** shift
  return negative ? -result : result
}
