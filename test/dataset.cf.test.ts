// CF value decoding against xarray 2026.9's decode_cf on Zarr v3 data written by xarray itself
// (zarr-python 3.0.9): the attributes and fill values exactly as they are on disk.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { cfValueDecoder, type NumericArray } from '../src/dataset/cf.js'
import { decodeTimesWithNaT } from '../src/dataset/cf-time.js'
import { cfDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1))
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T

const dir = mkdtempSync(join(tmpdir(), 'ts-hamt-cf-'))
after(() => rmSync(dir, { recursive: true, force: true }))

type Spec = {
  name: string
  dtype: string
  values: string[]
  attrs: Record<string, unknown>
  fill?: string
  defaultFill?: boolean
}
type Written = {
  zarr: { data_type: string; fill_value: unknown; attributes?: Record<string, unknown> }
  raw: string[]
  decoded?: string[]
  dtype?: string
  error?: string
}

const RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-(2 ** 53), 2 ** 53],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 2 ** 32 - 1],
  uint64: [0, 2 ** 53],
}
const CONSTRUCTORS: Record<string, new (length: number) => NumericArray> = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
}

function randomValue(dtype: string): string {
  if (dtype.startsWith('float')) {
    const value = pick([Number.NaN, (random() - 0.5) * 10 ** int(-3, 6), int(-50, 50), -9999, 1e20])
    return String(dtype === 'float32' ? Math.fround(value) : value)
  }
  const [min, max] = RANGES[dtype] as [number, number]
  return String(random() < 0.5 ? int(Math.max(min, -100), Math.min(max, 100)) : int(min, max))
}

function randomSpec(index: number): Spec {
  const dtype = pick(Object.keys(CONSTRUCTORS))
  const values = Array.from({ length: int(1, 12) }, () => randomValue(dtype))
  const attrs: Record<string, unknown> = {}
  const spec: Spec = { name: `v${index}_${dtype}`, dtype, values, attrs }
  const from = (): string => pick(values)
  if (random() < 0.4) spec.fill = from()
  if (random() < 0.3) attrs.missing_value = random() < 0.7 ? Number(from()) : [Number(from()), Number(from())]
  // A whole-number scale_factor alone decodes to int64 in xarray (JSON cannot tell 2 from 2.0): not generated.
  if (random() < 0.4) attrs.scale_factor = pick([0.01, 0.25, 1.5, -0.1, 3.3e-5])
  if (random() < 0.4) attrs.add_offset = pick([5, 273.15, -0.5, 1e6])
  if (dtype.startsWith('int') && random() < 0.2) attrs._Unsigned = 'true'
  // xarray cannot open _Unsigned 'false' with a fill past the signed range (OverflowError): no fill then.
  if (dtype.startsWith('uint') && random() < 0.2) {
    attrs._Unsigned = 'false'
    delete spec.fill
  }
  if (dtype.startsWith('float') && spec.fill === undefined && random() < 0.5) spec.defaultFill = true
  for (const key of ['missing_value']) {
    const value = attrs[key]
    if ((Array.isArray(value) ? value : [value]).some((v) => typeof v === 'number' && !Number.isFinite(v))) {
      delete attrs[key]
    }
  }
  return spec
}

const FIXED: Spec[] = [
  {
    name: 'int16_scale_offset_fill',
    dtype: 'int16',
    values: ['-32768', '0', '1200', '-1200', '32767'],
    attrs: { scale_factor: 0.01, add_offset: 273.15 },
    fill: '-32768',
  },
  {
    name: 'float32_nan_fill',
    dtype: 'float32',
    values: ['1.5', 'NaN', '-2.25'],
    attrs: {},
    defaultFill: true,
  },
  { name: 'float32_fill', dtype: 'float32', values: ['1.5', '-9999', '1e20'], attrs: {}, fill: '-9999' },
  {
    name: 'float32_missing_value',
    dtype: 'float32',
    values: ['1.5', '100000002004087734272', 'NaN'],
    attrs: { missing_value: 1e20 },
    defaultFill: true,
  },
  {
    name: 'int32_missing_list',
    dtype: 'int32',
    values: ['1', '-999', '-888', '4'],
    attrs: { missing_value: [-999, -888] },
  },
  { name: 'uint8_mask', dtype: 'uint8', values: ['0', '255', '17'], attrs: {}, fill: '255' },
  {
    name: 'int8_unsigned_fill',
    dtype: 'int8',
    values: ['-1', '-128', '5'],
    attrs: { _Unsigned: 'true' },
    fill: '-1',
  },
  { name: 'int64_plain', dtype: 'int64', values: ['-9007199254740993', '5'], attrs: {} },
  {
    name: 'time_int_fill',
    dtype: 'int64',
    values: ['0', '-1', '36500', '1'],
    attrs: { units: 'days since 2000-01-01', calendar: 'proleptic_gregorian' },
    fill: '-1',
  },
]

function rawArray(dtype: string, raw: string[]): NumericArray {
  const array = new (CONSTRUCTORS[dtype] as new (length: number) => NumericArray)(raw.length)
  raw.forEach((text, i) => {
    array[i] = (
      array instanceof BigInt64Array || array instanceof BigUint64Array ? BigInt(text) : Number(text)
    ) as never
  })
  return array
}

/** xarray's repr of a value as a comparable: numbers (NaN kept), bigints for integers past 2^53. */
function pyNumber(text: string): number | bigint {
  if (text === 'nan') return Number.NaN
  if (text === 'inf' || text === '-inf')
    return text === 'inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY
  return /^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text)) ? BigInt(text) : Number(text)
}

