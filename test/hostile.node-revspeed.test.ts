// Outside review of nodeWorkers after this session (native BLAKE3 and zlib where present, worker
// threads otherwise): a block handed over as a view into a larger buffer is hashed as its own bytes,
// and a caller's Buffer (a store reading files answers with them) is neither detached nor changed by
// a task posted to a thread.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import NumcodecsZstd from 'numcodecs/zstd'
import { blake3, loadBlake3 } from '../src/blocks.js'
import { nodeWorkers } from '../src/node/workers.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const bytesOf = (length: number): Uint8Array => new Uint8Array(length).map(() => Math.floor(random() * 256))

for (const setup of [{}, { threads: 1, native: false }]) {
  describe(`nodeWorkers ${JSON.stringify(setup)}`, () => {
    it('BLAKE3 of a view into a larger buffer is the hash of the view, at any offset and length', async () => {
      const workers = nodeWorkers(setup)
      try {
        const big = bytesOf(300_000)
        for (const [offset, length] of [
          [0, 0],
          [1, 100],
          [7, 70_000],
          [4096, 65_536],
          [100_001, 199_999],
          [Math.floor(random() * 1000), 100_000 + Math.floor(random() * 100_000)],
        ] as const) {
          const view = big.subarray(offset, offset + length)
          assert.deepEqual(
            new Uint8Array(await workers.blake3Digest(view)),
            blake3(view.slice()),
            `${offset}+${length}`,
          )
        }
      } finally {
        await workers.close()
      }
    })

    it("a caller's Buffer given to a task is left whole and unchanged", async () => {
      const workers = nodeWorkers(setup)
      try {
        const raw = new Uint8Array(new Float32Array(20_000).map((_, i) => Math.sin(i / 30) + (i % 5)).buffer)
        const frame = Buffer.from(await new NumcodecsZstd(3).encode(raw))
        const kept = new Uint8Array(frame)
        assert.deepEqual(new Uint8Array(await workers.zstdDecoder.decode(frame, raw.length)), raw)
        assert.deepEqual(new Uint8Array(frame), kept, 'the frame')
        const block = Buffer.from(bytesOf(100_000))
        const before = new Uint8Array(block)
        assert.deepEqual(new Uint8Array(await workers.blake3Digest(block)), blake3(before))
        assert.deepEqual(new Uint8Array(block), before, 'the block')
      } finally {
        await workers.close()
      }
    })
  })
}
