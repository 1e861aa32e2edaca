// ts-hamt/dataset as Node resolves it (the exports map's `node` condition, src/dataset.node.ts): the
// stores openDataset makes for `gateways` read through node:http, as the root's Node entry's do.
// Importing it sets Node's defaults for the whole process, so this file is a process of its own.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import { loadBlake3 } from '../src/blocks.js'
import * as browserEntry from '../src/dataset.js'
import * as nodeEntry from '../src/dataset.node.js'
import { BlockstoreStore, HAMT, ZarrHAMTStore } from '../src/index.js'
import { writeClimate } from './helpers/climate.js'
import { serve } from './helpers/loopback.js'

await loadBlake3()

/** A climate dataset in a blockstore, served as a trustless gateway (raw blocks by CID). */
async function climateGateway() {
  const blocks = new BlockstoreStore(new MemoryBlockstore())
  const map = await HAMT.create<Uint8Array>({ store: blocks, valuesAreBytes: true })
  const written = await writeClimate(new ZarrHAMTStore(map))
  const root = await map.flush()
  const gateway = await serve((req, res) => {
    const cid = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')?.[1]
    blocks.load(CID.parse(cid ?? '')).then(
      (block) => {
        res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': block.length })
        res.end(block)
      },
      () => {
        res.writeHead(404)
        res.end()
      },
    )
  })
  return { root, written, gateway }
}

describe('ts-hamt/dataset in Node', () => {
  it('has the names of the browser entry, the same functions', () => {
    assert.deepEqual(Object.keys(nodeEntry).sort(), Object.keys(browserEntry).sort())
    assert.equal(nodeEntry.openDataset, browserEntry.openDataset)
  })

  it('openDataset({ gateways }) reads through node:http; given a fetch, it keeps it', async () => {
    const { root, written, gateway } = await climateGateway()
    const ds = await nodeEntry.openDataset(root, { gateways: gateway.url })
    const temp = await ds.variable('temp').load()
    assert.deepEqual(
      [...temp.values].map((v) => (Number.isNaN(v) ? null : v)),
      written.temp?.values,
    )
    const byDefault = gateway.seen.length
    assert.ok(byDefault > 0)
    // Node's fetch (undici) sends the Fetch standard's sec-fetch-mode; node:http sends only what it is given.
    assert.deepEqual(new Set(gateway.seen.map((r) => r.headers['sec-fetch-mode'])), new Set([undefined]))
    const given = await nodeEntry.openDataset(root, {
      gateways: gateway.url,
      gatewayOptions: { fetch: globalThis.fetch },
    })
    await given.variable('temp').isel({ time: 0 }).load()
    const later = gateway.seen.slice(byDefault)
    assert.ok(later.length > 0)
    assert.deepEqual(new Set(later.map((r) => r.headers['sec-fetch-mode'])), new Set(['cors']))
  })
})
