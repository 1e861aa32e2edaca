import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { describeValue, InvalidManifestError } from '../errors.js'
import { ChunkGrid, checkGeometry } from './geometry.js'
import { type ArrayIndex, type RootState, SHARDED_V1, SHARDED_V2, type ShardEntry } from './interface.js'

type Fields = Record<string, unknown>

const isMap = (value: unknown): value is Fields =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  !(value instanceof Uint8Array) &&
  CID.asCID(value) === null

/** DAG-CBOR's canonical key order (shorter first, then bytewise), which is the order py-hamt reads a map in. */
export function canonicalOrder(keys: Iterable<string>): string[] {
  const encoder = new TextEncoder()
  return [...keys]
    .map((key) => ({ key, bytes: encoder.encode(key) }))
    .sort((a, b) => a.bytes.length - b.bytes.length || compareBytes(a.bytes, b.bytes))
    .map(({ key }) => key)
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return 0
}

function without(fields: Fields, known: readonly string[]): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !known.includes(key)))
}

function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decodeDagCbor(bytes)
  } catch (cause) {
    throw new InvalidManifestError(`${what} is not valid DAG-CBOR`, { cause })
  }
}

function decodeShardCids(value: unknown, expected: number, where: string): ShardEntry[] {
  if (!Array.isArray(value))
    throw new InvalidManifestError(`${where}.shard_cids must be a list, got ${describeValue(value)}`)
  if (value.length !== expected) {
    throw new InvalidManifestError(
      `${where}.shard_cids has ${value.length} entries but the geometry needs ${expected} shards`,
    )
  }
  return value.map((entry, i) => {
    if (entry === null) return null
    const cid = CID.asCID(entry)
    if (cid === null)
      throw new InvalidManifestError(
        `${where}.shard_cids[${i}] must be a CID or null, got ${describeValue(entry)}`,
      )
    return cid
  })
}

/** Reads one array's `{array_shape, chunk_shape, sharding_config, shard_cids}` and checks it against its geometry. */
function decodeArrayIndex(path: string, fields: unknown, where: string): ArrayIndex {
  if (!isMap(fields)) throw new InvalidManifestError(`${where} must be a map, got ${describeValue(fields)}`)
  const sharding = fields.sharding_config
  if (!isMap(sharding))
    throw new InvalidManifestError(`${where}.sharding_config must be a map, got ${describeValue(sharding)}`)
  if (sharding.order !== undefined && sharding.order !== 'C') {
    throw new InvalidManifestError(
      `${where}.sharding_config.order must be "C", got ${JSON.stringify(sharding.order)}`,
    )
  }
  const problem = checkGeometry(fields.array_shape, fields.chunk_shape, sharding.chunks_per_shard)
  if (problem !== undefined) throw new InvalidManifestError(`${where}: ${problem}`)
  const grid = new ChunkGrid(
    fields.array_shape as number[],
    fields.chunk_shape as number[],
    sharding.chunks_per_shard as number,
  )
  return { path, grid, shardCids: decodeShardCids(fields.shard_cids, grid.shardCount, where) }
}

function decodeMetadata(value: unknown): Map<string, CID> {
  if (!isMap(value))
    throw new InvalidManifestError(`root.metadata must be a map, got ${describeValue(value)}`)
  const metadata = new Map<string, CID>()
  for (const [key, id] of Object.entries(value)) {
    const cid = CID.asCID(id)
    if (cid === null)
      throw new InvalidManifestError(
        `root.metadata[${JSON.stringify(key)}] must be a CID, got ${describeValue(id)}`,
      )
    metadata.set(key, cid)
  }
  return metadata
}

/**
 * Decodes and validates a root block of either version (told apart by `manifest_version`).
 * Anything malformed is an {@link InvalidManifestError} naming the field.
 */
export function decodeRoot(bytes: Uint8Array): RootState {
  const root = decodeCbor(bytes, 'the root')
  if (!isMap(root)) throw new InvalidManifestError(`the root must be a map, got ${describeValue(root)}`)
  const version = root.manifest_version
  if (version === SHARDED_V1) return decodeV1(root)
  if (version === SHARDED_V2) return decodeV2(root)
  throw new InvalidManifestError(
    `unsupported manifest_version ${JSON.stringify(version)}: expected "${SHARDED_V1}" or "${SHARDED_V2}"`,
  )
}

function decodeV1(root: Fields): RootState {
  const chunks = root.chunks
  if (!isMap(chunks))
    throw new InvalidManifestError(`root.chunks must be a map, got ${describeValue(chunks)}`)
  const index = decodeArrayIndex('', chunks, 'root.chunks')
  const primary = chunks.primary_array_path
  if (primary !== undefined && typeof primary !== 'string') {
    throw new InvalidManifestError(
      `root.chunks.primary_array_path must be a string, got ${describeValue(primary)}`,
    )
  }
  return {
    version: SHARDED_V1,
    metadata: decodeMetadata(root.metadata),
    arrays: new Map([['', index]]),
    recordedPrimary: primary === undefined ? undefined : normalizePath(primary),
    extras: {
      root: without(root, ['manifest_version', 'metadata', 'chunks']),
      chunks: without(chunks, [
        'array_shape',
        'chunk_shape',
        'sharding_config',
        'shard_cids',
        'primary_array_path',
      ]),
      shardingConfig: without(chunks.sharding_config as Fields, ['chunks_per_shard']),
    },
  }
}

