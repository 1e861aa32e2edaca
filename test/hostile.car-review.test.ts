// exportCar with a base, on DAGs shaped by a stranger: long chains of tiny blocks that each side
// reaches at a different depth. Each case ends within its budget with the right blocks.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockNotFoundError, exportCar } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

/** Blocks in memory by CID, as a BlockSource. */
class Blocks {
  readonly #blocks = new Map<string, Uint8Array>()
  bytes = 0

  async put(value: unknown): Promise<CID> {
    const bytes = dagCbor.encode(value)
    const cid = CID.createV1(dagCbor.code, await sha256.digest(bytes))
    this.#blocks.set(String(cid), bytes)
    this.bytes += bytes.length
    return cid
  }

  async getBlock(cid: CID): Promise<Uint8Array> {
    const bytes = this.#blocks.get(String(cid))
    if (bytes === undefined) throw new BlockNotFoundError(`no block ${cid}`)
    return bytes
  }
}

async function chain(blocks: Blocks, to: CID, length: number, tag: string): Promise<CID> {
  let head = to
  for (let i = 0; i < length; i++) head = await blocks.put([head, tag, i])
  return head
}

async function drain(car: AsyncIterable<Uint8Array>): Promise<number> {
  let chunks = 0
  for await (const _ of car) chunks++
  return chunks
}

describe('exportCar with a base over long chains', () => {
  it('a base reaching the root’s chain only after the walk read it: nothing to send, no stack overflow', async () => {
    const blocks = new Blocks()
    // root: a chain of 6500 blocks; base: another 6500 above root (past the depth that overflowed),
    // so the walk reads root's whole chain before base gets to it, then marks all of it as base's.
    const root = await chain(blocks, await blocks.put(['tail']), 6500, 'root')
    const base = await chain(blocks, root, 6500, 'base')
    assert.ok(blocks.bytes < 1 << 20, `${blocks.bytes} bytes`)
    for (const exact of [false, true]) {
      // 128 MiB: the 13k walk steps leave garbage Node 24 collects late (peaks of 47-75 MiB measured
      // alike before and after this session's changes); what this guards is the stack, and a walk
      // holding per-step state for the whole chain.
      const outcome = await withinBudget(
        `deep base, exact ${exact}`,
        () => drain(exportCar(blocks, root, { base, exact })),
        { mib: 128 },
      )
      assert.equal(outcome.error, undefined, String((outcome.error as Error)?.stack).slice(0, 300))
      assert.equal(outcome.value, 1, 'the CAR header alone')
    }
  })
})

describe('exportCar over blocks that do not decode', () => {
  const nested = new Uint8Array(20_001).fill(0x81) // 20 000 nested one-element lists, then null
  nested[20_000] = 0xf6
  for (const [name, bytes] of [
    ['20 000 nested lists (20 KB)', nested],
    ['a reserved CBOR byte', Uint8Array.of(0xff)],
    ['a list claiming 2^64 items', Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
  ] as const) {
    it(`${name}: ERR_INVALID_VALUE naming the block, with or without a base`, async () => {
      const cid = CID.createV1(dagCbor.code, await sha256.digest(bytes))
      const blocks = new Blocks()
      const base = await blocks.put(['unrelated'])
      const source = {
        getBlock: async (wanted: CID) => (wanted.equals(cid) ? bytes : blocks.getBlock(wanted)),
      }
      for (const options of [{}, { base }, { base, exact: true }]) {
        const outcome = await withinBudget(name, () => drain(exportCar(source, cid, options)))
        assertTypedError(outcome, 'ERR_INVALID_VALUE')
        assert.match(String((outcome.error as Error).message), new RegExp(String(cid)))
      }
    })
  }
})
