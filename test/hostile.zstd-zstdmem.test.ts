// zstd frames larger than the WebAssembly decoder's memory can grow to (a browser's or a 32-bit
// process's limit, here V8's --wasm-max-mem-pages in a child process): zstddec and @foxglove/wasm-zstd
// do not check their malloc, so a failed one must be caught before it decodes from address 0.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { nodeWorkers } from '../src/node/workers.js'
import { zstddecDecoder } from '../src/zstd/zstddec.js'
import { fastCodec } from './helpers/zstd.js'
import { decodeUnderLimit, type MemoryDecoder, rleFrame } from './helpers/zstd-memory.js'

/** 20 MiB: zstddec starts with 16.1 MiB, so a frame of 24 MiB cannot be held. */
const PAGES = 320
const BIG = 24 << 20

describe('zstd decoders whose WebAssembly memory cannot grow (child process, memory limited to 20 MiB)', () => {
  for (const decoder of ['zstddec', 'foxglove-here', 'foxglove-thread'] satisfies MemoryDecoder[]) {
    it(`${decoder}: a frame too large for the memory is ERR_OUT_OF_MEMORY naming its size, never bytes; later frames decode`, async () => {
      const [warm, sized, unsized, ...after] = await decodeUnderLimit(decoder, PAGES, BIG)
      assert.deepEqual(warm, { length: 1000, correct: true })
      for (const [what, outcome] of [
        ['declaring its size', sized],
        ['without a declared size', unsized],
      ] as const) {
        assert.equal(outcome?.code, 'ERR_OUT_OF_MEMORY', `the frame ${what}: ${JSON.stringify(outcome)}`)
        assert.match(outcome?.message ?? '', new RegExp(String(BIG)), `the frame ${what} names its size`)
      }
      assert.deepEqual(
        after.map((outcome) => outcome.correct),
        [true, true, true],
        `frames after: ${JSON.stringify(after)}`,
      )
    })
  }
})

describe('empty zstd frames as real encoders write them decode to 0 bytes', () => {
  // No encoder found writes an unsized frame of compressed blocks decoding to nothing (the one empty
  // result zstddec's decodeUnsized refuses): empty input gets one empty raw block, with or without a size.
  const frames = {
    'zstd CLI 1.5 (printf "" | zstd -c --no-content-size)': '28b52ffd040001000099e9d851',
    'zstd CLI 1.5 (printf "" | zstd -c)': '28b52ffd240001000099e9d851',
    "numcodecs 0.16 Zstd().encode(b'')": '28b52ffd2000010000',
    'Node 24 zlib.zstdCompressSync(Buffer.alloc(0))': '28b52ffd2000010000',
  }
  for (const [name, decoder] of [
    ['zstddec', zstddecDecoder],
    ['nodeWorkers (foxglove, this thread)', nodeWorkers({ native: false, threads: 0 }).zstdDecoder],
  ] as const) {
    it(`${name}: each decodes to 0 bytes`, async () => {
      const codec = await fastCodec(decoder)
      await codec.decode(rleFrame(1000, 1)) // the decoder has worked: its refusals count
      for (const [writer, hex] of Object.entries(frames)) {
        const out = await codec.decode(new Uint8Array(Buffer.from(hex, 'hex')))
        assert.equal(out.length, 0, writer)
      }
    })
  }
})
