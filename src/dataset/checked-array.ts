// A stranger's Zarr array opened for reading with the checks zarrita leaves out: a chunk grid of
// whole numbers, codecs it knows (checked before it loads them), every chunk decoded to its chunk
// shape's length, and Zarr v2 forms read as zarr-python reads them (vlen-utf8 and fixed-width
// strings, a null fill value of 64-bit integers).
import * as zarr from 'zarrita'
import type { AbortOptions } from '../cas/interface.js'
import { isRecord } from '../check.js'
import { describeValue, InvalidValueError } from '../errors.js'
import type { ChunkCache } from './chunk-cache.js'
import type { ArrayMeta, ZarrStore } from './metadata.js'

/** A shape from a stranger's metadata, shortened for a message. */
const showShape = (value: unknown): string =>
  Array.isArray(value) ? `[${value.slice(0, 8)}]`.slice(0, 200) : describeValue(value)

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
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} has shape ${showShape(shape)} and chunks ${showShape(chunks)}: not a chunk grid`,
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
  if (v2 !== undefined) checkOrder(name, v2)
  else checkShards(name, meta)
  checkFloat16(name, v2 === undefined ? (meta as { data_type?: unknown }).data_type : v2.dtype)
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

/**
 * zarrita reads float16 into the runtime's Float16Array (Node 24, recent browsers); without one it
 * failed on a v2 `<f2` array as "Not found: v3 array or group".
 */
function checkFloat16(name: string, dtype: unknown): void {
  if (typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function') return
  if (dtype === 'float16' || (typeof dtype === 'string' && /^[<>|]f2$/.test(dtype))) {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} is float16, which needs a runtime with Float16Array (Node 24, a recent browser)`,
    )
  }
}

/**
 * A Zarr v2 array's `order`: "C" or "F" (zarr-python refuses any other, and a missing one).
 * zarrita reads anything but "F" as C, which would give another array's values.
 */
function checkOrder(name: string, zarray: Record<string, unknown>): void {
  const { order } = zarray
  if (order !== 'C' && order !== 'F') {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)}: .zarray order is ${describeValue(order)}, not "C" or "F"`,
    )
  }
}

/**
 * A Zarr v3 sharded array laid out as zarrita reads it: the sharding codec alone (zarrita skips any
 * codec around it and reads no nested shard), its index at the end, and shards of whole inner chunks
 * as the spec requires. Otherwise zarrita read other values or failed on a byte range of NaN.
 */
function checkShards(name: string, meta: Record<string, unknown>): void {
  const codecs = Array.isArray(meta.codecs) ? meta.codecs : []
  const sharding: unknown = codecs.find((codec) => isRecord(codec) && codec.name === 'sharding_indexed')
  if (!isRecord(sharding)) return
  const config = isRecord(sharding.configuration) ? sharding.configuration : {}
  const refuse = (what: string): never => {
    throw new InvalidValueError(`array ${JSON.stringify(name)}: ${what}, which zarrita does not read`)
  }
  if (codecs.length > 1) {
    const other = codecs.find((codec) => codec !== sharding)
    refuse(
      `codec ${String(JSON.stringify(isRecord(other) ? other.name : other)).slice(0, 100)} beside its sharding codec`,
    )
  }
  if (config.index_location !== undefined && config.index_location !== 'end')
    refuse(`shard index_location ${String(JSON.stringify(config.index_location)).slice(0, 100)}`)
  const inner = config.chunk_shape
  const grid = isRecord(meta.chunk_grid) ? meta.chunk_grid.configuration : undefined
  const shard = isRecord(grid) ? grid.chunk_shape : undefined
  const outer: unknown[] = Array.isArray(shard) ? shard : []
  if (
    !Array.isArray(inner) ||
    inner.length !== outer.length ||
    !inner.every((n, d) => Number.isSafeInteger(n) && n > 0 && (outer[d] as number) % n === 0)
  ) {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)}: shard shape ${showShape(shard)} is not a whole number of inner chunks of shape ${showShape(inner)}`,
    )
  }
  const nested =
    Array.isArray(config.codecs) && config.codecs.some((c) => isRecord(c) && c.name === 'sharding_indexed')
  if (nested) refuse('a sharding codec inside its shards')
}

/** A Zarr v2 array of 64-bit integers whose fill_value is null. */
export function nullFillOf64BitIntegers(zarray: Record<string, unknown>): boolean {
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

/**
 * numpy's fixed-width unicode (Zarr v2 `<U<n>` without vlen-utf8): n UTF-32 code points a value,
 * trailing NULs dropped as numpy drops them. A code point outside Unicode is an InvalidValueError
 * (zarrita's own `get` would throw a RangeError there).
 */
export function fixedWidthStrings(name: string, raw: zarr.UnicodeStringArray): string[] {
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
