// The one write buffer of the CID stores (BlockstoreStore, DiskStore, KuboStore): blocks keep the
// order they came in, a failed flush keeps exactly what it did not write, flushes run one at a time.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockBuffer, type BufferedBlock } from '../src/cas/block-buffer.js'
import { BlockstoreStore } from '../src/cas/blockstore.js'
import './helpers/with-resolvers.js'

async function blockOf(i: number, size = 40, code = 0x55): Promise<BufferedBlock> {
  const bytes = new Uint8Array(size).fill(i & 0xff)
  new DataView(bytes.buffer).setUint32(0, i)
  return { cid: CID.createV1(code, await sha256.digest(bytes)), bytes }
}

const names = (blocks: readonly BufferedBlock[]): string[] => blocks.map((b) => String(b.cid))

describe('BlockBuffer', () => {
  it('writes blocks in arrival order, each multihash once, and holds copies', async () => {
    const batches: BufferedBlock[][] = []
    const buffer = new BlockBuffer(1 << 20, async (blocks) => {
      batches.push([...blocks])
    })
    const blocks = await Promise.all(Array.from({ length: 300 }, (_, i) => blockOf(i, i % 2 ? 40 : 5000)))
    buffer.add(blocks.slice(0, 150), true)
    buffer.add(blocks.slice(150), false)
    // The same bytes under a dag-cbor CID are the same block.
    const first = blocks[0] as BufferedBlock
    buffer.add([{ cid: CID.createV1(0x71, first.cid.multihash), bytes: first.bytes }], true)
    const source = (blocks[1] as BufferedBlock).bytes
    const kept = source.slice()
    source.fill(0xee)
    assert.deepEqual(buffer.get((blocks[1] as BufferedBlock).cid), kept, 'the buffer kept a copy')
    source.set(kept)
    for (const block of blocks) assert.deepEqual(buffer.get(block.cid), block.bytes)
    assert.equal(
      buffer.bytes,
      blocks.reduce((n, b) => n + b.bytes.length, 0),
    )
    await buffer.flush()
    assert.equal(batches.length, 1)
    assert.deepEqual(names(batches[0] as BufferedBlock[]), names(blocks), 'kept and rebuilt CIDs alike')
    assert.equal(buffer.bytes, 0)
    assert.equal(buffer.get(first.cid), undefined)
    await buffer.flush()
    assert.equal(batches.length, 1, 'an empty buffer writes nothing')
  })

  it('a failed flush keeps what it did not write, in order, and a retry writes only that', async () => {
    const blocks = await Promise.all(Array.from({ length: 10 }, (_, i) => blockOf(i)))
    for (let failAt = 0; failAt < 6; failAt++) {
      const written: string[] = []
      let fail = true
      const buffer = new BlockBuffer(1 << 20, async (batch, done) => {
        for (const block of batch) {
          if (fail && String(block.cid) === String(blocks[failAt]?.cid)) throw new Error('injected')
          written.push(String(block.cid))
          done(block)
        }
      })
      buffer.add(blocks.slice(0, 6), failAt % 2 === 0)
      await assert.rejects(buffer.flush(), /injected/)
      buffer.add(blocks.slice(6), true)
      assert.equal(buffer.bytes, 40 * (blocks.length - failAt))
      fail = false
      await buffer.flush()
      assert.deepEqual(written, names(blocks), `failing at ${failAt}`)
      assert.equal(buffer.bytes, 0)
    }
  })

  it('a confirming flush keeps what it wrote until its end passes; a failed confirm keeps every block', async () => {
    // A DiskStore's lost marker (disk13): another process's collection may have deleted what was written.
    const blocks = await Promise.all(Array.from({ length: 8 }, (_, i) => blockOf(i)))
    for (const failAt of [undefined, 2, 5]) {
      const written: string[] = []
      let fail = failAt !== undefined
      const buffer = new BlockBuffer(1 << 20, async (batch, done) => {
        for (const block of batch) {
          if (fail && String(block.cid) === String(blocks[failAt as number]?.cid)) throw new Error('injected')
          written.push(String(block.cid))
          done(block)
          // Written, not yet confirmed: readable still, no longer counted as waiting.
          assert.deepEqual(buffer.get(block.cid), block.bytes)
        }
        assert.equal(buffer.bytes, 0)
      })
      buffer.add(blocks.slice(0, 6), true)
      await assert.rejects(
        buffer.flush(undefined, async () => {
          throw new Error('lost')
        }),
        failAt === undefined ? /lost/ : /injected/,
        'the write failure first, then the lost confirm',
      )
      assert.equal(buffer.bytes, 40 * 6, `failing at ${failAt}: every block of the flush stays`)
      for (const block of blocks.slice(0, 6)) assert.deepEqual(buffer.get(block.cid), block.bytes)
      buffer.add(blocks.slice(6), false)
      fail = false
      written.length = 0
      let confirmed = 0
      await buffer.flush(undefined, async () => {
        confirmed++
      })
      assert.deepEqual(written, names(blocks), `failing at ${failAt}: all written again, in order`)
      assert.equal(confirmed, 1)
      assert.equal(buffer.bytes, 0)
      assert.equal(buffer.get((blocks[0] as BufferedBlock).cid), undefined, 'confirmed: out of the buffer')
      await buffer.flush(undefined, async () => {
        confirmed++
      })
      assert.equal(confirmed, 2, 'an empty buffer confirms too (blocks written before the flush)')
    }
    // A failed write with the marker held: what was written leaves, as without a confirm.
    const written: string[] = []
    const buffer = new BlockBuffer(1 << 20, async (batch, done) => {
      for (const block of batch) {
        if (String(block.cid) === String(blocks[3]?.cid)) throw new Error('injected')
        written.push(String(block.cid))
        done(block)
      }
    })
    buffer.add(blocks, true)
    await assert.rejects(
      buffer.flush(undefined, async () => {}),
      /injected/,
    )
    assert.equal(buffer.bytes, 40 * 5)
    assert.equal(buffer.get((blocks[0] as BufferedBlock).cid), undefined)
  })

  it('flushes run one at a time; blocks added during one wait for the next', async () => {
    const batches: string[][] = []
    let release!: () => void
    let running = 0
    const buffer = new BlockBuffer(1 << 20, async (batch) => {
      running++
      assert.equal(running, 1, 'two flushes at once')
      batches.push(names(batch))
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve))
      running--
    })
    const blocks = await Promise.all(Array.from({ length: 4 }, (_, i) => blockOf(i)))
    buffer.add(blocks.slice(0, 2), true)
    const first = buffer.flush()
    await new Promise((resolve) => setImmediate(resolve))
    buffer.add(blocks.slice(2), false)
    const second = buffer.flush()
    const controller = new AbortController()
    const gaveUp = buffer.flush({ signal: controller.signal })
    controller.abort()
    await assert.rejects(gaveUp, { name: 'AbortError' })
    release()
    await Promise.all([first, second])
    assert.deepEqual(batches, [names(blocks.slice(0, 2)), names(blocks.slice(2))])
  })

  it('an add says when the buffer is full', async () => {
    const buffer = new BlockBuffer(100, async () => {})
    assert.equal(buffer.add([await blockOf(1)], true), false)
    assert.equal(buffer.add([await blockOf(2), await blockOf(3)], true), true)
    await buffer.flush()
    assert.equal(buffer.bytes, 0)
  })

  it('CIDs of every version, codec and hash come back as they went in', async () => {
    const bytes = Uint8Array.of(1, 2, 3)
    const digest = await sha256.digest(bytes)
    const cids = [
      CID.createV0(digest),
      CID.createV1(0x71, digest),
      CID.createV1(0x55, identity.digest(bytes)),
    ]
    const batches: string[][] = []
    const buffer = new BlockBuffer(1 << 20, async (blocks) => {
      batches.push(names(blocks))
    })
    for (const cid of cids) buffer.add([{ cid, bytes }], false)
    await buffer.flush()
    // v0 and the dag-cbor v1 share a multihash: one block, under the CID it came with.
    assert.deepEqual(batches, [[String(cids[0]), String(cids[2])]])
  })
})

