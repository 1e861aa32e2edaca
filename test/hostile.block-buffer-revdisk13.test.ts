// Outsider review of disk13's confirming flush (BlockBuffer.flush(options, confirm)): written blocks
// held, uncounted, until the confirm; all kept when it fails. Each case crosses the hold with another
// change of the buffer (a save of a held block, a failed import's settle, an abort, a full buffer, a
// flush and an exclusive sweep queued behind it) and checks the byte count, what is readable, and
// what the next flush writes. The transport is a function recording what it is given (no store needed).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockBuffer, type BufferedBlock, type WriteBlocks } from '../src/cas/block-buffer.js'
import { mulberry32, testSeed } from './helpers/random.js'
import './helpers/with-resolvers.js'

const SIZE = 40

/** `count` seeded blocks of {@link SIZE} bytes. */
async function seededBlocks(seed: number, count: number): Promise<BufferedBlock[]> {
  const random = mulberry32(seed)
  return Promise.all(
    Array.from({ length: count }, async () => {
      const bytes = Uint8Array.from({ length: SIZE }, () => Math.floor(random() * 256))
      return { cid: CID.createV1(0x55, await sha256.digest(bytes)), bytes }
    }),
  )
}

/** A transport recording each block written; `gate`, when set, is awaited before each block. */
function recorder() {
  const written: string[] = []
  const state: { gate?: Promise<void>; reached?: () => void } = {}
  const write: WriteBlocks = async (blocks, done, options) => {
    for (const block of blocks) {
      state.reached?.()
      if (state.gate !== undefined) await state.gate
      options?.signal?.throwIfAborted()
      written.push(String(block.cid))
      done(block)
    }
  }
  return { written, state, write }
}

const lost = async (): Promise<void> => {
  throw new Error('lost')
}
const held = async (): Promise<void> => {}

describe('BlockBuffer: a confirming flush crossed with other changes (revdisk13)', () => {
  it('a held block saved again during the flush, the confirm failing: the next flush writes it; the count ends at 0', async () => {
    const seed = testSeed()
    const blocks = await seededBlocks(seed, 4)
    const { written, state, write } = recorder()
    const buffer = new BlockBuffer(1 << 20, write)
    buffer.add(blocks, true)
    const confirming = Promise.withResolvers<void>()
    const flushing = buffer.flush(undefined, () => confirming.promise)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(buffer.bytes, 0, `seed ${seed}: all written, held uncounted`)
    // Saved again while held: no second entry, nothing counted.
    assert.equal(buffer.add([blocks[1] as BufferedBlock], true), false)
    assert.equal(buffer.bytes, 0)
    confirming.reject(new Error('lost'))
    await assert.rejects(flushing, /lost/)
    assert.equal(buffer.bytes, SIZE * 4, `seed ${seed}: every block counted again`)
    written.length = 0
    state.gate = undefined
    await buffer.flush(undefined, held)
    assert.deepEqual(
      written,
      blocks.map((b) => String(b.cid)),
    )
    assert.equal(buffer.bytes, 0)
    for (const block of blocks) assert.equal(buffer.get(block.cid), undefined)
  })

  it("a failed import's settle takes a held block out during the confirm: not counted back, not written again", async () => {
    const seed = testSeed()
    const blocks = await seededBlocks(seed, 5)
    const { written, write } = recorder()
    const buffer = new BlockBuffer(1 << 20, write)
    const batch = {}
    buffer.add(blocks.slice(0, 3), true)
    buffer.add(blocks.slice(3), false, batch)
    const confirming = Promise.withResolvers<void>()
    const flushing = buffer.flush(undefined, () => confirming.promise)
    await new Promise((resolve) => setImmediate(resolve))
    buffer.settle(batch, false)
    assert.equal(buffer.get((blocks[4] as BufferedBlock).cid), undefined, 'the failed import took it out')
    assert.equal(buffer.bytes, 0)
    confirming.reject(new Error('lost'))
    await assert.rejects(flushing, /lost/)
    assert.equal(buffer.bytes, SIZE * 3, `seed ${seed}: the three saved blocks alone counted again`)
    written.length = 0
    await buffer.flush(undefined, held)
    assert.deepEqual(
      written,
      blocks.slice(0, 3).map((b) => String(b.cid)),
    )
    assert.equal(buffer.bytes, 0)
  })

  // Aborted at the third block: two written. A held marker lets those two leave; a lost one keeps all six.
  for (const [confirm, kept] of [
    [held, 4],
    [lost, 6],
  ] as const) {
    it(`an abort mid-write, the confirm ${confirm === held ? 'passing' : 'failing'}: ${kept} blocks stay counted, written next`, async () => {
      const seed = testSeed()
      const blocks = await seededBlocks(seed, 6)
      const { written, state, write } = recorder()
      const buffer = new BlockBuffer(1 << 20, write)
      buffer.add(blocks, true)
      const controller = new AbortController()
      let reached = 0
      state.reached = () => {
        if (++reached === 3) controller.abort(new Error('stop'))
      }
      await assert.rejects(buffer.flush({ signal: controller.signal }, confirm), /stop/)
      assert.equal(written.length, 2)
      assert.equal(buffer.bytes, SIZE * kept, `seed ${seed}: the blocks kept counted once`)
      state.reached = undefined
      written.length = 0
      await buffer.flush(undefined, held)
      assert.deepEqual(
        written,
        blocks.slice(6 - kept).map((b) => String(b.cid)),
      )
      assert.equal(buffer.bytes, 0)
    })
  }

  it('a full buffer during the confirm queues a plain flush: after a failed confirm it writes old and new, the count ends at 0', async () => {
    const seed = testSeed()
    const blocks = await seededBlocks(seed, 8)
    const { written, write } = recorder()
    const buffer = new BlockBuffer(SIZE * 3, write)
    assert.equal(buffer.add(blocks.slice(0, 2), true), false)
    const confirming = Promise.withResolvers<void>()
    const flushing = buffer.flush(undefined, () => confirming.promise)
    await new Promise((resolve) => setImmediate(resolve))
    // Held blocks do not count toward the limit: three new ones fill it.
    assert.equal(buffer.add(blocks.slice(2, 4), true), false)
    assert.equal(buffer.add(blocks.slice(4, 5), true), true)
    const before = written.length
    const plain = buffer.flush()
    confirming.reject(new Error('lost'))
    await assert.rejects(flushing, /lost/)
    await plain
    assert.deepEqual(
      written.slice(before),
      blocks.slice(0, 5).map((b) => String(b.cid)),
      `seed ${seed}: the plain flush wrote the kept blocks first, then the new`,
    )
    assert.equal(buffer.bytes, 0)
  })

  it('an exclusive sweep queued during the confirm runs after it settled: it sees the kept blocks counted', async () => {
    const seed = testSeed()
    const blocks = await seededBlocks(seed, 3)
    const { write } = recorder()
    const buffer = new BlockBuffer(1 << 20, write)
    buffer.add(blocks, true)
    const confirming = Promise.withResolvers<void>()
    const flushing = buffer.flush(undefined, () => confirming.promise)
    await new Promise((resolve) => setImmediate(resolve))
    let seen: number | undefined
    const sweep = buffer.exclusive(async () => {
      seen = buffer.bytes
    })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(seen, undefined, 'the sweep waits for the confirm')
    confirming.reject(new Error('lost'))
    await assert.rejects(flushing, /lost/)
    await sweep
    assert.equal(seen, SIZE * 3, `seed ${seed}`)
  })
})
