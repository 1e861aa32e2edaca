// numcodecs 0.3.2's zstd (zarrita's own, the fast codec's reference) leaks 32 bytes of its 64 KiB
// WebAssembly stack per frame it refuses (an exception leaves the stack pointer where it was), so after
// ~1,950 refusals every later call of the process fails or hangs; a frame followed by a cut-off frame
// header hangs it at once. Each case runs in a worker with its own numcodecs, under a hang guard.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import NumcodecsZstd from 'numcodecs/zstd'
import { zstdFramesFault } from '../src/zarr/zstd.js'
import { zlibDecoder } from '../src/zstd/zlib.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { frameWithoutContentSize } from './helpers/zstd.js'
import { type RefusalsJob, refusalsInChild } from './helpers/zstd-refusals.js'

const seed = testSeed()
const random = mulberry32(seed)

const inChild = (job: RefusalsJob) => refusalsInChild(job, seed)

const payload = new Uint8Array(1000).map(() => Math.floor(random() * 256))
const reference = new NumcodecsZstd(3)
/** A whole frame declaring its size, with a content checksum: numcodecs' own. */
const whole = await (async () => {
  const frame = await reference.encode(payload)
  // numcodecs writes no checksum: set the flag and append one that cannot match (low 32 bits of XXH64).
  const flagged = Uint8Array.from([...frame, 0, 0, 0, 0])
  flagged[4] = (flagged[4] as number) | 0x04
  return flagged
})()
const after = frameWithoutContentSize(payload)
/** A whole frame without a declared size whose one block, made "compressed", is not a valid one. */
const unsizedCorrupt = (() => {
  const frame = frameWithoutContentSize(payload).slice()
  frame[6] = (frame[6] as number) | 0x04 // the block's type: raw (0) made compressed (2)
  return frame
})()

for (const decoder of ['zstddec', ...(zlibDecoder ? ['node:zlib' as const] : [])] as const) {
  describe(`refused zstd frames, ${decoder}`, () => {
    it('a frame followed by a cut-off frame header, or nothing at all, is refused typed, no hang', async () => {
      const good = await reference.encode(payload)
      const inputs = [
        Uint8Array.from([...good, 0x28, 0xb5, 0x2f, 0xfd]),
        Uint8Array.from([...good, 0x28, 0xb5, 0x2f, 0xfd, 0x20]),
        new Uint8Array(0),
        Uint8Array.from([...good, 1, 2]),
      ]
      const result = await inChild({ decoder, inputs, times: 1, warmUp: good, after })
      assert.deepEqual(result.outcomes, { ERR_INVALID_VALUE: 4 }, JSON.stringify(result.messages))
      assert.match(
        result.messages.ERR_INVALID_VALUE as string,
        /zstd chunk refused: the frame at byte \d+ of \d+ is cut short/,
      )
      assert.equal(result.after, `decoded ${payload.length}`)
    })

    it('2,500 cut frames and 2,500 whole frames with a wrong checksum, then a frame only the reference decodes', async () => {
      const cut = whole.subarray(0, 500)
      const result = await inChild({
        decoder,
        inputs: [cut, whole],
        times: 2500,
        warmUp: await reference.encode(payload),
        after,
      })
      assert.deepEqual(result.outcomes, { ERR_INVALID_VALUE: 5000 }, JSON.stringify(result.messages))
      assert.equal(result.after, `decoded ${payload.length}`)
      assert.equal(result.encoded, 'encoded true')
    })

    it('after 1,024 refusals by the reference it is not asked again: a typed refusal, never a hang', async () => {
      const result = await inChild({
        decoder,
        // Two frames: the reference's case (the decoder refuses one unsized frame itself).
        inputs: [Uint8Array.from([...unsizedCorrupt, ...unsizedCorrupt])],
        times: 2500,
        warmUp: await reference.encode(payload),
        after,
      })
      // The reference's own errors are zarrita's plain Errors; then ours, naming the cause.
      assert.deepEqual(
        result.outcomes,
        { 'untyped Error': 1024, ERR_INVALID_VALUE: 1476 },
        JSON.stringify(result.messages),
      )
      assert.match(
        result.messages.ERR_INVALID_VALUE as string,
        /refused 1024 frames in this process .* fresh process/,
      )
      // A whole frame without a declared size is the decoder's (bounded by its blocks), not the reference's.
      assert.equal(result.after, `decoded ${payload.length}`)
      assert.equal(result.encoded, 'encoded true')
    })
  })
}

describe('zstdFramesFault: whole zstd and skippable frames and nothing else', () => {
  it('names what is cut short or is no frame, and passes runs of whole frames', async () => {
    const good = await reference.encode(payload)
    const skippable = Uint8Array.from([0x5e, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9])
    const run = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]))
    for (const whole of [good, run(good, good), run(skippable, good, skippable), skippable])
      assert.equal(zstdFramesFault(whole), undefined)
    const cut = (at: number) => new RegExp(`^the frame at byte ${at} of \\d+ is cut short`)
    assert.equal(zstdFramesFault(new Uint8Array(0)), 'no zstd frame (0 bytes)')
    assert.match(zstdFramesFault(good.subarray(0, good.length - 1)) as string, cut(0))
    assert.match(zstdFramesFault(run(good, good.subarray(0, 3))) as string, cut(good.length))
    assert.match(zstdFramesFault(run(good, skippable.subarray(0, 9))) as string, cut(good.length))
    assert.match(
      zstdFramesFault(run(good, Uint8Array.of(1, 2))) as string,
      new RegExp(`^bytes ${good.length}-`),
    )
    assert.match(
      zstdFramesFault(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfc, 0, 0, 0, 0)) as string,
      /^bytes 0-8 are no zstd frame/,
    )
  })
})
