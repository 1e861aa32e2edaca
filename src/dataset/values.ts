// Stored values to the doubles a view hands out: xarray's decode_cf through cf.ts (scale and offset,
// fill values NaN), then one Float64Array whatever the decoded dtype (int64 beyond 2^53 rounds).
import { type CFDecoded, type CFValueDecoder, cfValueDecoder, type NumericArray } from './cf.js'

/** A variable's CF decoder, made on first use: a malformed attribute fails the reads of that variable only. */
export function lazyDecoder(
  attrs: Readonly<Record<string, unknown>>,
  dtype: string,
  fillValue: unknown,
  fillValueAsMask: boolean,
): () => CFValueDecoder {
  let decoder: CFValueDecoder | undefined
  return () => {
    decoder ??= cfValueDecoder({ ...attrs }, dtype, fillValue, { fillValueAsMask })
    return decoder
  }
}

/** Decoded doubles, written into `into` (as long as `raw`) when given, else into a new array where needed. */
export function decodeToFloat64(
  decoder: CFValueDecoder,
  raw: NumericArray,
  into?: Float64Array,
): Float64Array {
  return decodedToFloat64(decoder.decode(raw), raw, into)
}

/** {@link decodeToFloat64} of values already decoded from `raw`. */
export function decodedToFloat64(
  { values, mask }: CFDecoded,
  raw: NumericArray,
  into?: Float64Array,
): Float64Array {
  const out =
    into !== undefined
      ? toFloat64(values, into)
      : values instanceof Float64Array && values !== raw
        ? values
        : toFloat64(values)
  if (mask !== undefined) for (let i = 0; i < mask.length; i++) if (mask[i] === 1) out[i] = Number.NaN
  return out
}

/**
 * The values as doubles: a native conversion, except for 64-bit integers (BigInt elements).
 * `Float64Array.from(values, Number)` calls the function per element: 3 s of a 26M-value read.
 */
function toFloat64(values: NumericArray, into?: Float64Array): Float64Array {
  if (!(values instanceof BigInt64Array || values instanceof BigUint64Array)) {
    if (into === undefined) return new Float64Array(values)
    into.set(values)
    return into
  }
  const out = into ?? new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i])
  return out
}
