// readBody's answer must be its own bytes: a fetch may hand its body over in a buffer it reuses (a
// pooled reader, a cache), and bytes verified against their CID must not change after.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readBody } from '../src/cas/http-body.js'
import { testSeed } from './helpers/random.js'

/** A body of one chunk, streamed (no Content-Length, as a chunked or encoded answer has none). */
function streamedOnce(chunk: Uint8Array): Response {
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(chunk)
        controller.close()
      },
    }),
  )
}

describe('readBody of a body streamed in one chunk', () => {
  it('keeps its bytes when the fetch reuses its buffer afterwards', async () => {
    const seed = testSeed()
    const pooled = new Uint8Array(64 << 10).map((_, i) => (i * 31 + seed) & 255)
    const expected = pooled.slice()
    const body = await readBody(streamedOnce(pooled), 1 << 22, 'a reused buffer')
    pooled.fill(0) // the fetch's next answer goes into the same buffer
    assert.deepEqual(body, expected, `seed ${seed}`)
  })

  it('holds only its own bytes when the chunk is a view of a larger buffer', async () => {
    const shared = new Uint8Array(1 << 16).fill(7)
    const body = await readBody(streamedOnce(shared.subarray(100, 200)), 1 << 22, 'a view')
    assert.equal(body.length, 100)
    assert.equal(body.buffer.byteLength, 100, 'the rest of the shared buffer is kept alive and visible')
  })
})
