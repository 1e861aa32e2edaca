// Review of gw13's bound on CAR streams (boundedStream): a legitimate stream must still be taken,
// a stream of empty pieces must not loop forever, and a refused stream is let go (closed).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockstoreStore, importCar } from '../src/index.js'
import { importCarFile } from '../src/node/index.js'
import { carOf } from './helpers/car-blocks.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'

const KiB = 1 << 10
const seed = testSeed()
const random = mulberry32(seed)
const bytesOf = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256))
const rawBlock = async (bytes: Uint8Array) => ({
  cid: CID.createV1(raw.code, await sha256.digest(bytes)),
  bytes,
})
const store = () => new BlockstoreStore(new MemoryBlockstore())

async function* piecesOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

/** `prefix`, then `piece` forever (until `stop()`); `closed()` says whether the import let it go. */
function endless(prefix: Uint8Array, piece: Uint8Array, onPiece?: (count: number) => void) {
  let closed = false
  let stopped = false
  async function* pieces(): AsyncGenerator<Uint8Array> {
    try {
      yield prefix
      for (let count = 1; !stopped; count++) {
        await new Promise((resolve) => setImmediate(resolve))
        onPiece?.(count)
        yield piece
      }
    } finally {
      closed = true
    }
  }
  return {
    stream: pieces(),
    closed: () => closed,
    stop: () => {
      stopped = true
    },
  }
}

describe('review of gw13: CAR streams bounded by maxBlockBytes', () => {
  it('a block of exactly maxBlockBytes after a header naming many roots is taken from a stream', async () => {
    // 100 roots (legal, if rare): the header and the first block are counted as one section.
    const small = await Promise.all(Array.from({ length: 100 }, () => rawBlock(bytesOf(16))))
    const big = await rawBlock(bytesOf(64 * KiB))
    const car = await carOf([big.cid, ...small.map((b) => b.cid)], [big, ...small])
    const taken = await importCar(store(), piecesOf(car, KiB), { maxBlockBytes: 64 * KiB })
    assert.equal(taken.blocks, 101)
    // Byte by byte, the header and every section split over pieces.
    const bytewise = await importCar(store(), piecesOf(car, 1), { maxBlockBytes: 64 * KiB })
    assert.equal(bytewise.blocks, 101)
  })

  it('empty pieces forever: a typed error within budget, the source closed', async () => {
    const header = await carOf([(await rawBlock(bytesOf(8))).cid], [])
    const source = endless(header, new Uint8Array(0))
    try {
      const outcome = await withinBudget('empty pieces', (signal) =>
        importCar(store(), source.stream, { signal }),
      )
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
      assert.ok(source.closed(), 'the source was closed')
    } finally {
      source.stop()
    }
  })

  it('a section declaring 1 TiB from a source whose return() never settles: refused all the same', async () => {
    const block = await rawBlock(bytesOf(8))
    const header = await carOf([block.cid], [])
    const noise = bytesOf(64 * KiB)
    let sent = 0
    let returned = false
    const prefix = Uint8Array.from([...header, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, ...block.cid.bytes])
    const stream: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: sent++ === 0 ? prefix : noise }),
        return: () => {
          returned = true
          return new Promise<IteratorResult<Uint8Array>>(() => {})
        },
      }),
    }
    const outcome = await withinBudget('return() hangs', (signal) => importCar(store(), stream, { signal }))
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.ok(returned, 'the source was asked to close')
  })

  it('a corrupt block, then endless bytes: ERR_INTEGRITY, the source closed', async () => {
    const block = await rawBlock(bytesOf(1024))
    const other = await rawBlock(bytesOf(1024))
    // The first block's CID with another block's bytes: it does not match its CID.
    const car = await carOf([block.cid], [{ cid: block.cid, bytes: other.bytes }])
    const source = endless(car, bytesOf(64 * KiB))
    try {
      const outcome = await withinBudget('corrupt block', (signal) =>
        importCar(store(), source.stream, { signal }),
      )
      assertTypedError(outcome, 'ERR_INTEGRITY')
      await new Promise((resolve) => setImmediate(resolve))
      assert.ok(source.closed(), 'the source was closed')
    } finally {
      source.stop()
    }
  })

  it('an abort mid-section ends the import and lets the source go', async () => {
    const block = await rawBlock(bytesOf(8))
    const header = await carOf([block.cid], [])
    // A section declaring 3 MiB (within the default bound), then bytes that never reach it.
    const controller = new AbortController()
    const reason = new Error('stop')
    // Aborted at its 100th KiB, counted by the source (a 50 ms timer let a fast run read all 3 MiB first).
    const source = endless(
      Uint8Array.from([...header, 0x80, 0x80, 0xc0, 0x01, ...block.cid.bytes]),
      bytesOf(KiB),
      (count) => {
        if (count === 100) controller.abort(reason)
      },
    )
    try {
      const importing = importCar(store(), source.stream, { signal: controller.signal })
      await assert.rejects(importing, (error) => error === reason)
      for (let i = 0; i < 10 && !source.closed(); i++) await new Promise((resolve) => setImmediate(resolve))
      assert.ok(source.closed(), 'the source was closed')
    } finally {
      source.stop()
    }
  })

  it('a FIFO carrying a block of exactly 4 MiB (the default bound) is imported', async () => {
    const big = await rawBlock(Uint8Array.from({ length: 4 << 20 }, (_, i) => (i * 31 + seed) % 251))
    const small = await rawBlock(bytesOf(100))
    const car = await carOf([big.cid, small.cid], [small, big])
    const dir = await mkdtemp(join(tmpdir(), 'ts-hamt-car-revgw13-'))
    try {
      const fifo = join(dir, 'car.fifo')
      execFileSync('mkfifo', [fifo])
      const writer = createWriteStream(fifo)
      writer.end(car)
      const taken = await importCarFile(store(), fifo)
      assert.deepEqual(taken.roots, [big.cid, small.cid])
      assert.equal(taken.blocks, 2)
      // The whole CAR as one piece (Readable.from of a buffer) is taken too.
      const whole = await importCar(store(), Readable.from([car]))
      assert.equal(whole.blocks, 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
