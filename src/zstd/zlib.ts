import type { Transform } from 'node:stream'
import * as zlib from 'node:zlib'
import { type ZstdDecoder, zstdFrameLength } from '../zarr/zstd.js'

// Node 22.15+ and 23.8+; @types/node 20 does not declare it.
const { createZstdDecompress, zstdDecompress } = zlib as {
  createZstdDecompress?: (options: { chunkSize: number }) => Transform
  zstdDecompress?: (
    bytes: Uint8Array,
    options: { maxOutputLength: number },
    callback: (error: Error | null, out: Buffer) => void,
  ) => void
}
/** zlib's smallest output chunk (`zlib.constants.Z_MIN_CHUNK`). */
const MIN_CHUNK = 64

/**
 * Node's own zstd, `undefined` where `zlib` has none (Node 20). Asynchronous: it runs on libuv's
 * thread pool (4 threads unless `UV_THREADPOOL_SIZE` says otherwise, shared with fs and DNS), off
 * the main thread without worker setup. The output is one chunk a little larger than the declared
 * size: zlib's default 16 KiB chunks, joined at the end, made a whole read many times slower, and a
 * chunk of exactly the size, once filled, makes zlib allocate a second one and go back to the
 * thread pool to learn that the frame has ended (twice the memory, -14% CPU on a whole read without).
 * The frame is done once that chunk arrives: `zstdDecompress`'s own end of stream took a second
 * trip, queued behind every frame submitted meanwhile, so a whole read got no chunk until all were decoded.
 */
export const zlibDecoder: ZstdDecoder | undefined =
  createZstdDecompress === undefined
    ? undefined
    : {
        name: 'node:zlib',
        // A frame that does not declare its size, in chunks, stopping past the bound (ERR_BUFFER_TOO_LARGE).
        // One whole frame only: zlib ends its output with the first frame, ignoring any after it.
        decodeUnsized(compressed, maxSize) {
          if (zstdFrameLength(compressed) !== compressed.length) {
            return Promise.reject(new Error('not one whole zstd frame'))
          }
          return new Promise<Uint8Array>((resolve, reject) =>
            zstdDecompress?.(compressed, { maxOutputLength: maxSize }, (error, out) =>
              error ? reject(error) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength)),
            ),
          )
        },
        decode(compressed, size) {
          // The answer comes with the first output chunk, before zlib reads the frame's end: bytes that
          // are not one whole frame (a checksum cut off, junk after) go to the reference codec instead.
          if (zstdFrameLength(compressed) !== compressed.length) {
            return Promise.reject(new Error('not one whole zstd frame'))
          }
          const stream = createZstdDecompress({ chunkSize: size + MIN_CHUNK })
          return new Promise<Uint8Array>((resolve, reject) => {
            const fail = (error: Error): void => {
              reject(error)
              stream.destroy()
            }
            stream.on('data', (out: Buffer) => {
              // Anything but the whole frame in this one chunk (shorter, longer, bytes after the frame)
              // is the reference codec's case.
              if (
                out.length !== size ||
                (stream as { bytesWritten?: number }).bytesWritten !== compressed.length
              )
                fail(new Error('not one zstd frame of the declared size'))
              else {
                // A Buffer: handed on as a plain Uint8Array view of the same memory.
                resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength))
                stream.destroy()
              }
            })
            stream.on('error', fail)
            // Ended or closed without the chunk (a frame cut short): settled already otherwise.
            stream.on('end', () => fail(new Error('the zstd frame ended short of its declared size')))
            stream.on('close', () => fail(new Error('the zstd stream closed before the frame ended')))
            stream.end(compressed)
          })
        },
      }
