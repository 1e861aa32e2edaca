import { createRequire } from 'node:module'
import { equals, fromHex } from 'multiformats/bytes'
import type { Blake3Digest } from '../cas/verify.js'

/** BLAKE3 of no bytes (the reference test vector): a binary that does not give it is not used. */
const EMPTY_DIGEST = fromHex('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262')
/** BLAKE3's test vector for 8193 bytes `i % 251`: nine chunks, through the SIMD code no empty input reaches. */
const LONG_INPUT = 8193
const LONG_DIGEST = fromHex('bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b')

/**
 * BLAKE3 from `@napi-rs/blake-hash` (Rust's `blake3` crate with its SIMD code; the package's npm
 * platform packages carry prebuilt binaries, nothing is compiled at install) when it is installed
 * next to ts-hamt, else undefined. About 5× faster than hash-wasm's on 500 KB blocks (80 MB: ~20 ms
 * against ~100–160 ms, bench/results/zarr-node24.md), as ws uses `bufferutil`: optional, found at run time.
 */
export function nativeBlake3Digest(): Blake3Digest | undefined {
  let hash: ((input: Uint8Array) => Uint8Array) | undefined
  try {
    hash = (createRequire(import.meta.url)('@napi-rs/blake-hash') as { blake3?: typeof hash }).blake3
    const long = Uint8Array.from({ length: LONG_INPUT }, (_, i) => i % 251)
    if (
      typeof hash !== 'function' ||
      !equals(new Uint8Array(hash(new Uint8Array(0))), EMPTY_DIGEST) ||
      !equals(new Uint8Array(hash(long)), LONG_DIGEST)
    ) {
      return undefined
    }
  } catch {
    return undefined // not installed, or no binary for this platform
  }
  const native = hash
  // A Buffer is a Uint8Array: handed on as is (verifyBlock only compares it).
  return (bytes) => native(bytes)
}
