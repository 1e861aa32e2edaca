// CF value decoding as xarray's decode_cf (mask_and_scale) does it for Zarr v3 data: `_Unsigned`,
// then `_FillValue`/`missing_value` to NaN, then `scale_factor`/`add_offset`, with xarray's choice of
// the decoded dtype. No I/O: the caller reads chunks and hands their typed arrays to `decode`.
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { decodeFillValue, f16round, isFloatType, isIntegerType, type ZarrDataType } from './fill-value.js'

export { decodeFillValue, type ZarrDataType } from './fill-value.js'

/** A chunk's values as zarrita gives them, and the decoded values. */
export type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array

/** Decoded values, and where a variable declares fill values, which of them were missing (1). */
export interface CFDecoded {
  values: NumericArray
  mask?: Uint8Array
}

/** How a variable's stored values become its values, from its attributes. */
export interface CFValueDecoder {
  /** The stored data type (the array's `data_type`). */
  readonly dataType: string
  /** The decoded dtype, as xarray chooses it: 'float32', 'float64', 'int64' (times with fills) or a stored type. */
  readonly dtype: string
  /** `_FillValue` as a number (xarray's base64 and Zarr's 'NaN'/hex forms decoded), if declared. */
  readonly fillValue: number | bigint | undefined
  /** `missing_value` as numbers, if declared (CF allows a list). */
  readonly missingValues: Array<number | bigint> | undefined
  /** The array's own `fill_value` as a number; xarray does not mask with it for Zarr v3, nor do we. */
  readonly zarrFillValue: number | bigint | boolean | undefined
  readonly scaleFactor: number | undefined
  readonly addOffset: number | undefined
  /** Whether `_Unsigned` reinterprets the stored integers (netCDF's convention for unsigned bytes). */
  readonly reinterpretSign: boolean
  /** Whether the units are '<unit> since <date>': integer times with fills keep int64 with NaT (-2^63) as xarray does. */
  readonly timeLike: boolean
  /** Whether decode returns its input unchanged. */
  readonly identity: boolean
  /** Decodes one chunk's values; with `identity`, the input array itself is returned. */
  decode(raw: NumericArray): CFDecoded
}

const NAT = -(2n ** 63n)

/** Options of {@link cfValueDecoder}. */
export interface CFDecodeOptions {
  /**
   * Mask with the array's own `fill_value` (over a `_FillValue` attribute; that one only when
   * `fill_value` is null), as xarray does for Zarr v2. Off by default, as xarray for Zarr v3.
   */
  fillValueAsMask?: boolean
}

/** A Zarr fill value as the array stores it (xarray compares with the float32 itself for float32 arrays). */
/** A `_FillValue` attribute; on a Zarr v3 bool a number is Python's bool() of it, as xarray reads it (NaN: True). */
function attributeFill(value: unknown, dataType: string, v2: boolean): number | bigint | boolean | undefined {
  if (dataType === 'bool' && !v2 && typeof value === 'number') return value !== 0
  return decodeFillValue(value, dataType, '_FillValue')
}

function inStoredType(
  value: number | bigint | boolean | undefined,
  dataType: string,
): number | bigint | boolean | undefined {
  return dataType === 'float32' && typeof value === 'number' ? Math.fround(value) : value
}

/**
 * The CF decoder of a variable from its attributes, its Zarr `data_type` and its Zarr `fill_value`
 * (any JSON form; with `fillValueAsMask`, the Zarr v2 mask). Malformed attributes (a string scale_factor, an undecodable _FillValue) are an
 * InvalidValueError naming the attribute.
 *
 * Deviations from xarray: attributes come from JSON, where `2` and `2.0` are the same, so an integer
 * `scale_factor` decodes to float64 (xarray gives int64 and truncates float data); a float
 * `_FillValue` given as a plain number is accepted (xarray expects base64 there).
 *
 * @example
 * ```ts
 * const decoder = cfValueDecoder({ scale_factor: 0.25, add_offset: 10, _FillValue: -32768 }, 'int16', 0)
 * decoder.decode(new Int16Array([2, -32768])) // { values: Float64Array [10.5, NaN], mask: Uint8Array [0, 1] }
 * ```
 */