function check(spec: Spec, written: Written, zarrFormat = 3): void {
  const what = `${JSON.stringify(spec)} on disk ${JSON.stringify(written.zarr.attributes)} (seed ${seed})`
  const attrs = written.zarr.attributes ?? {}
  const decoder = cfValueDecoder(attrs, written.zarr.data_type, written.zarr.fill_value, {
    fillValueAsMask: zarrFormat === 2,
  })
  const { values, mask } = decoder.decode(rawArray(spec.dtype, written.raw))
  if (written.error !== undefined) assert.fail(`xarray could not decode ${what}: ${written.error}`)
  if (decoder.timeLike && written.dtype?.startsWith('datetime64')) {
    const dates = decodeTimesWithNaT(
      values as ArrayLike<number | bigint>,
      String(attrs.units),
      String(attrs.calendar),
    )
    const ours = dates.map((date) => (date === undefined ? 'NaT' : date.toISOString().replace(/\.0+$/, '')))
    assert.deepEqual(
      ours,
      written.decoded?.map((text) => text.replace(/\.0+$/, '')),
      what,
    )
    return
  }
  assert.equal(decoder.dtype, written.dtype, `dtype of ${what}`)
  const theirs = (written.decoded as string[]).map(pyNumber)
  const ours = Array.from(values as ArrayLike<number | bigint>, (value) =>
    typeof value === 'bigint' && Number.isSafeInteger(Number(value)) ? Number(value) : value,
  )
  assert.deepEqual(ours, theirs, what)
  if (mask !== undefined) {
    assert.deepEqual(
      Array.from(mask, Boolean),
      theirs.map((value) => typeof value === 'number' && Number.isNaN(value)),
      `mask of ${what}`,
    )
  }
}

test('cfValueDecoder matches xarray.decode_cf on Zarr v3 data written by xarray', async () => {
  const specs = [...FIXED, ...Array.from({ length: 150 }, (_, i) => randomSpec(i))]
  const written = await cfDriver<Record<string, Written>>('write', {
    dir: join(dir, 'generated.zarr'),
    variables: specs,
  })
  for (const spec of specs) check(spec, written[spec.name] as Written)
})

test('with fillValueAsMask, Zarr v2 data written by xarray decodes as xarray decodes it', async () => {
  const specs = [
    ...FIXED.filter((spec) => !spec.attrs.units),
    ...Array.from({ length: 80 }, (_, i) => randomSpec(i)),
  ]
  const written = await cfDriver<Record<string, Written>>('write', {
    dir: join(dir, 'v2.zarr'),
    zarrFormat: 2,
    variables: specs,
  })
  for (const spec of specs) check(spec, written[spec.name] as Written, 2)
})

test('times xarray encoded itself (its units, NaT, cftime calendars) decode to its dates', async () => {
  const specs: Spec[] = [
    {
      name: 'datetimes',
      dtype: 'datetime64[ns]',
      values: ['2000-01-01T06', 'NaT', '2262-04-10', '1990-05-05T00:00:01'],
      attrs: {},
    },
    {
      name: 'hourly',
      dtype: 'datetime64[ns]',
      values: ['2024-07-01T00', '2024-07-01T01', '2024-07-01T02'],
      attrs: {},
    },
    ...['noleap', 'all_leap', '360_day', 'julian', 'standard', 'proleptic_gregorian'].map((calendar) => ({
      name: `cftime_${calendar}`,
      dtype: `cftime:${calendar}`,
      values: ['1,1,1,0', '1582,10,4,12', '2400,2,28,23', '-500,3,1,0'].filter(
        (v) => !(v.startsWith('-') && calendar === 'standard'),
      ),
      attrs: {},
    })),
  ]
  const written = await cfDriver<Record<string, Written>>('write', {
    dir: join(dir, 'times.zarr'),
    variables: specs,
  })
  for (const spec of specs) {
    const { zarr, decoded, error } = written[spec.name] as Written
    assert.equal(error, undefined)
    const attrs = zarr.attributes ?? {}
    const decoder = cfValueDecoder(attrs, zarr.data_type, zarr.fill_value)
    const raw = rawArray(zarr.data_type, (written[spec.name] as Written).raw)
    const { values } = decoder.decode(raw)
    const dates = decodeTimesWithNaT(
      values as ArrayLike<number | bigint>,
      String(attrs.units),
      attrs.calendar as string | undefined,
    )
    const trim = (text: string): string => text.replace(/\.0+$/, '')
    assert.deepEqual(
      dates.map((date) => (date === undefined ? 'NaT' : trim(date.toISOString()))),
      decoded?.map(trim),
      `${spec.name}: ${JSON.stringify(attrs)}`,
    )
  }
})

test('the on-disk forms of fill values: base64 floats, NaN strings, ints', async () => {
  const written = await cfDriver<Record<string, Written>>('write', {
    dir: join(dir, 'fixed.zarr'),
    variables: FIXED,
  })
  const float32 = written.float32_fill as Written
  assert.equal(typeof float32.zarr.attributes?._FillValue, 'string') // base64 of a float64, as xarray writes it
  assert.equal(
    cfValueDecoder(float32.zarr.attributes ?? {}, 'float32', float32.zarr.fill_value).fillValue,
    -9999,
  )
  const nanFill = written.float32_nan_fill as Written
  const decoder = cfValueDecoder(nanFill.zarr.attributes ?? {}, 'float32', nanFill.zarr.fill_value)
  assert.ok(Number.isNaN(decoder.fillValue as number))
  assert.ok(Number.isNaN(decoder.zarrFillValue as number))
  const packed = written.int16_scale_offset_fill as Written
  const int16 = cfValueDecoder(packed.zarr.attributes ?? {}, 'int16', packed.zarr.fill_value)
  assert.deepEqual(
    [int16.fillValue, int16.scaleFactor, int16.addOffset, int16.dtype],
    [-32768, 0.01, 273.15, 'float64'],
  )
})
