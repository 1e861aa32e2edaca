import * as zlib from 'node:zlib'
import type { ZstdDecoder } from '../zarr/zstd.js'

type ZstdDecompress = (
  input: Uint8Array,
  options: { chunkSize: number; maxOutputLength: number; info: true },
  callback: (error: Error | null, result: { buffer: Uint8Array; engine: { bytesWritten: number } }) => void,
) => void

// Node 22.15+ and 23.8+; @types/node 20 does not declare it.
const zstdDecompress = (zlib as { zstdDecompress?: ZstdDecompress }).zstdDecompress
/** zlib's smallest output chunk (`zlib.constants.Z_MIN_CHUNK`). */
const MIN_CHUNK = 64

/**
 * Node's own zstd, `undefined` where `zlib` has none (Node 20). Asynchronous: it runs on libuv's
 * thread pool (4 threads unless `UV_THREADPOOL_SIZE` says otherwise, shared with fs and DNS), off
 * the main thread without worker setup. The output is one chunk a little larger than the declared
 * size: zlib's default 16 KiB chunks, joined at the end, made a whole read many times slower, and a
 * chunk of exactly the size, once filled, makes zlib allocate a second one and go back to the
 * thread pool to learn that the frame has ended (twice the memory, -14% CPU on a whole read without).
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
              { chunkSize: size + MIN_CHUNK, maxOutputLength: size, info: true },
              (error, result) => {
                if (error !== null) reject(error)
                // Bytes after the first frame (a second frame, junk): zlib stops at the frame's end
                // when it has room left, so this is the reference codec's case.
                else if (result.engine.bytesWritten !== compressed.length)
                  reject(new Error('bytes after the zstd frame'))
                else {
                  // A Buffer: handed on as a plain Uint8Array view of the same memory.
                  const out = result.buffer
                  resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength))
                }
              },
            )
          })
        },
      }