export function cfValueDecoder(
  attrs: Record<string, unknown>,
  dataType: ZarrDataType | string,
  fillValue?: unknown,
  options: CFDecodeOptions = {},
): CFValueDecoder {
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new InvalidArgumentError('attrs: expected the variable attributes as an object')
  }
  if (typeof dataType !== 'string')
    throw new InvalidArgumentError('dataType: expected a Zarr data_type string')
  const zarrFillValue = decodeFillValue(fillValue, dataType, 'fill_value')
  const fill =
    // xarray sets _FillValue from a v2 fill_value that is not null, whatever .zattrs said.
    options.fillValueAsMask && (zarrFillValue !== undefined || attrs._FillValue === undefined)
      ? inStoredType(zarrFillValue, dataType)
      : attributeFill(attrs._FillValue, dataType, options.fillValueAsMask === true)
  const missingValues = missingValuesOf(attrs.missing_value, dataType)
  const scaleFactor = scalarAttribute(attrs.scale_factor, 'scale_factor')
  const addOffset = scalarAttribute(attrs.add_offset, 'add_offset')
  const scaled = scaleFactor !== undefined || addOffset !== undefined
  const units = attrs.units
  // xarray's test: re.match('(.+) since (.+)', units)
  const timeLike = typeof units === 'string' && /^.+ since ./.test(units.slice(0, 1000))
  const unsigned = attrs._Unsigned
  const storedType = signConverted(dataType, unsigned)
  const reinterpretSign = storedType !== dataType
  const fills = encodedFills(fill, missingValues, storedType, dataType)
  const integer = isIntegerType(storedType)
  let dtype = storedType
  if (fills.length > 0) dtype = scaled ? 'float64' : timeLike && integer ? 'int64' : promoted(storedType)
  // As xarray: a declared fill (even NaN alone, which masks nothing) keeps the masked dtype for the
  // scaling, so float32 data with _FillValue NaN and add_offset stays float32.
  const declared = [fill, ...(missingValues ?? [])].some(
    (value) => value !== undefined && (!integer || typeof value === 'bigint' || !Number.isNaN(value)),
  )
  if (scaled && (!declared || timeLike)) dtype = 'float64'
  const identity = !reinterpretSign && fills.length === 0 && !scaled
  return {
    dataType,
    dtype,
    fillValue: typeof fill === 'boolean' ? Number(fill) : fill,
    missingValues,
    zarrFillValue,
    scaleFactor,
    addOffset,
    reinterpretSign,
    timeLike,
    identity,
    decode(raw: NumericArray): CFDecoded {
      checkArray(raw, dataType)
      if (identity) return { values: raw }
      const data = reinterpretSign ? reinterpret(raw, storedType) : raw
      if (dtype === 'int64' && fills.length > 0) return maskTimes(data, fills)
      const { values, mask } =
        fills.length > 0 ? maskToFloat(data, fills, dtype, storedType) : { values: data, mask: undefined }
      if (!scaled) return mask === undefined ? { values } : { values, mask }
      const out = scaleAndOffset(values, dtype, scaleFactor, addOffset, values === raw || values === data)
      return mask === undefined ? { values: out } : { values: out, mask }
    },
  }
}

/** `values * scale + offset` in `dtype` (float32 arithmetic rounds each step, as NumPy's in-place ops). */
function scaleAndOffset(
  values: NumericArray,
  dtype: string,
  scale: number | undefined,
  offset: number | undefined,
  copy: boolean,
): Float32Array | Float64Array {
  const single = dtype === 'float32'
  const out =
    !copy && (single ? values instanceof Float32Array : values instanceof Float64Array)
      ? (values as Float32Array | Float64Array)
      : single
        ? Float32Array.from(values as ArrayLike<number>, Number)
        : Float64Array.from(values as ArrayLike<number>, Number)
  // float16 stays float16 where xarray keeps it (a _FillValue beside the scale): each step rounded,
  // the attributes too (Math.f16round, or where the runtime lacks it the same rounding of ours).
  const half = dtype === 'float16' ? f16round : undefined
  const round = half ?? (single ? Math.fround : undefined)
  const factor = round !== undefined && scale !== undefined ? round(scale) : scale
  const shift = round !== undefined && offset !== undefined ? round(offset) : offset
  for (let i = 0; i < out.length; i++) {
    let value = out[i] as number
    if (factor !== undefined) value = round !== undefined ? round(value * factor) : value * factor
    if (shift !== undefined) value = half !== undefined ? half(value + shift) : value + shift
    out[i] = value // a Float32Array rounds the sum on store
  }
  return out
}

function scalarAttribute(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined
  const item = Array.isArray(value) && value.length === 1 ? value[0] : value
  if (typeof item === 'number') return item
  if (typeof item === 'bigint') return Number(item)
  throw new InvalidValueError(`${name}: expected a number, got ${JSON.stringify(value)?.slice(0, 60)}`)
}

function missingValuesOf(value: unknown, dataType: string): Array<number | bigint> | undefined {
  if (value === undefined || value === null) return undefined
  const items = Array.isArray(value) ? value : [value]
  if (items.length > 4096)
    throw new InvalidValueError(`missing_value: ${items.length} values, expected a few`)
  return items.map((item) => {
    const decoded = decodeFillValue(item, isFloatType(dataType) ? 'float64' : dataType, 'missing_value')
    return typeof decoded === 'boolean' ? Number(decoded) : (decoded as number | bigint)
  })
}

