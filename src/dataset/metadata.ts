// A Zarr group's metadata as the dataset reads it: children listed from consolidated metadata or the
// store (Zarr v3 zarr.json, or v2 .zarray/.zgroup/.zattrs), the group to open, each array's
// description with its attributes as xarray shows them once decoded.
import * as zarr from 'zarrita'
import type { AbortOptions } from '../cas/interface.js'
import { isRecord } from '../check.js'
import { describeValue, InvalidArgumentError, InvalidValueError, isHamtError } from '../errors.js'
import type { ShardedZarrStore } from '../sharded/store.js'
import type { ZarrHAMTStore } from '../zarr/store.js'
import { parseTimeUnits } from './cf-time.js'
import type { ChunkCache } from './chunk-cache.js'
import type { OpenDatasetOptions } from './interface.js'
import { type CoordinateInfo, stringCoordinate } from './labels.js'
import { coordinateIndex } from './lookup.js'
import { checkChunkSize, type StoredArray } from './read.js'
import { decodeToFloat64, lazyDecoder } from './values.js'

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
    // An array zarrita cannot open here (a data type this runtime lacks: float16 before Node 24,
    // complex) does not close the dataset: it is listed, and reading it fails with this error.
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
  const fillValue = meta.v2 !== undefined && nullFillOf64BitIntegers(meta.v2) ? null : opened.fillValue
  const cf = lazyDecoder(rawAttrs, String(opened.dtype), fillValue, meta.zarr_format === 2)
  return {
    name,
    dims,
    shape,
    chunks,
    dtype: String(opened.dtype),
    attrs,
    rawAttrs,
    open: (_options?: AbortOptions) => open() as Promise<zarr.Array<zarr.DataType, zarr.Readable>>,
    cf,
    decode: (raw, into) => decodeToFloat64(cf(), raw, into),
  }
}

/**
 * The array's shape and chunk shape, checked: zarrita takes them as they are, any JSON value of any
 * length. Not lists of whole numbers of one length (chunks above 0) is an InvalidValueError.
 */
export function checkGrid(
  name: string,
  array: { shape: unknown; chunks: unknown },
): { shape: number[]; chunks: number[] } {
  const { shape, chunks } = array
  if (
    !Array.isArray(shape) ||
    !Array.isArray(chunks) ||
    shape.length !== chunks.length ||
    !shape.every((n) => Number.isSafeInteger(n) && n >= 0) ||
    !chunks.every((n) => Number.isSafeInteger(n) && n > 0)
  ) {
    const show = (value: unknown): string =>
      Array.isArray(value) ? `[${value.slice(0, 8)}]`.slice(0, 200) : describeValue(value)
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} has shape ${show(shape)} and chunks ${show(chunks)}: not a chunk grid`,
    )
  }
  return { shape, chunks }
}

/**
 * A stranger's array as zarrita reads it, with the dataset's checks: codecs zarrita knows, every
 * chunk decoded to its chunk shape's length, Zarr v2 strings and null fill values read as
 * zarr-python reads them; read through `chunkCache` when given.
 */
export async function openCheckedArray(
  location: zarr.Location<ZarrStore>,
  name: string,
  chunkCache: ChunkCache | undefined,
  meta: ArrayMeta,
): Promise<zarr.Array<zarr.DataType, ZarrStore>> {
  const { v2 } = meta
  const unknown = codecNames(v2 ?? meta).filter(
    (codec) => typeof codec !== 'string' || !zarr.registry.has(codec),
  )
  if (unknown.length > 0) {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} uses codec ${String(JSON.stringify(unknown[0])).slice(0, 100)}, which zarrita does not know`,
    )
  }
  let at = location.resolve(name)
  if (v2 !== undefined && nullFillOf64BitIntegers(v2)) at = withZeroFill(at)
  const strings = v2 === undefined ? undefined : v2Strings(v2)
  const opened =
    strings === undefined
      ? await zarr.open(at, { kind: 'array' })
      : (new zarr.Array(at.store, at.path, strings as never) as zarr.Array<zarr.DataType, ZarrStore>)
  const array = checkingChunkLengths(opened, name)
  return chunkCache === undefined ? array : chunkCache.wrap(array, name)
}

/**
 * The registry names of the codecs zarrita would load for an array (v3 codecs with a shard's inner
 * and index codecs; v2 filters and compressor as `numcodecs.<id>`). Checked before zarrita sees
 * them: it loads a pipeline's codecs all at once and awaits them in turn, so a second unknown one
 * rejects unhandled, which ends a Node process.
 */
function codecNames(meta: Record<string, unknown>): unknown[] {
  if (meta.zarr_format === 2 || 'dtype' in meta) {
    // zarrita iterates `filters` whatever it is: a string of n characters makes n codecs.
    const filters = meta.filters == null ? [] : Array.isArray(meta.filters) ? meta.filters : [meta.filters]
    const v2 = [...filters, ...(meta.compressor ? [meta.compressor] : [])]
    return v2.flatMap((codec) => {
      const id = isRecord(codec) ? codec.id : undefined
      if (id === 'fixedscaleoffset' || id === 'numcodecs.fixedscaleoffset') return [] // zarrita's own translation
      return [typeof id === 'string' ? `numcodecs.${id}` : id]
    })
  }
  const names = (codecs: unknown): unknown[] =>
    !Array.isArray(codecs)
      ? []
      : codecs.flatMap((codec) => {
          if (!isRecord(codec)) return [codec]
          if (codec.name !== 'sharding_indexed') return [codec.name]
          const config = isRecord(codec.configuration) ? codec.configuration : {}
          return [...names(config.codecs), ...names(config.index_codecs)]
        })
  return names(meta.codecs)
}

