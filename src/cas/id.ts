import { CID } from 'multiformats/cid'
import type { StoreId } from './interface.js'

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
