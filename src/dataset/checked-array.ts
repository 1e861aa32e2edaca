// A stranger's Zarr array opened for reading with the checks zarrita leaves out: a chunk grid of
// whole numbers, codecs it knows (checked before it loads them), every chunk decoded to its chunk
// shape's length, and Zarr v2 forms read as zarr-python reads them (vlen-utf8 and fixed-width
// strings, a null fill value of 64-bit integers).
import * as zarr from 'zarrita'
import type { AbortOptions } from '../cas/interface.js'
import { isRecord } from '../check.js'
import { describeValue, InvalidValueError } from '../errors.js'
import type { ChunkCache } from './chunk-cache.js'
import { decodeFillValue, fromHalfBits, isFloatType, toHalfBits } from './fill-value.js'
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
  if (v2 !== undefined) {
    checkOrder(name, v2)
    checkV2HexFill(name, v2)
  } else checkShards(name, meta)
  let at = location.resolve(name)
  // zarr-python reads a chunk never written of a v2 array whose fill_value is null as zeros (xarray
  // writes int64 times so, skipping all-zero chunks); zarrita fills null, which BigInt64Array refuses.
  if (v2 !== undefined && nullFillOf64BitIntegers(v2))
    at = withMetadata(at, '.zarray', (zarray) => ({ ...zarray, fill_value: 0 }))
  if (readsHalfBits(meta)) at = asHalfBits(name, at, meta)
  else if (v2 === undefined && hexFloatFill(meta))
    at = withMetadata(at, 'zarr.json', (doc) => plainFill(name, doc))
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

/** Whether zarrita reads float16 here itself, into the runtime's Float16Array (Node 24, recent browsers). */
const nativeFloat16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function'

/**
 * Whether an array is float16 (v3 `float16`, v2 `<f2`) where the runtime has no Float16Array: then
 * zarrita reads its uint16 bits ({@link halvesAsFloat32} makes them numbers) and its dtype stays float16.
 */
export function readsHalfBits(meta: ArrayMeta): boolean {
  if (nativeFloat16) return false
  const dtype = meta.v2 === undefined ? (meta as { data_type?: unknown }).data_type : meta.v2.dtype
  return dtype === 'float16' || (typeof dtype === 'string' && /^[<>|]f2$/.test(dtype))
}

/** Codecs blind to what the bytes hold: a float16 array read as its uint16 bits decodes the same through them. */
const BYTE_CODECS =
  /^(bytes|transpose|crc32c|gzip|zlib|zstd|blosc|lz4|numcodecs\.(zlib|gzip|zstd|blosc|lz4|shuffle))$/

/**
 * The float16 array's location over a store that gives its metadata as uint16 (the fill value as
 * its half bits, so a chunk never written fills with it). A codec that computes on the values
 * (delta, scale_offset, …) would compute on the bits: such an array stays refused.
 */
function asHalfBits(name: string, at: zarr.Location<ZarrStore>, meta: ArrayMeta): zarr.Location<ZarrStore> {
  const computing = codecNames(meta.v2 ?? meta).find((codec) => !BYTE_CODECS.test(String(codec)))
  if (computing !== undefined) {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} is float16 with codec ${String(JSON.stringify(computing)).slice(0, 100)}, which needs a runtime with Float16Array (Node 24, a recent browser)`,
    )
  }
  const bits = (fill: unknown): unknown => {
    if (typeof fill === 'string' && /^0x[0-9a-fA-F]{4}$/.test(fill)) return Number.parseInt(fill.slice(2), 16)
    const value = decodeFillValue(fill, 'float16', `array ${JSON.stringify(name)} fill_value`)
    return value === undefined ? fill : toHalfBits(Number(value))
  }
  if (meta.v2 !== undefined) {
    return withMetadata(at, '.zarray', (zarray) => ({
      ...zarray,
      dtype: `${String(zarray.dtype).slice(0, 1)}u2`,
      fill_value: bits(zarray.fill_value),
    }))
  }
  return withMetadata(at, 'zarr.json', (array) => ({
    ...array,
    data_type: 'uint16',
    fill_value: bits(array.fill_value),
  }))
}

/**
 * Hex bits are a v3 spelling of a float fill value: zarr-python refuses one in a v2 `.zarray`
 * (zarrita filled Number('0x3f800000'), 1065353216).
 */
function checkV2HexFill(name: string, zarray: Record<string, unknown>): void {
  const { fill_value: fill, dtype } = zarray
  if (
    typeof fill === 'string' &&
    /^[+-]?0x/i.test(fill) &&
    typeof dtype === 'string' &&
    /^[<>|]f/.test(dtype)
  ) {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} fill_value ${JSON.stringify(fill.slice(0, 40))} is hex, which a Zarr v2 ${dtype} cannot hold (zarr-python refuses it)`,
    )
  }
}

