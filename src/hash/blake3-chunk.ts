// BLAKE3 of one chunk (at most 1 KiB) in plain JS, for keys and small value blocks. hash-wasm's
// wrapper makes three views of the input and copies it in and the digest out: 0.3-0.45 µs and four
// typed arrays per 9-byte key, where this is ~0.2 µs and writes into the caller's array. Larger
// inputs go to hash-wasm (faster from 64 bytes up). test/hamt.hotpath.test.ts checks it against
// @noble/hashes for every length.

/** Inputs up to this many bytes take the JS path: below it, one or few compressions beat hash-wasm's call. */
export const SMALL_INPUT = 64

const IV = Int32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
)
const CHUNK_START = 1
const CHUNK_END = 2
const ROOT = 8
const block = new Int32Array(16)
const cv = new Int32Array(8)

/**
 * The compression function with chunk counter 0, on local variables (V8 keeps them in registers; a
 * state array cost several times more): leaves the new chaining value in `cv`.
 */
function compress(blockLength: number, flags: number): void {
  let v0 = cv[0] as number
  let v1 = cv[1] as number
  let v2 = cv[2] as number
  let v3 = cv[3] as number
  let v4 = cv[4] as number
  let v5 = cv[5] as number
  let v6 = cv[6] as number
  let v7 = cv[7] as number
  let v8 = IV[0] as number
  let v9 = IV[1] as number
  let v10 = IV[2] as number
  let v11 = IV[3] as number
  let v12 = 0
  let v13 = 0
  let v14 = blockLength
  let v15 = flags
  let m0 = block[0] as number
  let m1 = block[1] as number
  let m2 = block[2] as number
  let m3 = block[3] as number
  let m4 = block[4] as number
  let m5 = block[5] as number
  let m6 = block[6] as number
  let m7 = block[7] as number
  let m8 = block[8] as number
  let m9 = block[9] as number
  let m10 = block[10] as number
  let m11 = block[11] as number
  let m12 = block[12] as number
  let m13 = block[13] as number
  let m14 = block[14] as number
  let m15 = block[15] as number
  for (let round = 0; ; round++) {
    v0 = (v0 + v4 + m0) | 0
    v12 ^= v0
    v12 = (v12 >>> 16) | (v12 << 16)
    v8 = (v8 + v12) | 0
    v4 ^= v8
    v4 = (v4 >>> 12) | (v4 << 20)
    v0 = (v0 + v4 + m1) | 0
    v12 ^= v0
    v12 = (v12 >>> 8) | (v12 << 24)
    v8 = (v8 + v12) | 0
    v4 ^= v8
    v4 = (v4 >>> 7) | (v4 << 25)
    v1 = (v1 + v5 + m2) | 0
    v13 ^= v1
    v13 = (v13 >>> 16) | (v13 << 16)
    v9 = (v9 + v13) | 0
    v5 ^= v9
    v5 = (v5 >>> 12) | (v5 << 20)
    v1 = (v1 + v5 + m3) | 0
    v13 ^= v1
    v13 = (v13 >>> 8) | (v13 << 24)
    v9 = (v9 + v13) | 0
    v5 ^= v9
    v5 = (v5 >>> 7) | (v5 << 25)
    v2 = (v2 + v6 + m4) | 0
    v14 ^= v2
    v14 = (v14 >>> 16) | (v14 << 16)
    v10 = (v10 + v14) | 0
    v6 ^= v10
    v6 = (v6 >>> 12) | (v6 << 20)
    v2 = (v2 + v6 + m5) | 0
    v14 ^= v2
    v14 = (v14 >>> 8) | (v14 << 24)
    v10 = (v10 + v14) | 0
    v6 ^= v10
    v6 = (v6 >>> 7) | (v6 << 25)
    v3 = (v3 + v7 + m6) | 0
    v15 ^= v3
    v15 = (v15 >>> 16) | (v15 << 16)
    v11 = (v11 + v15) | 0
    v7 ^= v11
    v7 = (v7 >>> 12) | (v7 << 20)
    v3 = (v3 + v7 + m7) | 0
    v15 ^= v3
    v15 = (v15 >>> 8) | (v15 << 24)
    v11 = (v11 + v15) | 0
    v7 ^= v11
    v7 = (v7 >>> 7) | (v7 << 25)
    v0 = (v0 + v5 + m8) | 0
    v15 ^= v0
    v15 = (v15 >>> 16) | (v15 << 16)
    v10 = (v10 + v15) | 0
    v5 ^= v10
    v5 = (v5 >>> 12) | (v5 << 20)
    v0 = (v0 + v5 + m9) | 0
    v15 ^= v0
    v15 = (v15 >>> 8) | (v15 << 24)
    v10 = (v10 + v15) | 0
    v5 ^= v10
    v5 = (v5 >>> 7) | (v5 << 25)
    v1 = (v1 + v6 + m10) | 0
    v12 ^= v1
    v12 = (v12 >>> 16) | (v12 << 16)
    v11 = (v11 + v12) | 0
    v6 ^= v11
    v6 = (v6 >>> 12) | (v6 << 20)
    v1 = (v1 + v6 + m11) | 0
    v12 ^= v1
    v12 = (v12 >>> 8) | (v12 << 24)
    v11 = (v11 + v12) | 0
    v6 ^= v11
    v6 = (v6 >>> 7) | (v6 << 25)
    v2 = (v2 + v7 + m12) | 0
    v13 ^= v2
    v13 = (v13 >>> 16) | (v13 << 16)
    v8 = (v8 + v13) | 0
    v7 ^= v8
    v7 = (v7 >>> 12) | (v7 << 20)
    v2 = (v2 + v7 + m13) | 0
    v13 ^= v2
    v13 = (v13 >>> 8) | (v13 << 24)
    v8 = (v8 + v13) | 0
    v7 ^= v8
    v7 = (v7 >>> 7) | (v7 << 25)
    v3 = (v3 + v4 + m14) | 0
    v14 ^= v3
    v14 = (v14 >>> 16) | (v14 << 16)
    v9 = (v9 + v14) | 0
    v4 ^= v9
    v4 = (v4 >>> 12) | (v4 << 20)
    v3 = (v3 + v4 + m15) | 0
    v14 ^= v3
    v14 = (v14 >>> 8) | (v14 << 24)
    v9 = (v9 + v14) | 0
    v4 ^= v9
    v4 = (v4 >>> 7) | (v4 << 25)
    if (round === 6) break
    // The message permutation between rounds.
    const t0 = m0,
      t1 = m1,
      t2 = m2,
      t3 = m3,
      t4 = m4,
      t5 = m5,
      t6 = m6,
      t7 = m7
    const t8 = m8,
      t9 = m9,
      t10 = m10,
      t11 = m11,
      t12 = m12,
      t13 = m13,
      t14 = m14,
      t15 = m15
    m0 = t2
    m1 = t6
    m2 = t3
    m3 = t10
    m4 = t7
    m5 = t0
    m6 = t4
    m7 = t13
    m8 = t1
    m9 = t11
    m10 = t12
    m11 = t5
    m12 = t9
    m13 = t14
    m14 = t15
    m15 = t8
  }
  cv[0] = v0 ^ v8
  cv[1] = v1 ^ v9
  cv[2] = v2 ^ v10
  cv[3] = v3 ^ v11
  cv[4] = v4 ^ v12
  cv[5] = v5 ^ v13
  cv[6] = v6 ^ v14
  cv[7] = v7 ^ v15
}

/** Loads up to 64 bytes from `input` at `start` as 16 little-endian words, zero-padded. */
function loadBlock(input: Uint8Array, start: number, length: number): void {
  block.fill(0)
  for (let i = 0; i < length; i++) {
    const w = i >> 2
    block[w] = (block[w] as number) | ((input[start + i] as number) << ((i & 3) << 3))
  }
}

/**
 * Writes the 32-byte BLAKE3 digest of `input[0..length)` into `out` at `offset`; `length` at most
 * 1024 (one chunk). Synchronous and allocation-free.
 */
export function blake3ChunkInto(input: Uint8Array, length: number, out: Uint8Array, offset: number): void {
  cv.set(IV)
  let start = 0
  let flags = CHUNK_START
  while (length - start > 64) {
    loadBlock(input, start, 64)
    compress(64, flags)
    start += 64
    flags = 0
  }
  loadBlock(input, start, length - start)
  compress(length - start, flags | CHUNK_END | ROOT)
  for (let i = 0; i < 8; i++) {
    const word = cv[i] as number
    const o = offset + 4 * i
    out[o] = word
    out[o + 1] = word >>> 8
    out[o + 2] = word >>> 16
    out[o + 3] = word >>> 24
  }
}
