// Garbage collection's memory: what a collection holds per kept block while it marks (the marked
// set, the walk's queue), and kept blocks linking identity CIDs of many lengths (each length could
// have had a table of its own). Live heap is sampled after a full GC at every 5 000th block marked.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { blake3Hasher, collectGarbage, loadBlake3 } from '../src/blocks.js'
import { BlockstoreStore } from '../src/index.js'
import { withinBudget } from './helpers/hostile.js'

setFlagsFromString('--expose-gc')
const fullGc = runInNewContext('gc') as () => void
await loadBlake3()

const NODES = 60
const LEAVES = 1_000

async function put(blockstore: MemoryBlockstore, code: number, bytes: Uint8Array): Promise<CID> {
  const cid = CID.createV1(code, await blake3Hasher.digest(bytes))
  await blockstore.put(cid, bytes)
  return cid
}

/** A root over `NODES` dag-cbor nodes of `LEAVES` raw leaves each: a frontier of every leaf at once. */
async function wideStore(): Promise<{ store: BlockstoreStore; root: CID }> {
  const blockstore = new MemoryBlockstore()
  const nodes: CID[] = []
  for (let n = 0; n < NODES; n++) {
    const leaves: CID[] = []
    for (let i = 0; i < LEAVES; i++) {
      const value = new Uint8Array(16)
      new DataView(value.buffer).setUint32(0, n * LEAVES + i)
      leaves.push(await put(blockstore, raw.code, value))
    }
    nodes.push(await put(blockstore, dagCbor.code, dagCbor.encode({ leaves })))
  }
  const root = await put(blockstore, dagCbor.code, dagCbor.encode({ nodes }))
  await put(blockstore, raw.code, new TextEncoder().encode('garbage'))
  return { store: new BlockstoreStore(blockstore), root }
}

const liveBytes = (): number => {
  fullGc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

describe('collectGarbage memory', () => {
  it(`marking ${NODES * LEAVES} kept blocks holds under 400 bytes each`, async () => {
    const { store, root } = await wideStore()
    const base = liveBytes()
    let peak = base
    let next = 5_000
    const result = await collectGarbage(store, {
      keep: [root],
      onProgress: ({ marked }) => {
        if (marked < next) return
        next += 5_000
        peak = Math.max(peak, liveBytes())
      },
    })
    assert.equal(result.marked, NODES * LEAVES + NODES + 1)
    assert.equal(result.removed, 1)
    const perBlock = (peak - base) / result.marked
    console.log('live bytes per kept block while marking', Math.round(perBlock))
    assert.ok(perBlock < 400, `${Math.round(perBlock)} bytes per kept block`)
  })

  it('kept blocks linking identity CIDs of 2 000 lengths: within budget, each marked', async () => {
    const blockstore = new MemoryBlockstore()
    const links = Array.from({ length: 2_000 }, (_, i) =>
      CID.createV1(raw.code, identity.digest(new Uint8Array(i + 1).fill(i % 251))),
    )
    // 2 000 identity CIDs of 1..2 000 bytes: 2 MB, in four blocks under 1 MB each.
    const quarters = [0, 1, 2, 3].map((q) => links.filter((_, i) => i % 4 === q))
    const parts = await Promise.all(
      quarters.map((part) => put(blockstore, dagCbor.code, dagCbor.encode({ part }))),
    )
    const root = await put(blockstore, dagCbor.code, dagCbor.encode({ parts }))
    const store = new BlockstoreStore(blockstore)
    const outcome = await withinBudget('identity lengths', (signal) =>
      collectGarbage(store, { keep: [root], signal }),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
    assert.deepEqual(outcome.value, { dryRun: false, marked: 2_005, removed: 0, removedBytes: 0 })
  })
})
