// A Zarr group's metadata as the dataset reads it: children listed from consolidated metadata or the
// store (Zarr v3 zarr.json, or v2 .zarray/.zgroup/.zattrs), the group to open, each array's
// description with its attributes as xarray shows them once decoded.
import * as zarr from 'zarrita'
import type { AbortOptions } from '../cas/interface.js'
import { isRecord } from '../check.js'
import { describeValue, InvalidArgumentError, InvalidValueError, isHamtError } from '../errors.js'
import type { ShardedZarrStore } from '../sharded/store.js'
import type { ZarrHAMTStore } from '../zarr/store.js'
import type { NumericArray } from './cf.js'
import { parseTimeUnits } from './cf-time.js'
import { NAT_AS_NUMBER } from './cf-time-scale.js'
import {
  checkGrid,
  fixedWidthStrings,
  halvesAsFloat32,
  nullFillOf64BitIntegers,
  openCheckedArray,
  readsHalfBits,
} from './checked-array.js'
import type { ChunkCache } from './chunk-cache.js'
import { type CoordinateInfo, rankOf, stringCoordinate } from './coordinate.js'
import type { OpenDatasetOptions } from './interface.js'
import { coordinateIndex } from './lookup.js'
import { checkChunkSize, type StoredArray } from './read.js'
import { decodedToFloat64, decodeToFloat64, lazyDecoder } from './values.js'

export type ZarrStore = ZarrHAMTStore | ShardedZarrStore
export type ArrayMeta = {
  node_type?: unknown
  zarr_format?: unknown
  shape?: unknown
  dimension_names?: unknown
  attributes?: unknown
  /** Zarr v2: the `.zarray` as stored. */
  v2?: Record<string, unknown>
}

export { isRecord }

export function joinKey(group: string, key: string): string {
  return group === '' ? key : `${group}/${key}`
}

export async function readJson(store: ZarrStore, key: string, signal?: AbortSignal): Promise<unknown> {
  const bytes = await store.get(`/${key}`, { signal })
  if (bytes === undefined) return undefined
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch (error) {
    throw new InvalidValueError(`${key} is not JSON`, { cause: error })
  }
}

/** The children of a group that are arrays or groups, with their metadata. */
async function childrenOf(
  store: ZarrStore,
  group: string,
  signal?: AbortSignal,
): Promise<Map<string, ArrayMeta>> {
  const meta = (await readJson(store, joinKey(group, 'zarr.json'), signal)) as
    | { consolidated_metadata?: { metadata?: unknown } }
    | undefined
  const consolidated = meta?.consolidated_metadata?.metadata
  const children = new Map<string, ArrayMeta>()
  if (isRecord(consolidated)) {
    for (const [name, child] of Object.entries(consolidated)) {
      if (!name.includes('/') && isRecord(child)) children.set(name, child)
    }
    return children
  }
  for await (const name of store.listDir(group, { signal })) {
    if (name === 'zarr.json' || name === 'c' || name.startsWith('.')) continue
    const child = await nodeMeta(store, joinKey(group, name), signal)
    if (child !== undefined) children.set(name, child)
  }
  return children
}

/**
 * The metadata of the node at `path` in Zarr v3's shape: its zarr.json, or for Zarr v2 its
 * `.zarray`/`.zgroup` with `.zattrs` (dimension names from xarray's `_ARRAY_DIMENSIONS`).
 */
export async function nodeMeta(
  store: ZarrStore,
  path: string,
  signal?: AbortSignal,
): Promise<ArrayMeta | undefined> {
  const v3 = await readJson(store, joinKey(path, 'zarr.json'), signal)
  if (isRecord(v3)) return v3
  const array = await readJson(store, joinKey(path, '.zarray'), signal)
  const group = isRecord(array) ? undefined : await readJson(store, joinKey(path, '.zgroup'), signal)
  if (!isRecord(array) && !isRecord(group)) return undefined
  const zattrs = await readJson(store, joinKey(path, '.zattrs'), signal)
  const { _ARRAY_DIMENSIONS: dims, ...attributes } = isRecord(zattrs) ? zattrs : {}
  if (!isRecord(array)) return { node_type: 'group', zarr_format: 2, attributes }
  return {
    node_type: 'array',
    zarr_format: 2,
    shape: array.shape,
    dimension_names: dims,
    attributes,
    v2: array,
  }
}