describe('BlockstoreStore writes in the order it saved', () => {
  it('children before the parents saved after them (a flush cut short leaves no dangling parent)', async () => {
    const order: string[] = []
    const memory = new MemoryBlockstore()
    const blockstore = {
      get: (cid: CID) => memory.get(cid),
      has: (cid: CID) => memory.has(cid),
      put: async (cid: CID, bytes: Uint8Array) => {
        order.push(String(cid))
        return memory.put(cid, bytes)
      },
    }
    const store = new BlockstoreStore(blockstore, { hash: 'sha2-256', writeConcurrency: 1 })
    const saved: string[] = []
    for (let i = 0; i < 200; i++)
      saved.push(String(await store.save(new TextEncoder().encode(`value ${i}`), 'raw')))
    await store.flush()
    assert.deepEqual(order, saved)
  })
})

describe('blocks handed to a blockstore', () => {
  it('own their bytes: a store that keeps or structured-clones them (IndexedDB) keeps no shared slab', async () => {
    // browser-level and blockstore-idb store the Uint8Array they get by structured clone, which
    // copies the whole ArrayBuffer under a view; MemoryBlockstore keeps the view (and CID) itself.
    const views: Uint8Array[] = []
    const blockstore = new MemoryBlockstore()
    const put = blockstore.put.bind(blockstore)
    blockstore.put = (cid, bytes, options) => {
      assert.ok(bytes instanceof Uint8Array)
      views.push(bytes, cid.bytes, cid.multihash.bytes, structuredClone(bytes))
      return put(cid, bytes, options)
    }
    const store = new BlockstoreStore(blockstore, { hash: 'sha2-256' })
    const blocks = await Promise.all(Array.from({ length: 200 }, (_, i) => blockOf(i)))
    for (const block of blocks.slice(0, 100)) await store.save(block.bytes, 'raw')
    for (const block of blocks.slice(100)) await store.putBlock(block.cid, block.bytes)
    await store.flush()
    assert.equal(views.length, 800)
    for (const view of views) {
      const held = view.buffer.byteLength
      assert.ok(held <= 1024, `a ${view.length}-byte block or CID holds a ${held}-byte buffer`)
    }
  })
})