/** Whether a v3 float array's fill_value is hex (its IEEE bits), which zarrita fills as Number('0x…'). */
function hexFloatFill(meta: Record<string, unknown>): boolean {
  const { fill_value: fill, data_type: dataType } = meta
  return typeof fill === 'string' && /^0x/.test(fill) && typeof dataType === 'string' && isFloatType(dataType)
}

/** The v3 array document with its fill_value as the number its hex bits hold, in the JSON forms zarrita reads. */
function plainFill(name: string, doc: Record<string, unknown>): Record<string, unknown> {
  const value = Number(
    decodeFillValue(doc.fill_value, String(doc.data_type), `array ${JSON.stringify(name)} fill_value`),
  )
  const named = Number.isNaN(value)
    ? 'NaN'
    : value === Infinity
      ? 'Infinity'
      : value === -Infinity
        ? '-Infinity'
        : value
  return { ...doc, fill_value: named }
}

/**
 * What zarrita read of an array of `dtype`: a float16 one read as its uint16 bits (see
 * {@link readsHalfBits}) as the numbers they are, a Float32Array (every half is exact in a float32)
 * or a 0-d read's one number; anything else as it is.
 */
export function halvesAsFloat32(dtype: string, got: unknown): unknown {
  if (nativeFloat16 || dtype !== 'float16') return got
  if (typeof got === 'number') return fromHalfBits(got)
  const chunk = got as zarr.Chunk<zarr.DataType>
  if (!(chunk?.data instanceof Uint16Array)) return got
  const bits = chunk.data
  halves ??= Float32Array.from({ length: 1 << 16 }, (_, b) => fromHalfBits(b))
  const table = halves
  const values = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) values[i] = table[bits[i] as number] as number
  return { ...chunk, data: values }
}

/** Every half's value by its bits (256 KiB, made on first use): 4M halves took 393 ms CPU decoded each, 28 ms looked up. */
let halves: Float32Array | undefined

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

/** The array's location over a store that gives zarrita its metadata document `file` as `edit` makes it. */
function withMetadata(
  at: zarr.Location<ZarrStore>,
  file: '.zarray' | 'zarr.json',
  edit: (document: Record<string, unknown>) => Record<string, unknown>,
): zarr.Location<ZarrStore> {
  const key = `${at.path}/${file}`
  const inner = at.store
  const store: Partial<ZarrStore> = {
    get: async (path: string, options?: AbortOptions): Promise<Uint8Array | undefined> => {
      const bytes = await inner.get(path as zarr.AbsolutePath, options)
      if (path !== key || bytes === undefined) return bytes
      const document = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
      return new TextEncoder().encode(metadataText(edit(document)))
    },
  }
  // Sharded arrays read their chunks by range: zarrita refuses a store without getRange.
  if (inner.getRange !== undefined) store.getRange = inner.getRange.bind(inner)
  return new zarr.Location(store as unknown as ZarrStore, at.path)
}

/** A metadata document as JSON; a fill_value of -0 keeps its sign (JSON.stringify writes 0). */
function metadataText(document: Record<string, unknown>): string {
  if (!Object.is(document.fill_value, -0)) return JSON.stringify(document)
  const { fill_value: _, ...rest } = document
  const others = JSON.stringify(rest)
  return others === '{}' ? '{"fill_value":-0}' : `{"fill_value":-0,${others.slice(1)}`
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