function decodeV2(root: Fields): RootState {
  const arraysField = root.arrays
  if (!isMap(arraysField))
    throw new InvalidManifestError(`root.arrays must be a map, got ${describeValue(arraysField)}`)
  if (root.sharding_config !== undefined && !isMap(root.sharding_config)) {
    throw new InvalidManifestError(
      `root.sharding_config must be a map, got ${describeValue(root.sharding_config)}`,
    )
  }
  const metadata = decodeMetadata(root.metadata)
  const arrays = new Map<string, ArrayIndex>()
  for (const path of canonicalOrder(Object.keys(arraysField))) {
    const index = decodeArrayIndex(
      normalizePath(path),
      arraysField[path],
      `root.arrays[${JSON.stringify(path)}]`,
    )
    arrays.set(index.path, index)
  }
  return {
    version: SHARDED_V2,
    metadata,
    arrays,
    recordedPrimary: undefined,
    extras: {
      root: without(root, ['manifest_version', 'metadata', 'arrays']),
      chunks: {},
      shardingConfig: {},
    },
  }
}

function encodeArrayIndex(index: ArrayIndex, shardingConfig: Fields): Fields {
  return {
    array_shape: [...index.grid.arrayShape],
    chunk_shape: [...index.grid.chunkShape],
    sharding_config: shardingConfig,
    shard_cids: index.shardCids,
  }
}

/** Encodes a root as py-hamt writes it (DAG-CBOR is canonical, so field order does not matter). */
export function encodeRoot(state: RootState): Uint8Array {
  const metadata = Object.fromEntries(state.metadata)
  if (state.version === SHARDED_V1) {
    const index = state.arrays.get('') as ArrayIndex
    const chunks: Fields = {
      ...state.extras.chunks,
      ...encodeArrayIndex(index, {
        ...state.extras.shardingConfig,
        chunks_per_shard: index.grid.chunksPerShard,
      }),
    }
    if (state.recordedPrimary !== undefined) chunks.primary_array_path = state.recordedPrimary
    return dagCbor.encode({ ...state.extras.root, manifest_version: SHARDED_V1, metadata, chunks })
  }
  const arrays: Fields = {}
  for (const [path, index] of state.arrays) {
    arrays[path] = encodeArrayIndex(index, { chunks_per_shard: index.grid.chunksPerShard, order: 'C' })
  }
  return dagCbor.encode({ ...state.extras.root, manifest_version: SHARDED_V2, metadata, arrays })
}

/** Decodes a shard: a DAG-CBOR list of exactly `expected` entries, each a CID or null. */
export function decodeShard(bytes: Uint8Array, expected: number, label: string): ShardEntry[] {
  const shard = decodeCbor(bytes, label)
  if (!Array.isArray(shard))
    throw new InvalidManifestError(`${label} must be a list, got ${describeValue(shard)}`)
  if (shard.length !== expected) {
    throw new InvalidManifestError(
      `${label} has ${shard.length} entries, expected chunks_per_shard = ${expected}`,
    )
  }
  for (let i = 0; i < shard.length; i++) {
    const entry = shard[i]
    if (entry !== null && CID.asCID(entry) === null) {
      throw new InvalidManifestError(`${label}[${i}] must be a CID or null, got ${describeValue(entry)}`)
    }
  }
  return shard as ShardEntry[]
}

export function encodeShard(entries: readonly ShardEntry[]): Uint8Array {
  return dagCbor.encode(entries)
}

/** A new, empty v1 root over one array (py-hamt 3.6.0's shape-based `open`). */
export function newV1Root(grid: ChunkGrid): RootState {
  return {
    version: SHARDED_V1,
    metadata: new Map(),
    arrays: new Map([['', { path: '', grid, shardCids: new Array(grid.shardCount).fill(null) }]]),
    recordedPrimary: undefined,
    extras: { root: {}, chunks: {}, shardingConfig: {} },
  }
}

/** A new, empty v2 root; `chunksPerShard` is the default for arrays registered later. */
export function newV2Root(chunksPerShard: number): RootState {
  return {
    version: SHARDED_V2,
    metadata: new Map(),
    arrays: new Map(),
    recordedPrimary: undefined,
    extras: {
      root: {
        store_type: 'py_hamt.sharded_zarr',
        zarr_format: 3,
        sharding_config: { chunks_per_shard: chunksPerShard, order: 'C' },
      },
      chunks: {},
      shardingConfig: {},
    },
  }
}

/** py-hamt's array paths: no leading or trailing slashes. */
export function normalizePath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}