export async function arraysOf(
  store: ZarrStore,
  group: string,
  signal?: AbortSignal,
): Promise<Map<string, ArrayMeta>> {
  const children = await childrenOf(store, group, signal)
  return new Map([...children].filter(([, meta]) => meta.node_type === 'array'))
}

/** The group named by `options.group`, else the root when it holds arrays, else its one child group. */
export async function chooseGroup(store: ZarrStore, options: OpenDatasetOptions): Promise<string> {
  if (typeof options.group === 'string') return options.group.replace(/^\/+|\/+$/g, '')
  if (options.group !== undefined && typeof options.group !== 'function') {
    throw new InvalidArgumentError(
      `group must be a group name or a chooser function, got ${describeValue(options.group)}`,
    )
  }
  const children = await childrenOf(store, '', options.signal)
  const groups = [...children]
    .filter(([, meta]) => meta.node_type === 'group')
    .map(([name]) => name)
    .sort()
  const hasArrays = [...children.values()].some((meta) => meta.node_type === 'array')
  if (typeof options.group === 'function') {
    const chosen = options.group(hasArrays ? ['', ...groups] : groups)
    if (typeof chosen !== 'string')
      throw new InvalidArgumentError('the group chooser must return a group name')
    return chosen.replace(/^\/+|\/+$/g, '')
  }
  if (hasArrays || groups.length === 0) return ''
  if (groups.length === 1) return groups[0] as string
  throw new InvalidArgumentError(
    `the root holds ${groups.length} groups (${groups.join(', ')}): choose one with the group option`,
  )
}

