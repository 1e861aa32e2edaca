import * as zlib from 'node:zlib'
import type { ZstdDecoder } from '../zarr/zstd.js'

type ZstdDecompress = (
  input: Uint8Array,
  options: { chunkSize: number; maxOutputLength: number },
  callback: (error: Error | null, result: Uint8Array) => void,
) => void

// Node 22.15+ and 23.8+; @types/node 20 does not declare it.
const zstdDecompress = (zlib as { zstdDecompress?: ZstdDecompress }).zstdDecompress
/** zlib's smallest output chunk (`zlib.constants.Z_MIN_CHUNK`). */
const MIN_CHUNK = 64

/**
 * Node's own zstd, `undefined` where `zlib` has none (Node 20). Asynchronous: it runs on libuv's
 * thread pool (4 threads unless `UV_THREADPOOL_SIZE` says otherwise, shared with fs and DNS), off
 * the main thread without worker setup. The output is one chunk of the declared size: zlib's default
 * 16 KiB chunks, joined at the end, made a whole read many times slower.
 */
export const zlibDecoder: ZstdDecoder | undefined =
  zstdDecompress === undefined
    ? undefined
    : {
        name: 'node:zlib',
        decode(compressed, size) {
          return new Promise((resolve, reject) => {
            zstdDecompress(
              compressed,
              { chunkSize: Math.max(size, MIN_CHUNK), maxOutputLength: size },
              (error, result) => {
                if (error !== null) reject(error)
                // A Buffer: handed on as a plain Uint8Array view of the same memory.
                else resolve(new Uint8Array(result.buffer, result.byteOffset, result.byteLength))
              },
            )
          })
        },
      }
