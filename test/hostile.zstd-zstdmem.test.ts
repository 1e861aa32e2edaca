// zstd frames larger than the WebAssembly decoder's memory can grow to (a browser's or a 32-bit
// process's limit, here V8's --wasm-max-mem-pages in a child process): zstddec and @foxglove/wasm-zstd
// do not check their malloc, so a failed one must be caught before it decodes from address 0.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeUnderLimit, type MemoryDecoder } from './helpers/zstd-memory.js'

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