describe('putBlock', () => {
  it('buffers the bytes it checked: a caller changing its array while putBlock runs changes nothing', async () => {
    for (const size of [40, 100_000]) {
      const store = new BlockstoreStore(new MemoryBlockstore())
      const { cid, bytes } = await blockOf(size, size)
      const original = bytes.slice()
      const put = store.putBlock(cid, bytes)
      bytes.fill(0xee) // after the call, before it settles
      await put
      assert.deepEqual(await store.getBlock(cid), original, `${size}-byte block`)
      await store.flush()
      assert.deepEqual(await store.getBlock(cid), original, `${size}-byte block, flushed`)
    }
  })
})

describe('BlockBuffer batches (an import that may fail)', () => {
  it('a dropped batch takes back only the blocks no one else put; a kept one stays', async () => {
    const written: string[] = []
    const buffer = new BlockBuffer(1 << 20, async (blocks, done) => {
      for (const block of blocks) {
        written.push(String(block.cid))
        done(block)
      }
    })
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map((i) => blockOf(i)))
    const [failing, succeeding] = [{}, {}]
    buffer.add([a, b, c] as BufferedBlock[], false, failing)
    buffer.add([b] as BufferedBlock[], true) // saved meanwhile: kept whatever the batch does
    buffer.add([c, d] as BufferedBlock[], false, succeeding)
    buffer.settle(succeeding, true)
    buffer.settle(failing, false)
    assert.equal(buffer.get((a as BufferedBlock).cid), undefined)
    await buffer.flush()
    assert.deepEqual(written.sort(), names([b, c, d] as BufferedBlock[]).sort())
  })

  it('a batch dropped while a flush writes it: the flush ends whole, nothing is written twice', async () => {
    const writing = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    const written: string[] = []
    const buffer = new BlockBuffer(1 << 20, async (blocks, done) => {
      writing.resolve()
      await release.promise
      for (const block of blocks) {
        written.push(String(block.cid))
        done(block)
      }
    })
    const blocks = await Promise.all([1, 2, 3].map((i) => blockOf(i)))
    const batch = {}
    buffer.add(blocks.slice(0, 2), false, batch)
    const flushing = buffer.flush()
    await writing.promise
    buffer.add(blocks.slice(2), false, batch)
    buffer.settle(batch, false)
    release.resolve()
    await flushing
    assert.equal(buffer.bytes, 0)
    await buffer.flush()
    assert.deepEqual(written, names(blocks.slice(0, 2)))
  })
})
