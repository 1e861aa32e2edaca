import { Transform, type TransformCallback } from 'node:stream'
import { finished } from 'node:stream/promises'
import * as zlib from 'node:zlib'

// A zstd body may be several frames back to back (RFC 8878, 3.1), as a server flushing per write sends
// it. Node's zstd stream ends its output with the first frame that ends inside a chunk, dropping the
// rest of the chunk: so each frame goes to a decoder of its own, its end found by reading only frame
// and block headers as the bytes pass (nothing is held back). Bytes that are no frame, or a body that
// ends inside one, are an error instead of a silently shorter body.

// Node 22.15+ and 23.8+; @types/node 20 does not declare it.
const createZstdDecompress = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress

/** Finds where frames end in a stream of zstd and skippable frames, reading their headers only. */
class FrameWalker {
  #header: number[] = []
  /** Header bytes to read, or (when `#skip` > 0) bytes to pass over, before `#next` runs. */
  #need = 4
  #skip = 0
  #next: (header: number[]) => void = (magic) => this.#magic(magic)
  #frameEnded = false
  #offset = 0
  /** Whether the bytes so far end between two frames (or before the first). */
  between = true

  /** The offsets in `chunk` just past each frame that ends in it. */
  feed(chunk: Uint8Array): number[] {
    const ends: number[] = []
    let at = 0
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const passed = Math.min(this.#skip, chunk.length - at)
        this.#skip -= passed
        at += passed
        if (this.#skip > 0) break
      } else {
        this.between = false
        this.#header.push(chunk[at++] as number)
        if (this.#header.length < this.#need) continue
      }
      const header = this.#header
      this.#header = []
      this.#next(header)
      if (this.#frameEnded) {
        ends.push(at)
        this.#frameEnded = false
        this.between = true
      }
    }
    this.#offset += chunk.length
    return ends
  }

  /** Reads `need` header bytes (or passes over `skip` bytes), then goes on with `next`. */
  #then(need: number, skip: number, next: (header: number[]) => void): void {
    this.#need = need
    this.#skip = skip
    this.#next = next
    if (skip === 0 && need === 0) next([])
  }

  #frameEnd(): void {
    this.#frameEnded = true
    this.#then(4, 0, (magic) => this.#magic(magic))
  }

  #magic([b0, b1, b2, b3]: number[]): void {
    if (b0 === 0x28 && b1 === 0xb5 && b2 === 0x2f && b3 === 0xfd) {
      this.#then(1, 0, ([descriptor]) => this.#descriptor(descriptor as number))
    } else if (((b0 as number) & 0xf0) === 0x50 && b1 === 0x2a && b2 === 0x4d && b3 === 0x18) {
      const skippable = (size: number[]): void => {
        const length = size.reduceRight((sum, byte) => sum * 256 + byte, 0)
        this.#then(0, length, () => this.#frameEnd())
      }
      this.#then(4, 0, skippable)
    } else {
      throw new TypeError(`the zstd body has bytes that start no zstd frame (by byte ${this.#offset})`)
    }
  }

  /** RFC 8878, 3.1.1.1: the header's size follows from its descriptor byte. */
  #descriptor(descriptor: number): void {
    const singleSegment = (descriptor >> 5) & 1
    const checksum = ((descriptor >> 2) & 1) === 1
    const window = singleSegment === 1 ? 0 : 1
    const dictionary = [0, 1, 2, 4][descriptor & 3] as number
    const contentSize = [singleSegment, 2, 4, 8][descriptor >> 6] as number
    this.#then(0, window + dictionary + contentSize, () => this.#block(checksum))
  }

  /** RFC 8878, 3.1.1.2: a 3-byte block header (last flag, type, size); an RLE block holds one byte. */
  #block(checksum: boolean): void {
    this.#then(3, 0, ([b0, b1, b2]) => {
      const header = (b0 as number) | ((b1 as number) << 8) | ((b2 as number) << 16)
      const type = (header >> 1) & 3
      if (type === 3) throw new TypeError('the zstd body has a block of the reserved type')
      const last = (header & 1) === 1
      const after = last
        ? () => this.#then(0, checksum ? 4 : 0, () => this.#frameEnd())
        : () => this.#block(checksum)
      this.#then(0, type === 1 ? 1 : header >>> 3, after)
    })
  }
}

/** Resumes the frame's decoder when more output is wanted: backpressure, as a pipeline has it. */
class FramesDecoder extends Transform {
  frame: Transform | undefined

  override _read(size: number): void {
    this.frame?.resume()
    super._read(size)
  }
}

/**
 * Decodes a `Content-Encoding: zstd` body of any number of frames, each by a `node:zlib` decoder of
 * its own; `undefined` where `node:zlib` has no zstd (Node before 22.15).
 */
export function zstdBodyDecoder(): Transform | undefined {
  if (createZstdDecompress === undefined) return undefined
  const walker = new FrameWalker()
  const decoder = new FramesDecoder({
    async transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        let from = 0
        for (const end of walker.feed(chunk)) {
          await write(chunk.subarray(from, end))
          await endFrame()
          from = end
        }
        if (from < chunk.length) await write(chunk.subarray(from))
        done()
      } catch (error) {
        done(error as Error)
      }
    },
    destroy(error, done) {
      decoder.frame?.destroy() // a cancelled or failed body: its zlib handle is freed now, not at GC
      done(error)
    },
    async flush(done: TransformCallback) {
      if (!walker.between) return done(new TypeError('the zstd body ends inside a frame'))
      done()
    },
  })
  const write = async (bytes: Uint8Array): Promise<void> => {
    let frame = decoder.frame
    if (frame === undefined) {
      const started = (createZstdDecompress as () => Transform)()
      frame = started
      decoder.frame = started
      started.on('data', (out: Buffer) => {
        if (!decoder.push(out)) started.pause()
      })
      frame.on('error', (error) => decoder.destroy(error)) // a corrupt frame: the body fails with it
    }
    if (!frame.write(bytes)) await new Promise((resolve) => frame.once('drain', resolve))
  }
  const endFrame = async (): Promise<void> => {
    const ending = decoder.frame as Transform
    ending.end()
    await finished(ending) // still decoder.frame meanwhile: a read resumes it until its output is out
    decoder.frame = undefined
  }
  return decoder
}
