// A zstd-encoded answer may be several frames back to back (RFC 8878 allows it; a server streaming
// zstd often flushes one frame per write): nodeHttpFetch must decode all of them, not stop after the
// first, or an unverified read (verify: false) would be silently cut. zstd needs Node 22.15+.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import * as zlib from 'node:zlib'
import { nodeHttpFetch } from '../src/node/http-fetch.js'
import { withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const compress = (zlib as { zstdCompressSync?: (data: Uint8Array) => Buffer }).zstdCompressSync
const seed = testSeed()
const random = mulberry32(seed)

/** A loopback server answering every request with `chunks` as a zstd-encoded body, one write each. */
async function zstdServer(chunks: Uint8Array[]): Promise<string> {
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-encoding': 'zstd' })
    for (const chunk of chunks) res.write(chunk)
    res.end()
  })
  return server.url
}

const generatedParts = (): Buffer[] =>
  Array.from({ length: 2 + Math.floor(random() * 4) }, () =>
    // Random bytes (incompressible) then repeated ones: frames of raw and compressed blocks.
    Buffer.concat([
      randomBytes(1 + Math.floor(random() * 50_000)),
      Buffer.alloc(Math.floor(random() * 50_000), 7),
    ]),
  )

describe(`nodeHttpFetch of a zstd body (seed ${seed})`, {
  skip: compress === undefined && 'no zstd in node:zlib',
}, () => {
  const zstd = compress as (data: Uint8Array) => Buffer

  for (const written of ['a write per frame', 'one write', 'writes cut anywhere']) {
    it(`of several frames, sent in ${written}, decodes every frame`, async () => {
      const parts = generatedParts()
      // A skippable frame (RFC 8878, 3.1.2) between the first two: no output of its own.
      const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3])
      const frames = parts.map((part, index) =>
        index === 1 ? Buffer.concat([skippable, zstd(part)]) : zstd(part),
      )
      const whole = Buffer.concat(frames)
      const cuts = Array.from({ length: 6 }, () => Math.floor(random() * whole.length)).sort((a, b) => a - b)
      const chunks =
        written === 'one write'
          ? [whole]
          : written === 'a write per frame'
            ? frames
            : [0, ...cuts].map((from, index) => whole.subarray(from, [...cuts, whole.length][index]))
      const answer = await nodeHttpFetch()(await zstdServer(chunks))
      const body = Buffer.from(await answer.arrayBuffer())
      assert.equal(body.length, Buffer.concat(parts).length, `${frames.length} frames`)
      assert.ok(body.equals(Buffer.concat(parts)))
    })
  }

  it('of frames that decode to gigabytes, read slowly, stays within the memory budget', async () => {
    // Each frame is 256 MiB of zeros in a few kB: frame decoders must wait for the reader.
    const frame = zstd(Buffer.alloc(256 << 20))
    const url = await zstdServer([Buffer.concat([frame, frame, frame])])
    const outcome = await withinBudget('zstd bomb', async () => {
      const reader = ((await nodeHttpFetch()(url)).body as ReadableStream<Uint8Array>).getReader()
      await reader.read()
      // A reader that pauses: time for decoders that do not wait to fill memory (no timed assertion).
      await new Promise((resolve) => setTimeout(resolve, 1000))
      await reader.cancel()
    })
    assert.equal(outcome.error, undefined)
  })

  const refused: Record<string, (frames: Buffer[]) => Buffer> = {
    'a frame then bytes that are no frame': (frames) =>
      Buffer.concat([frames[0] as Buffer, Buffer.from('junk!')]),
    'a frame then one cut short': (frames) =>
      Buffer.concat([
        frames[0] as Buffer,
        (frames[1] as Buffer).subarray(0, (frames[1] as Buffer).length - 5),
      ]),
  }
  for (const [name, body] of Object.entries(refused)) {
    it(`of ${name} fails (a TypeError, as fetch's body errors are), not a shorter body`, async () => {
      const answer = await nodeHttpFetch()(await zstdServer([body(generatedParts().map(zstd))]))
      await assert.rejects(answer.arrayBuffer(), TypeError)
    })
  }
})
