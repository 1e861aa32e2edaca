import { createBLAKE3, type IHasher } from 'hash-wasm'
import { from } from 'multiformats/hashes/hasher'
import type { SyncMultihashHasher } from 'multiformats/hashes/interface'
import { blake3ChunkInto, SMALL_INPUT } from './blake3-chunk.js'

/** Multicodec code of BLAKE3-256 multihashes. */
export const BLAKE3_CODE = 0x1e

let wasmHasher: IHasher | undefined

// hash-wasm is ~10x faster than pure JS on key-sized inputs (bench/blake3.ts) but needs one async
// WASM instantiation; after that, hashing is synchronous, as the HAMT's hot path wants.
/** Loads the BLAKE3 WASM module once; every later call returns at once. */
export async function loadBlake3(): Promise<void> {
  wasmHasher ??= await createBLAKE3(256)
}

/** True once {@link loadBlake3} has finished: hashing can then run synchronously. */
export function blake3Loaded(): boolean {
  return wasmHasher !== undefined
}

/**
 * BLAKE3 with a 32-byte output (the raw digest, no multihash prefix): the HAMT's default key hash,
 * as py-hamt's `blake3_hashfn`. Call {@link loadBlake3} once before the first use.
 */
export function blake3(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return blake3Prefix(data, data.length)
}

/**
 * Inputs up to this size are copied here before hashing: hash-wasm takes a view of the input's
 * `buffer`, and for a small array V8 then moves its bytes off the heap, which cost more than the
 * hash (0.9 µs against 0.4 µs for a 9-byte key).
 */
const staging = new Uint8Array(1024)

/** BLAKE3 of `data[0..length)`: a reused buffer can be hashed without a view of it per call. */
export function blake3Prefix(data: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  if (length <= SMALL_INPUT) {
    const out = new Uint8Array(32)
    blake3ChunkInto(data, length, out, 0)
    return out
  }
  if (wasmHasher === undefined) {
    throw new Error('BLAKE3 is not loaded yet: await loadBlake3() first')
  }
  wasmHasher.init()
  if (length <= staging.length) {
    if (data !== staging) staging.set(length === data.length ? data : data.subarray(0, length))
    wasmHasher.update(staging.subarray(0, length))
  } else wasmHasher.update(data.subarray(0, length))
  return wasmHasher.digest('binary') as Uint8Array<ArrayBuffer>
}

/**
 * BLAKE3 of `data[0..length)` written into `out` (32 bytes): {@link blake3Prefix} without a new array
 * for an input of at most `SMALL_INPUT` bytes (a key), hashed in JS.
 */
export function blake3PrefixInto(data: Uint8Array, length: number, out: Uint8Array): void {
  if (length <= SMALL_INPUT) blake3ChunkInto(data, length, out, 0)
  else out.set(blake3Prefix(data, length))
}

/** BLAKE3-256 as a multiformats hasher (code 0x1e), for CIDs and multihash IDs. */
export const blake3Hasher = from({
  name: 'blake3',
  code: BLAKE3_CODE,
  encode: blake3,
}) as SyncMultihashHasher<typeof BLAKE3_CODE>

/** The BLAKE3-256 multihash of `data` as bytes (`1e 20` + digest): py-hamt InMemoryCAS's ID. */
export function blake3Multihash(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(34)
  blake3MultihashInto(data, out, 0)
  return out
}

/** Writes the BLAKE3-256 multihash of `data` (34 bytes) into `out` at `offset`. */
export function blake3MultihashInto(data: Uint8Array, out: Uint8Array, offset: number): void {
  out[offset] = BLAKE3_CODE
  out[offset + 1] = 32
  if (data.length <= SMALL_INPUT) blake3ChunkInto(data, data.length, out, offset + 2)
  else out.set(blake3(data), offset + 2)
}