/** A Zarr v2 array of 64-bit integers whose fill_value is null. */
function nullFillOf64BitIntegers(zarray: Record<string, unknown>): boolean {
  return zarray.fill_value === null && typeof zarray.dtype === 'string' && /^[<>|][iu]8$/.test(zarray.dtype)
}

/**
 * The array's location over a store that gives its `.zarray` with fill_value 0: zarr-python reads a
 * chunk never written of a v2 array whose fill_value is null as zeros (xarray writes int64 times so,
 * and skips their all-zero chunks), where zarrita fills it with null, which BigInt64Array refuses.
 */
function withZeroFill(at: zarr.Location<ZarrStore>): zarr.Location<ZarrStore> {
  const key = `${at.path}/.zarray`
  const inner = at.store
  const store = {
    get: async (path: string, options?: AbortOptions): Promise<Uint8Array | undefined> => {
      const bytes = await inner.get(path as zarr.AbsolutePath, options)
      if (path !== key || bytes === undefined) return bytes
      const zarray = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
      return new TextEncoder().encode(JSON.stringify({ ...zarray, fill_value: 0 }))
    },
  }
  return new zarr.Location(store as unknown as ZarrStore, at.path)
}

/**
 * Zarr v3 metadata for a v2 array of strings stored vlen-utf8 (xarray writes `<U4` with that
 * filter): zarrita reads the dtype as fixed-width and gives empty strings, so it is read as v3's
 * `string`. Undefined for any other array (or filters besides vlen-utf8, or Fortran order).
 */
function v2Strings(zarray: Record<string, unknown>): Record<string, unknown> | undefined {
  const { dtype, filters, compressor, order } = zarray
  if (typeof dtype !== 'string' || !/^([<>|][US]\d*|\|O)$/.test(dtype) || order === 'F') return undefined
  if (
    !Array.isArray(filters) ||
    filters.length !== 1 ||
    !isRecord(filters[0]) ||
    filters[0].id !== 'vlen-utf8'
  ) {
    return undefined
  }
  const codecs: unknown[] = [{ name: 'vlen-utf8', configuration: {} }]
  if (isRecord(compressor)) {
    const { id, ...configuration } = compressor
    codecs.push({ name: `numcodecs.${String(id)}`, configuration })
  }
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: zarray.shape,
    data_type: 'string',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: zarray.chunks } },
    chunk_key_encoding: {
      name: 'v2',
      configuration: { separator: zarray.dimension_separator ?? '.' },
    },
    codecs,
    fill_value: '',
    attributes: {},
  }
}

/**
 * The array, with every chunk it decodes checked to hold its chunk shape's values: zarrita reads
 * a chunk of the wrong length (cut short, or padded) as zeros or as its first values, where
 * zarr-python refuses it.
 */
function checkingChunkLengths(
  array: zarr.Array<zarr.DataType, ZarrStore>,
  name: string,
): zarr.Array<zarr.DataType, ZarrStore> {
  const getChunk = array.getChunk.bind(array)
  const expected = array.chunks.reduce((a, b) => a * b, 1)
  array.getChunk = async (coords, options, opts) => {
    const chunk = await getChunk(coords, options, opts)
    if (chunk.data.length !== expected) {
      throw new InvalidValueError(
        `array ${JSON.stringify(name)}: chunk [${coords}] decodes to ${chunk.data.length} values, not the ${expected} of its chunk shape [${array.chunks}]`,
      )
    }
    return chunk
  }
  return array
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
      const got = await zarr.get(await array.open(), [null], { signal })
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
  const values = Float64Array.from({ length: raw.length }, (_, i) => Number(raw[i]))
  const index = coordinateIndex(array.name, values, array.dtype === 'float32')
  const units = array.rawAttrs.units
  const calendar = typeof array.rawAttrs.calendar === 'string' ? array.rawAttrs.calendar : 'standard'
  if (typeof units === 'string') {
    try {
      if (parseTimeUnits(units, calendar) !== undefined) return { index, time: { units, calendar } }
    } catch {
      // Units that look like a time but do not parse: the coordinate stays numbers, as xarray leaves it undecoded.
    }
  }
  return { index }
}

/**
 * numpy's fixed-width unicode (Zarr v2 `<U<n>` without vlen-utf8): n UTF-32 code points a value,
 * trailing NULs dropped as numpy drops them. A code point outside Unicode is an InvalidValueError
 * (zarrita's own `get` would throw a RangeError there).
 */
function fixedWidthStrings(name: string, raw: zarr.UnicodeStringArray): string[] {
  const points = new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  const { chars } = raw
  return Array.from({ length: raw.length }, (_, i) => {
    let end = (i + 1) * chars
    while (end > i * chars && points[end - 1] === 0) end--
    let text = ''
    for (let p = i * chars; p < end; p++) {
      const point = points[p] as number
      if (point < 0 || point > 0x10ffff) {
        throw new InvalidValueError(
          `coordinate ${JSON.stringify(name)}: value ${i} holds code point ${point}, outside Unicode`,
        )
      }
      text += String.fromCodePoint(point)
    }
    return text
  })
}
