import { CID } from 'multiformats/cid'
import type { MultihashDigest } from 'multiformats/hashes/interface'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidArgumentError } from '../errors.js'
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

/** True for the values a store may use as an ID: a CID or a byte string. */
export function isStoreId(value: unknown): value is StoreId {
  return value instanceof Uint8Array || CID.asCID(value) !== null
}

/** Human-readable ID for messages: the CID string, or hex for byte IDs. */
export function formatId(id: StoreId): string {
  return id instanceof Uint8Array ? `0x${bytesToHex(id)}` : id.toString()
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function bytesToHex(bytes: Uint8Array): string {
  const out = new Array<string>(bytes.length)
  for (let i = 0; i < bytes.length; i++) out[i] = HEX[bytes[i] as number] as string
  return out.join('')
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`expected an even-length hex string, got ${JSON.stringify(hex.slice(0, 16))}`)
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}
