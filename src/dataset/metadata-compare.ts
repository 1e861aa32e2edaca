// Zarr metadata documents compared by meaning, not bytes, for mergeZarrRoots: JSON compared
// canonically (key order, whitespace, integers past 2^53 exact), encodings with the defaults the
// Zarr v3 spec and zarr-python (3.0) fill in made explicit. Anything else that differs is a change.
import { PyInt, type PyJson, parsePyJson } from '../sharded/pyjson.js'

/** How deep canonical() follows a value: Zarr's encodings nest a few levels (a shard's codecs). */
const MAX_DEPTH = 64

/**
 * A JSON value as text with object keys sorted, integers by their digits (past 2^53 too). `floats`
 * 'as-integers': a float of an integer's value is that integer (zarr-python's fill `0.0` is
 * zarrita's `0`); 'apart': a float is never an integer. Null when it nests deeper than MAX_DEPTH (a
 * stranger's document; the recursion stays bounded).
 */
export function canonical(
  value: PyJson | undefined,
  floats: 'as-integers' | 'apart',
  depth = 0,
): string | null {
  if (value === undefined) return ''
  if (value instanceof PyInt) return value.digits
  if (typeof value === 'number')
    return floats === 'as-integers' && Number.isSafeInteger(value) && !Object.is(value, -0)
      ? String(value)
      : `${value}f`
  if (!Array.isArray(value) && !(value instanceof Map)) return JSON.stringify(value)
  if (depth >= MAX_DEPTH) return null
  const items = Array.isArray(value)
    ? value.map((item) => canonical(item, floats, depth + 1))
    : [...value]
        .sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))
        .map(([field, item]) => {
          const text = canonical(item, floats, depth + 1)
          return text === null ? null : `${JSON.stringify(field)}:${text}`
        })
  if (items.includes(null)) return null
  return Array.isArray(value) ? `[${items.join(',')}]` : `{${items.join(',')}}`
}

/** Whether two documents are the same JSON in other bytes (not JSON, or too deep: not the same). */
export function sameJson(x: Uint8Array, y: Uint8Array): boolean {
  const [p, q] = [parsePyJson(x), parsePyJson(y)]
  if (p === undefined || q === undefined) return false
  const text = canonical(p, 'apart')
  return text !== null && text === canonical(q, 'apart')
}

/** Bytes per element of Zarr v3's core data types (blosc's defaults follow it). */
const ITEM_SIZES: Record<string, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  float16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
  float64: 8,
  complex64: 8,
  complex128: 16,
}

/** `map` with `defaults` for the fields it lacks (a copy; `map` itself is not changed). */
function withFields(
  map: Map<string, PyJson>,
  defaults: Array<[string, PyJson | undefined]>,
): Map<string, PyJson> {
  const out = new Map(map)
  for (const [field, value] of defaults) if (value !== undefined && !out.has(field)) out.set(field, value)
  return out
}

/**
 * A codec with the configuration fields it omits set to the value its reader assumes: zarr-python
 * 3.0's `ZstdCodec(level=0, checksum=False)`, `GzipCodec(level=5)`, `BloscCodec(cname="zstd",
 * clevel=5, blocksize=0)` with typesize and shuffle from the data type (`evolve_from_array_spec`),
 * `Crc32cCodec` without a configuration; the sharding spec's `index_location` "end" and zarr-python's
 * `ShardingCodec` codecs and index_codecs.
 */
function codecWithDefaults(codec: PyJson, itemSize: number | undefined, depth: number): PyJson {
  if (!(codec instanceof Map) || depth > MAX_DEPTH) return codec
  const name = codec.get('name')
  const config = codec.get('configuration')
  if (name === 'bytes') return bytesWithDefaults(codec, itemSize)
  if (name === 'crc32c' && config instanceof Map && config.size === 0) {
    const out = new Map(codec)
    out.delete('configuration')
    return out
  }
  if (!(config instanceof Map)) return codec
  let filled: Map<string, PyJson> = config
  if (name === 'zstd')
    filled = withFields(config, [
      ['level', 0],
      ['checksum', false],
    ])
  else if (name === 'gzip') filled = withFields(config, [['level', 5]])
  else if (name === 'blosc') {
    const shuffle = itemSize === undefined ? undefined : itemSize === 1 ? 'bitshuffle' : 'shuffle'
    filled = withFields(config, [
      ['cname', 'zstd'],
      ['clevel', 5],
      ['blocksize', 0],
      ['typesize', itemSize],
      ['shuffle', shuffle],
    ])
  } else if (name === 'sharding_indexed') {
    // ShardingCodec(codecs=(BytesCodec(),), index_codecs=(BytesCodec(), Crc32cCodec()), index_location="end").
    filled = withFields(config, [
      ['index_location', 'end'],
      ['codecs', [new Map([['name', 'bytes']])]],
      ['index_codecs', [new Map([['name', 'bytes']]), new Map([['name', 'crc32c']])]],
    ])
    const inner = (field: string, size: number | undefined) => {
      const list = filled.get(field)
      if (Array.isArray(list)) filled.set(field, codecsWithDefaults(list, size, depth + 1))
    }
    inner('codecs', itemSize)
    inner('index_codecs', 8) // the index is uint64 offsets and lengths
  }
  return new Map(codec).set('configuration', filled)
}

