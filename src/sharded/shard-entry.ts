import { CID } from 'multiformats/cid'
import { describeValue, InvalidManifestError } from '../errors.js'
import type { ShardEntry } from './interface.js'
import { decodeCbor } from './manifest.js'

const NULL = 0xf6
const TAG_42 = [0xd8, 0x2a] as const

/**
 * The argument of the CBOR head at `offset` (major type `major`, minimal encoding as DAG-CBOR
 * requires) and where the item's content starts; throws on anything else or past the end.
 */
function readHead(bytes: Uint8Array, offset: number, major: number, what: () => string): [number, number] {
  const first = bytes[offset]
  if (first === undefined) throw new InvalidManifestError(`${what()} is cut short`)
  if (first >> 5 !== major) throw new InvalidManifestError(`${what()} has an unexpected CBOR type`)
  const info = first & 0x1f
  if (info < 24) return [info, offset + 1]
  const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
  if (width === 0) throw new InvalidManifestError(`${what()} has an indefinite or reserved length`)
  if (offset + 1 + width > bytes.length) throw new InvalidManifestError(`${what()} is cut short`)
  let value = 0
  for (let i = 1; i <= width; i++) value = value * 256 + (bytes[offset + i] as number)
  const minimum = width === 1 ? 24 : 2 ** (4 * width)
  if (value < minimum) throw new InvalidManifestError(`${what()} has a length that is not minimally encoded`)
  return [value, offset + 1 + width]
}

/** Where the entry at `offset` ends: a null, or a tag-42 byte string (a CID) lying inside `bytes`. */
function entryEnd(bytes: Uint8Array, offset: number, what: () => string): number {
  if (bytes[offset] === NULL) return offset + 1
  if (bytes[offset] !== TAG_42[0] || bytes[offset + 1] !== TAG_42[1]) {
    if (offset >= bytes.length) throw new InvalidManifestError(`${what()} is cut short`)
    throw new InvalidManifestError(`${what()} must be a CID or null`)
  }
  const [length, start] = readHead(bytes, offset + 2, 2, what)
  if (length > bytes.length - start) throw new InvalidManifestError(`${what()} is cut short`)
  return start + length
}

/**
 * Entry `position` of a shard block, without decoding the others: the list header must declare
 * `expected` entries, and the entries before `position` are stepped over (each must be a null or
 * a CID whose bytes lie inside the block). Bounded by `position` steps and the bytes given.
 * Unlike {@link decodeShard} it does not look at the entries after `position` or at trailing bytes
 * (py-hamt 3.6.0's sparse read does not either).
 */
export function decodeShardEntry(
  bytes: Uint8Array,
  expected: number,
  position: number,
  label: string,
): ShardEntry {
  if (bytes.length === 0 || (bytes[0] as number) >> 5 !== 4)
    throw new InvalidManifestError(`${label} must be a list`)
  const [declared, first] = readHead(bytes, 0, 4, () => label)
  if (declared !== expected) {
    throw new InvalidManifestError(
      `${label} has ${declared} entries, expected chunks_per_shard = ${expected}`,
    )
  }
  let offset = first
  for (let i = 0; i < position; i++) offset = entryEnd(bytes, offset, () => `${label}[${i}]`)
  const end = entryEnd(bytes, offset, () => `${label}[${position}]`)
  const entry = decodeCbor(bytes.subarray(offset, end), `${label}[${position}]`)
  if (entry === null) return null
  const cid = CID.asCID(entry)
  if (cid === null) {
    throw new InvalidManifestError(`${label}[${position}] must be a CID or null, got ${describeValue(entry)}`)
  }
  return cid
}

/** Two shard entries (or shard CIDs) alike: both null, or the same CID. */
export function sameEntry(a: ShardEntry, b: ShardEntry): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}
