// zstd chunks a decoder must not see or must not decode unchecked: several frames handed to a decoder
// that reads one (as ZstdDecoder says it does), and zstddec instantiated by other code first.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type ZstdDecoder, zstdFrameLength } from '../src/zarr/zstd.js'
import { zstddecDecoder } from '../src/zstd/zstddec.js'
import { fastCodec } from './helpers/zstd.js'
import { decodeUnderLimit, rleFrame } from './helpers/zstd-memory.js'

/** A decoder as the interface describes one: it decodes the one frame the bytes start with. */
const firstFrameOnly: ZstdDecoder = {
  name: 'first frame only',
  decode: (compressed, size) =>
    zstddecDecoder.decode(compressed.subarray(0, zstdFrameLength(compressed)), size),
}

describe('a chunk of several zstd frames, each declaring its size', () => {
  it('decodes to every frame, not the first one only, with a decoder that reads one frame', async () => {
    const codec = await fastCodec(firstFrameOnly)
    const chunk = Uint8Array.from([...rleFrame(1000, 1), ...rleFrame(3000, 2)])
    const out = await codec.decode(chunk)
    assert.equal(out.length, 4000)
    assert.ok(
      out.subarray(0, 1000).every((b: number) => b === 1) && out.subarray(1000).every((b: number) => b === 2),
    )
  })
})

describe('zstddec instantiated by other code before ts-hamt (child process, memory limited to 20 MiB)', () => {
  it('never hands out its memory as a frame: frames too large fail, smaller ones decode', async () => {
    const [warm, sized, unsized, ...after] = await decodeUnderLimit('zstddec-preloaded', 320, 24 << 20)
    assert.deepEqual(warm, { length: 1000, correct: true })
    for (const outcome of [sized, unsized]) {
      assert.equal(outcome?.length, undefined, `a frame too large gave bytes: ${JSON.stringify(outcome)}`)
      assert.notEqual(outcome?.code, 'ERR_INVALID_VALUE', `a valid frame refused: ${JSON.stringify(outcome)}`)
    }
    assert.deepEqual(
      after.map((outcome) => outcome.correct),
      [true, true, true],
    )
  })
})