/** Codecs that keep the data type they get (others, e.g. zarrita's cast_value, may change it). */
const KEEPS_DATA_TYPE = new Set(['transpose', 'bytes', 'sharding_indexed', 'crc32c', 'zstd', 'gzip', 'blosc'])

/**
 * A codec list with codecWithDefaults on each: the item size holds only until a codec that may change
 * the data type (a one-byte array cast to int32 before its bytes codec depends on the endian).
 */
function codecsWithDefaults(list: PyJson[], itemSize: number | undefined, depth: number): PyJson[] {
  let size = itemSize
  return list.map((codec) => {
    const filled = codecWithDefaults(codec, size, depth)
    const name = codec instanceof Map ? codec.get('name') : undefined
    if (typeof name !== 'string' || !KEEPS_DATA_TYPE.has(name)) size = undefined
    return filled
  })
}

/** This machine's byte order: zarr-python's `default_system_endian = Endian(sys.byteorder)`, zarrita's `LITTLE_ENDIAN_OS`. */
const SYSTEM_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 'little' : 'big'

/**
 * The bytes codec as its reader takes it: zarr-python 3.0's `BytesCodec(endian=default_system_endian)`
 * fills an absent endian (zarrita reads it as this machine's order too); a single-byte type does not
 * depend on it (bytes codec spec: "Does not depend on endian parameter"), so it is left out there.
 */
function bytesWithDefaults(codec: Map<string, PyJson>, itemSize: number | undefined): PyJson {
  const config = codec.get('configuration') ?? new Map<string, PyJson>()
  if (!(config instanceof Map) || itemSize === undefined) return codec
  const out = new Map(codec)
  if (itemSize === 1) {
    const rest = new Map(config)
    rest.delete('endian')
    if (rest.size === 0) out.delete('configuration')
    else out.set('configuration', rest)
    return out
  }
  return out.set('configuration', withFields(config, [['endian', SYSTEM_ENDIAN]]))
}

/**
 * v2 compressors and filters (numcodecs configs) with the settings numcodecs 0.16 fills when
 * `get_codec` makes them (`cls(**config)`; its `get_config()` of each default codec).
 */
const NUMCODECS_DEFAULTS: Record<string, Array<[string, PyJson]>> = {
  zstd: [
    ['level', 0],
    ['checksum', false],
  ],
  blosc: [
    ['cname', 'lz4'],
    ['clevel', 5],
    ['shuffle', 1],
    ['blocksize', 0],
  ],
  gzip: [['level', 1]],
  zlib: [['level', 1]],
  bz2: [['level', 1]],
  lz4: [['acceleration', 1]],
}

function numcodecWithDefaults(codec: PyJson): PyJson {
  if (!(codec instanceof Map)) return codec
  const id = codec.get('id')
  const defaults =
    typeof id === 'string' && Object.hasOwn(NUMCODECS_DEFAULTS, id) ? NUMCODECS_DEFAULTS[id] : undefined
  return defaults === undefined ? codec : withFields(codec, defaults)
}

/**
 * One encoding field of an array document with Zarr's defaults made explicit: a codec's (above), a
 * chunk key encoding's separator when it has no configuration (v3 spec: "default" `/`, "v2" `.`), v2's
 * `dimension_separator` `.` (v2 spec), zarrita's absent `storage_transformers` as zarr-python's `[]`,
 * v2 `filters` `[]` or absent as `null` and v2 compressors' and filters' numcodecs settings.
 */
export function encodingField(doc: Map<string, PyJson>, name: string): PyJson | undefined {
  const value = doc.get(name)
  if (name === 'storage_transformers') return value ?? []
  if (name === 'dimension_separator') return value ?? '.'
  if (name === 'compressor') return value === undefined ? value : numcodecWithDefaults(value)
  // zarr-python 3.0's parse_filters: "an empty tuple is not allowed -- use None to express no filters".
  if (name === 'filters')
    return Array.isArray(value) && value.length > 0 ? value.map(numcodecWithDefaults) : null
  if (name === 'chunk_key_encoding' && value instanceof Map && !value.has('configuration')) {
    const separator = value.get('name') === 'default' ? '/' : value.get('name') === 'v2' ? '.' : undefined
    return separator === undefined
      ? value
      : new Map(value).set('configuration', new Map([['separator', separator]]))
  }
  if (name === 'codecs' && Array.isArray(value)) {
    const type = doc.get('data_type')
    const itemSize = typeof type === 'string' ? ITEM_SIZES[type] : undefined
    return codecsWithDefaults(value, itemSize, 0)
  }
  return value
}
