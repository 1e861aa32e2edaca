import { base32upper } from 'multiformats/bases/base32'
import { equals, fromHex, toHex } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import type { MultihashDigest } from 'multiformats/hashes/interface'
import { sha256 } from 'multiformats/hashes/sha2'
import { describeValue, InvalidArgumentError } from '../errors.js'
import { blake3Hasher, blake3Loaded, loadBlake3 } from '../hash/blake3.js'
import type { StoreId } from './interface.js'

/** The hash a CID store names new blocks with: BLAKE3 (py-hamt's) or SHA-256. */
export type BlockHash = 'blake3' | 'sha2-256'

/** The `hash` option of a CID store, `blake3` when absent. */
export function blockHashOption(hash: unknown): BlockHash {
  if (hash === undefined) return 'blake3'
  if (hash !== 'blake3' && hash !== 'sha2-256') {
    throw new InvalidArgumentError(`hash must be 'blake3' or 'sha2-256', got ${JSON.stringify(hash)}`)
  }
  return hash
}

/** The multihash a new block gets under `hash` (BLAKE3's WASM loaded on first use). */
export async function blockDigest(hash: BlockHash, data: Uint8Array): Promise<MultihashDigest> {
  if (hash === 'sha2-256') return sha256.digest(data)
  if (!blake3Loaded()) await loadBlake3()
  return blake3Hasher.digest(data)
}

/**
 * The multihash `blockDigest` gives, when it can be computed before this returns (Node's SHA-256,
 * BLAKE3 once loaded), else undefined (a browser's SHA-256 is a promise).
 */
export function blockDigestNow(hash: BlockHash, data: Uint8Array): MultihashDigest | undefined {
  if (hash === 'blake3') return blake3Loaded() ? blake3Hasher.digest(data) : undefined
  const digest = sha256.digest(data)
  return digest instanceof Promise ? undefined : digest
}

/** True for the values a store may use as an ID: a CID or a byte string. */
export function isStoreId(value: unknown): value is StoreId {
  return value instanceof Uint8Array || CID.asCID(value) !== null
}

/** True when two store IDs are the same block's: equal CIDs, or equal bytes (a CID never equals bytes). */
export function sameId(a: StoreId, b: StoreId): boolean {
  const cidA = CID.asCID(a)
  const cidB = CID.asCID(b)
  if (cidA !== null || cidB !== null) return cidA !== null && cidB !== null && cidA.equals(cidB)
  return equals(a as Uint8Array, b as Uint8Array)
}

/**
 * A copy of `bytes` in a plain Uint8Array of its own. Not `slice()`: a Node Buffer (what a store or a
 * caller reading files hands in) answers `slice` with a view that shares its memory.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (Object.getPrototypeOf(bytes) === Uint8Array.prototype) return bytes.slice() as Uint8Array<ArrayBuffer>
  return new Uint8Array(bytes)
}

/**
 * `bytes` when they fill their buffer (a Buffer as a plain Uint8Array, whose `slice` copies), else a
 * copy that does: safe to keep without holding a larger buffer alive, and to transfer. Decoded node
 * IDs are views into their node's block, MemoryStore's into a shared chunk.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength !== bytes.buffer.byteLength) return copyBytes(bytes)
  return plainView(bytes)
}

/** `bytes` as a plain Uint8Array over the same memory (a Node Buffer's `slice` is a view; this one's copies). */
export function plainView(bytes: Uint8Array): Uint8Array {
  if (Object.getPrototypeOf(bytes) === Uint8Array.prototype) return bytes
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** An ID to keep in a buffer of its own (see {@link ownBytes}); a CID whose bytes are a view, decoded from a copy. */
export function ownId(id: StoreId): StoreId {
  if (id instanceof Uint8Array) return ownBytes(id)
  const bytes = id.bytes
  return bytes.byteLength === bytes.buffer.byteLength ? id : CID.decode(copyBytes(bytes))
}

/**
 * An ID to hand to a caller, who may transfer its buffer: byte IDs always copied (the map may hold
 * the very array), a CID as {@link ownId} keeps it.
 */
export function copyId(id: StoreId): StoreId {
  return id instanceof Uint8Array ? copyBytes(id) : ownId(id)
}

/** Human-readable ID for messages: the CID string, or hex for byte IDs. */
export function formatId(id: StoreId): string {
  return id instanceof Uint8Array ? `0x${bytesToHex(id)}` : id.toString()
}

/** Hex of `bytes` (multiformats' `toHex`, kept under this name as a public export). */
export const bytesToHex: (bytes: Uint8Array) => string = toHex

/** Bytes of an even-length hex string; anything else is a TypeError (multiformats' `fromHex` does not check). */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`expected an even-length hex string, got ${JSON.stringify(String(hex).slice(0, 16))}`)
  }
  return fromHex(hex)
}

/**
 * A root given as any store ID (a CID, or bytes as MemoryStore gives) or a CID's string form; anything
 * else is an {@link InvalidArgumentError} naming the argument (`name`).
 */
export function toStoreId(value: unknown, name: string): StoreId {
  const id = typeof value === 'string' ? toCid(value, name) : value
  if (!isStoreId(id))
    throw new InvalidArgumentError(`${name} must be a CID or bytes, got ${describeValue(id)}`)
  return id
}

/**
 * A CID given as a CID object (from any copy of multiformats) or its string form, checked at the
 * boundary: the one coercion every CID argument goes through. Anything else is an
 * {@link InvalidArgumentError} that names the argument (`name`) and what it got.

 */
export function toCid(value: unknown, name: string): CID {
  if (typeof value === 'string') {
    try {
      // CID.parse reads base58btc, base32 and base36; Kubo also prints base32 in upper case ('B…').
      return value.startsWith(base32upper.prefix) ? CID.parse(value, base32upper) : CID.parse(value)
    } catch (cause) {
      throw new InvalidArgumentError(`${name} must be a CID, got ${JSON.stringify(value.slice(0, 100))}`, {
        cause,
      })
    }
  }
  const cid = CID.asCID(value)
  if (cid !== null) return cid
  const got = value instanceof Uint8Array ? 'bytes (a store ID that is not a CID)' : describeValue(value)
  throw new InvalidArgumentError(`${name} must be a CID, got ${got}`)
}

/** The block an identity CID carries in itself (no store holds it, no gateway need be asked), else undefined. */
export function inlineBlock(cid: CID): Uint8Array | undefined {
  return cid.multihash.code === identity.code ? cid.multihash.digest : undefined
}