export async function storedArray(
  location: zarr.Location<ZarrStore>,
  name: string,
  meta: ArrayMeta,
  chunkCache?: ChunkCache,
): Promise<StoredArray> {
  let array: Promise<zarr.Array<zarr.DataType, ZarrStore>> | undefined
  const open = (): Promise<zarr.Array<zarr.DataType, ZarrStore>> => {
    array ??= openCheckedArray(location, name, chunkCache, meta).catch((error: unknown) => {
      if (isHamtError(error)) throw error
      throw new InvalidValueError(
        `array ${JSON.stringify(name)}: ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
        },
      )
    })
    return array
  }
  const names = Array.isArray(meta.dimension_names) ? meta.dimension_names : []
  const dimsOf = (shape: readonly number[]): string[] =>
    shape.map((_, d) => (typeof names[d] === 'string' ? (names[d] as string) : `dim_${d}`))
  const rawAttrs = isRecord(meta.attributes) ? meta.attributes : {}
  let opened: zarr.Array<zarr.DataType, ZarrStore>
  try {
    opened = await open()
  } catch (error) {
    // An array zarrita cannot open here (a data type it lacks: complex; float16 through a codec that
    // computes on values, without Float16Array) does not close the dataset: listed, reading it fails.
    const shape = meta.shape
    if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) throw error
    const dtype = String((meta as { data_type?: unknown }).data_type ?? 'unknown')
    const cf = lazyDecoder(rawAttrs, dtype, undefined, meta.zarr_format === 2)
    return {
      name,
      dims: dimsOf(shape),
      shape,
      chunks: shape.map((n: number) => Math.max(1, n)),
      dtype,
      attrs: decodedAttrs(rawAttrs),
      rawAttrs,
      open: () => Promise.reject(error),
      cf,
      decode: (raw) => decodeToFloat64(cf(), raw),
    }
  }
  const { shape, chunks } = checkGrid(name, opened)
  const dims = dimsOf(shape)
  const attrs = decodedAttrs(rawAttrs)
  // Zarr v2: xarray masks with the array's fill_value (v3 keeps it apart from _FillValue).
  // A null fill_value opened as 0 (withZeroFill) still masks nothing.
  // float16 read as its uint16 bits (no Float16Array here) stays float16, its fill value a number.
  const halves = readsHalfBits(meta)
  const fillValue =
    meta.v2 !== undefined && nullFillOf64BitIntegers(meta.v2)
      ? null
      : halves
        ? (meta.v2 ?? (meta as Record<string, unknown>)).fill_value
        : opened.fillValue
  const dtype = halves ? 'float16' : String(opened.dtype)
  const cf = lazyDecoder(rawAttrs, dtype, fillValue, meta.zarr_format === 2)
  return {
    name,
    dims,
    shape,
    chunks,
    dtype,
    attrs,
    rawAttrs,
    open: (_options?: AbortOptions) => open() as Promise<zarr.Array<zarr.DataType, zarr.Readable>>,
    cf,
    decode: (raw, into) => decodeToFloat64(cf(), raw, into),
  }
}

/** What xarray's decode_cf moves from a variable's attributes to its encoding. */
const ENCODING_ATTRS = [
  '_FillValue',
  'missing_value',
  'scale_factor',
  'add_offset',
  '_Unsigned',
  'coordinates',
]

/** The attributes as xarray shows them once decoded: no CF encoding keys, and no units/calendar of a time. */
function decodedAttrs(raw: Record<string, unknown>): Record<string, unknown> {
  const attrs = Object.fromEntries(Object.entries(raw).filter(([key]) => !ENCODING_ATTRS.includes(key)))
  if (typeof raw.units === 'string') {
    const calendar = typeof raw.calendar === 'string' ? raw.calendar : 'standard'
    try {
      if (parseTimeUnits(raw.units, calendar) !== undefined) {
        delete attrs.units
        delete attrs.calendar
      }
    } catch {
      // Not decodable as a time: xarray leaves such units where they are.
    }
  }
  return attrs
}

/**
 * The coordinates among `arrays` (1-D, named as their dimension), read whole. Their chunks are then
 * dropped from `chunkCache`: the index holds their values (kept, they doubled a coordinate's memory).
 */
export async function loadCoordinates(
  arrays: ReadonlyMap<string, StoredArray>,
  chunkCache: ChunkCache,
  signal?: AbortSignal,
): Promise<Map<string, CoordinateInfo>> {
  const coordinates = new Map<string, CoordinateInfo>()
  await Promise.all(
    [...arrays.values()]
      .filter((array) => array.dims.length === 1 && array.dims[0] === array.name)
      .map(async (array) => {
        coordinates.set(array.name, await loadCoordinate(array, signal))
        const count = Math.ceil((array.shape[0] as number) / (array.chunks[0] as number))
        chunkCache.forget(
          array.name,
          Array.from({ length: count }, (_, i) => [i]),
        )
      }),
  )
  return coordinates
}

/** Coordinates are read whole at open: one longer than this is refused rather than allocated. */
const MAX_COORDINATE_VALUES = 1 << 24

/** A dimension's coordinate, read whole: its values as numbers, and its CF time units if it has them. */
export async function loadCoordinate(array: StoredArray, signal?: AbortSignal): Promise<CoordinateInfo> {
  if ((array.shape[0] as number) > MAX_COORDINATE_VALUES) {
    throw new InvalidValueError(
      `coordinate ${JSON.stringify(array.name)} claims ${array.shape[0]} values, more than the ${MAX_COORDINATE_VALUES} read at open`,
    )
  }
  // zarrita cannot index an empty array; a dataset created empty (before its first append) has one.
  let raw: ArrayLike<number | bigint> = []
  if (array.shape[0] !== 0) {
    checkChunkSize(array)
    try {
      const got = halvesAsFloat32(array.dtype, await zarr.get(await array.open(), [null], { signal }))
      raw = (got as zarr.Chunk<zarr.DataType>).data as ArrayLike<number | bigint>
    } catch (error) {
      if (isHamtError(error) || signal?.aborted) throw error
      throw new InvalidValueError(
        `cannot read coordinate ${JSON.stringify(array.name)}: ${(error as Error)?.message}`,
        {
          cause: error,
        },
      )
    }
  }
  if (array.dtype === 'string') {
    // Zarr v3 strings (vlen-utf8): zarrita reads them as a plain array of strings.
    const strings = Array.from(raw as ArrayLike<unknown>, (value) => (typeof value === 'string' ? value : ''))
    return stringCoordinate(array.name, strings)
  }
  if (raw instanceof zarr.UnicodeStringArray)
    return stringCoordinate(array.name, fixedWidthStrings(array.name, raw))
  // zarrita's BoolArray is no typed array: its values come through get (a bool coordinate is 1 and 0).
  const bools = raw instanceof zarr.BoolArray ? raw : undefined
  // A coordinate is decoded first (scale, offset, fill values to NaN/NaT), as xarray's decode_cf decodes any variable.
  const decoded =
    bools === undefined && !array.cf().identity ? array.cf().decode(raw as NumericArray) : undefined
  const values =
    decoded !== undefined
      ? decodedToFloat64(decoded, raw as NumericArray)
      : Float64Array.from({ length: raw.length }, (_, i) => Number(bools?.get(i) ?? raw[i]))
  const units = array.rawAttrs.units
  const calendar = typeof array.rawAttrs.calendar === 'string' ? array.rawAttrs.calendar : 'standard'
  let time: CoordinateInfo['time']
  // 64-bit integer times decode from the stored integers where a double rounds them (past 2^53);
  // else the doubles are exact and the integers are not kept (a second copy of the axis). Masked
  // integer times decode to int64 with NaT (as xarray): those decoded integers.
  const stored = decoded?.values ?? raw
  const wide = inexact(stored) ? { raw: stored as BigInt64Array | BigUint64Array } : {}
  if (typeof units === 'string') {
    try {
      if (parseTimeUnits(units, calendar) !== undefined) time = { units, calendar, ...wide }
    } catch {
      // Units that look like a time but do not parse: the coordinate stays numbers, as xarray leaves it undecoded.
    }
  }
  // A time's NaT (int64 -2^63) is NaN to the index, so a coordinate holding one is out of order, as to pandas.
  if (time !== undefined)
    for (let i = 0; i < values.length; i++) if (values[i] === NAT_AS_NUMBER) values[i] = Number.NaN
  if (time?.raw !== undefined) time = exactOffsets(time, time.raw, values)
  const index = coordinateIndex(array.name, values, array.dtype === 'float32', array.dtype === 'float16')
  return time === undefined ? { index } : { index, time }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** Whether 64-bit integers hold one a double rounds (NaT, -2^63, is exact: the index's NaN). */
function inexact(raw: ArrayLike<number | bigint>): boolean {
  if (!(raw instanceof BigInt64Array || raw instanceof BigUint64Array)) return false
  return raw.some((v: bigint) => (v > SAFE || v < -SAFE) && v !== -(2n ** 63n))
}

const NAT = -(2n ** 63n)
/**
 * Integer times past 2^53 lying less than 2^53 apart held by the index less their least (`base`),
 * so the doubles tell each microsecond apart as pandas' int64 does; wider apart they stay rounded.
 */
function exactOffsets(
  time: NonNullable<CoordinateInfo['time']>,
  raw: ArrayLike<bigint>,
  values: Float64Array,
): NonNullable<CoordinateInfo['time']> {
  let low: bigint | undefined
  let high: bigint | undefined
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i] as bigint
    if (v === NAT) continue
    if (low === undefined || v < low) low = v
    if (high === undefined || v > high) high = v
  }
  if (low === undefined || high === undefined) return time
  if (high - low > SAFE) return rankedTimes(time, raw, values)
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i] as bigint
    values[i] = v === NAT ? Number.NaN : Number(v - low)
  }
  return { ...time, base: low }
}

/** Integer times 2^53 or more apart: the index holds each one's rank among them, so labels compare exactly. */
function rankedTimes(
  time: NonNullable<CoordinateInfo['time']>,
  raw: ArrayLike<bigint>,
  values: Float64Array,
): NonNullable<CoordinateInfo['time']> {
  // Typed arrays sort bigints by value; NaT (the least int64) sorts first and is left out.
  const all = raw instanceof BigUint64Array ? BigUint64Array.from(raw) : BigInt64Array.from(raw)
  all.sort()
  let unique = 0
  for (const v of all) if (v !== NAT && (unique === 0 || all[unique - 1] !== v)) all[unique++] = v
  const ranks = unique === all.length ? all : all.slice(0, unique)
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i] as bigint
    values[i] = v === NAT ? Number.NaN : rankOf(ranks, { numerator: v, denominator: 1n })
  }
  return { ...time, ranks }
}