/** The stored type after `_Unsigned`: 'true' makes signed integers unsigned, 'false' the reverse. */
function signConverted(dataType: string, unsigned: unknown): string {
  if (unsigned === undefined || !isIntegerType(dataType)) return dataType
  const value = String(unsigned).toLowerCase()
  if (dataType.startsWith('int') && value === 'true') return `u${dataType}`
  if (dataType.startsWith('uint') && value === 'false') return dataType.slice(1)
  return dataType
}

/**
 * The fill values to mask, as xarray's set: NaN is dropped (NaN data is already missing). With
 * `_Unsigned`, xarray reinterprets `_FillValue` like the data but leaves `missing_value` as written.
 */
function encodedFills(
  fill: number | bigint | boolean | undefined,
  missing: Array<number | bigint> | undefined,
  storedType: string,
  dataType: string,
): Array<number | bigint> {
  const key = (value: number | bigint): number | bigint =>
    typeof value === 'bigint' && Number.isSafeInteger(Number(value)) ? Number(value) : value
  const isValue = (value: number | bigint): boolean => typeof value === 'bigint' || !Number.isNaN(value)
  const fills = new Set((missing ?? []).filter(isValue).map(key))
  const fillValue = typeof fill === 'boolean' ? Number(fill) : fill
  if (fillValue !== undefined && isValue(fillValue)) {
    if (storedType === dataType) fills.add(key(fillValue))
    else {
      fills.delete(key(fillValue))
      fills.add(key(reinterpretScalar(fillValue, dataType, storedType)))
    }
  }
  return [...fills]
}

function reinterpretScalar(value: number | bigint, from: string, to: string): number | bigint {
  const source = typedArrayOf(from, 1)
  source[0] = (typeof source[0] === 'bigint' ? BigInt(value) : Number(value)) as never
  if (source[0] !== (typeof source[0] === 'bigint' ? BigInt(value) : Number(value))) {
    throw new InvalidValueError(`_FillValue: ${value} is not a ${from} value`)
  }
  return reinterpret(source, to)[0] as number | bigint
}

const promoted = (type: string): string =>
  isFloatType(type)
    ? type === 'float64'
      ? 'float64'
      : 'float32'
    : /^u?int(8|16)$/.test(type)
      ? 'float32'
      : 'float64'

function maskToFloat(
  data: NumericArray,
  fills: Array<number | bigint>,
  dtype: string,
  storedType: string,
): CFDecoded {
  const single = dtype === 'float32'
  const values = single ? new Float32Array(data.length) : new Float64Array(data.length)
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) values[i] = Number(data[i])
  } else values.set(data)
  // Fill values in the stored float's precision, as NumPy compares them (a float16's 0.1 is 0.0999755859375).
  const round = storedType === 'float16' ? f16round : single ? Math.fround : Number
  const targets = [...new Set(fills.map((fill) => round(Number(fill))))]
  const mask = new Uint8Array(data.length)
  // One or two fill values (the usual case): compared directly, not looked up in a Set per value.
  if (targets.length <= 2) {
    const first = targets[0] as number
    const second = (targets[1] ?? first) as number
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as number
      if (value === first || value === second || Number.isNaN(value)) {
        values[i] = Number.NaN
        mask[i] = 1
      }
    }
    return { values, mask }
  }
  const set = new Set(targets)
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number
    if (set.has(value) || Number.isNaN(value)) {
      values[i] = Number.NaN
      mask[i] = 1
    }
  }
  return { values, mask }
}

function maskTimes(data: NumericArray, fills: Array<number | bigint>): CFDecoded {
  const targets = new Set(fills.map((fill) => (typeof fill === 'bigint' ? fill : BigInt(Math.trunc(fill)))))
  const values = new BigInt64Array(data.length)
  const mask = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const value = BigInt(data[i] as number | bigint)
    if (targets.has(value)) {
      values[i] = NAT
      mask[i] = 1
    } else values[i] = BigInt.asIntN(64, value)
  }
  return { values, mask }
}

/** The typed array of each stored type's values (bool as its bytes 1 and 0). */
const CONSTRUCTORS = {
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as const

function typedArrayOf(type: string, length: number): NumericArray {
  const Constructor = CONSTRUCTORS[type as keyof typeof CONSTRUCTORS]
  if (Constructor === undefined) throw new InvalidValueError(`data type ${type} has no CF decoding`)
  return new Constructor(length)
}

function reinterpret(data: NumericArray, type: string): NumericArray {
  const Constructor = CONSTRUCTORS[type as keyof typeof CONSTRUCTORS]
  return new Constructor(data.buffer as ArrayBuffer, data.byteOffset, data.length)
}

function checkArray(raw: NumericArray, dataType: string): void {
  if (!ArrayBuffer.isView(raw))
    throw new InvalidValueError('decode: expected a typed array of the stored values')
  const Constructor = CONSTRUCTORS[dataType as keyof typeof CONSTRUCTORS]
  if (Constructor !== undefined && !(raw instanceof Constructor)) {
    throw new InvalidValueError(
      `decode: expected a ${Constructor.name} for ${dataType} data, got ${raw.constructor.name}`,
    )
  }
}
