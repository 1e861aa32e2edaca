// A stranger's CAR of identity CIDs chooses every byte of its IDs: 10k of them sharing a tail fell
// in one chain of the ID map and took minutes to import (5k: 5.3 s here). 5k, not 10k, blocks and a
// file of its own: importCar with BlockstoreStore peaked at ~7 KiB a tiny block (10k: +75 MiB); since
// CAR bytes are decoded synchronously, 10k peak at ~+50 MiB, which GC timing can push near the budget.
// Linear is shown by the bytes work counted at 2.5k and 5k blocks (test/helpers/work-count.ts), not by time.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { BlockstoreStore, importCar } from '../src/index.js'
import { withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'
import { assertLinear } from './helpers/work-count.js'

const seed = testSeed()
const N = 5_000

/** A CAR of `count` raw blocks under identity CIDs: a varying 8-byte head, then a shared 32-byte tail. */
function identityCar(count: number): Uint8Array {
  const tail = Uint8Array.from({ length: 32 }, (_, i) => (seed + i * 13) & 0xff)
  const blocks = Array.from({ length: count }, (_, i) => {
    const bytes = new Uint8Array(40)
    new DataView(bytes.buffer).setUint32(0, i ^ seed)
    new DataView(bytes.buffer).setUint32(4, i)
    bytes.set(tail, 8)
    return { cid: CID.createV1(0x55, identity.digest(bytes)), bytes }
  })
  const roots = [blocks[0]?.cid as CID]
  const headerSize = CarBufferWriter.headerLength({ roots })
  const size = blocks.reduce((n, b) => n + CarBufferWriter.blockLength(b), headerSize)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots, headerSize })
  for (const block of blocks) writer.write(block)
  return writer.close()
}

describe('hostile CAR of identity CIDs', () => {
  it(`${N} identity-CID blocks sharing a tail import in linear work`, async () => {
    const cars = new Map([N / 2, N].map((n) => [n, identityCar(n)]))
    const kept = new Map<string, Uint8Array>()
    const blockstore = {
      get: async (cid: CID) => kept.get(cid.multihash.bytes.join()) as Uint8Array,
      put: async (cid: CID, bytes: Uint8Array) => {
        kept.set(cid.multihash.bytes.join(), bytes)
        return cid
      },
      has: async (cid: CID) => kept.has(cid.multihash.bytes.join()),
    }
    const imported: number[] = []
    const outcome = await withinBudget('identity CAR import', () =>
      assertLinear('identity CAR import', N, async (n) => {
        kept.clear()
        imported.push((await importCar(new BlockstoreStore(blockstore), cars.get(n) as Uint8Array)).blocks)
      }),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
    assert.deepEqual(imported, [N / 2, N])
    assert.equal(kept.size, N)
  })
})
