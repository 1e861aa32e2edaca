import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { describeValue, InvalidManifestError } from '../errors.js'
import { compareDagCborKeys } from '../hamt/utf8.js'
import { ChunkGrid, checkGeometry } from './geometry.js'
import type { ArrayIndex, ShardEntry } from './interface.js'

/** A decoded DAG-CBOR map. */
export type Fields = Record<string, unknown>

export const isMap = (value: unknown): value is Fields =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  !(value instanceof Uint8Array) &&
  CID.asCID(value) === null

/** `keys` in DAG-CBOR's canonical order, which is the order py-hamt reads a map in. */
export function canonicalOrder(keys: Iterable<string>): string[] {
  return [...keys].sort(compareDagCborKeys)
}

export function without(fields: Fields, known: readonly string[]): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !known.includes(key)))
}

/** The one place a sharded block is decoded from DAG-CBOR. */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decodeDagCbor(bytes)
  } catch (cause) {
    throw new InvalidManifestError(`${what} is not valid DAG-CBOR: ${(cause as Error)?.message}`, { cause })
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
export function decodeArrayIndex(path: string, fields: unknown, where: string): ArrayIndex {
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

export function decodeMetadata(value: unknown): Map<string, CID> {
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

export function encodeArrayIndex(index: ArrayIndex, shardingConfig: Fields): Fields {
  return {
    array_shape: [...index.grid.arrayShape],
    chunk_shape: [...index.grid.chunkShape],
    sharding_config: shardingConfig,
    shard_cids: index.shardCids,
  }
}

/** The length a CBOR array header at the start of `bytes` declares, or undefined if it is no definite-length array. */
function declaredArrayLength(bytes: Uint8Array): number | undefined {
  const first = bytes[0]
  if (first === undefined || first >> 5 !== 4) return undefined
  const info = first & 0x1f
  if (info < 24) return info
  const width = { 24: 1, 25: 2, 26: 4, 27: 8 }[info]
  if (width === undefined || bytes.length < 1 + width) return undefined
  let length = 0
  for (let i = 1; i <= width; i++) length = length * 256 + (bytes[i] as number)
  return length
}

/**
 * Decodes a shard: a DAG-CBOR list of exactly `expected` entries, each a CID or null. A list
 * header of another length is refused before decoding (decoding a list costs ~20 bytes an entry).
 */
export function decodeShard(bytes: Uint8Array, expected: number, label: string): ShardEntry[] {
  const declared = declaredArrayLength(bytes)
  if (declared !== undefined && declared !== expected) {
    throw new InvalidManifestError(
      `${label} has ${declared} entries, expected chunks_per_shard = ${expected}`,
    )
  }
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

/**
 * Decodes shard blocks remembering the last two: a root may link one block at many positions, and a
 * walk over it (or a diff, alternating between its two roots) decodes each block once, its CIDs
 * shared by every copy (each caller gets its own list).
 */
export class ShardDecoder {
  /** The blocks decoded last, the latest first. */
  #recent: { id: CID; expected: number; entries: readonly ShardEntry[] }[] = []

  /** The entries of the block `id` whose bytes are `bytes` (see {@link decodeShard}). */
  decode(id: CID, bytes: Uint8Array, expected: number, label: string): ShardEntry[] {
    const known = this.#recent.find((block) => block.expected === expected && block.id.equals(id))
    if (known !== undefined) return [...known.entries]
    const entries = decodeShard(bytes, expected, label)
    this.#recent = [{ id, expected, entries: [...entries] }, ...this.#recent.slice(0, 1)]
    return entries
  }
}

export function encodeShard(entries: readonly ShardEntry[]): Uint8Array {
  return dagCbor.encode(entries)
}
