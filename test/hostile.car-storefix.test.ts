// importCar's completeness check against a real Kubo: every link the CAR does not carry is asked of
// the store, one gateway request each. A small CAR of one block linking thousands of absent blocks
// must not cost a request per link; links to blocks Kubo holds are each checked (once).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { importCar, isHamtError, KuboStore } from '../src/index.js'
import { type Block, carOf } from './helpers/car-blocks.js'
import { type KuboDaemon, startKubo } from './helpers/kubo.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const LINKS = 2000

let daemon: KuboDaemon
before(async () => {
  daemon = await startKubo()
})
after(() => daemon?.stop())

/** A KuboStore on the daemon whose gateway requests are counted. */
function countingStore(): { store: KuboStore; gatewayRequests: () => number } {
  let requests = 0
  const counted: typeof fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).startsWith(daemon.gatewayUrl)) requests++
    return fetch(input, init)
  }
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, fetch: counted })
  return { store, gatewayRequests: () => requests }
}

async function rawBlocks(n: number, label: string): Promise<Block[]> {
  const random = mulberry32(seed)
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const bytes = new TextEncoder().encode(`${label} ${seed} ${i} ${random()}`)
      return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
    }),
  )
}

async function parentCar(children: Block[]): Promise<Uint8Array> {
  const bytes = dagCbor.encode(children.map((child) => child.cid))
  const root = { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes }
  return carOf([root.cid], [root])
}

describe('importCar into a real Kubo: a CAR of one block linking blocks it does not carry', () => {
  it(`${LINKS} links to absent blocks: refused typed after a bounded number of gateway requests`, async () => {
    const { store, gatewayRequests } = countingStore()
    const car = await parentCar(await rawBlocks(LINKS, 'absent'))
    const outcome = await importCar(store, car).catch((error: unknown) => error)
    assert.ok(isHamtError(outcome, 'ERR_INVALID_VALUE'), String(outcome))
    console.log(`absent links: ${gatewayRequests()} gateway requests for ${LINKS} links`)
    assert.ok(gatewayRequests() <= 64, `${gatewayRequests()} gateway requests for ${LINKS} absent links`)
  })

  it(`${LINKS / 4} links to blocks Kubo holds: imported, each link checked once`, async () => {
    const { store, gatewayRequests } = countingStore()
    const children = await rawBlocks(LINKS / 4, 'present')
    for (const child of children) await store.putBlock(child.cid, child.bytes)
    await store.flush()
    const before = gatewayRequests()
    const car = await parentCar([...children, ...children]) // each linked twice
    const { roots } = await importCar(store, car)
    assert.equal(roots.length, 1)
    const asked = gatewayRequests() - before
    console.log(`present links: ${asked} gateway requests for ${children.length} distinct links`)
    assert.ok(asked <= children.length, `${asked} requests for ${children.length} distinct links`)
  })
})
