// UnixFS files built to hurt: every read ends in the right bytes or a typed error, within a time and
// memory budget (test/helpers/hostile.ts), from a blockstore and from a loopback gateway.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { blockDigest } from '../src/cas/id.js'
import { BlockstoreStore, TrustlessGatewayStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

const RAW = 0x55
type Block = { cid: CID; bytes: Uint8Array }

const servers: Array<{ close(): void; closeAllConnections(): void }> = []
after(() => {
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

async function block(code: number, bytes: Uint8Array): Promise<Block> {
  return { cid: CID.createV1(code, await blockDigest('blake3', bytes)), bytes }
}

/** A dag-pb node over `links` with this UnixFS data (or none). */
function pbNode(links: CID[], data?: Uint8Array): Promise<Block> {
  const node = dagPb.encode({ Data: data, Links: links.map((Hash) => ({ Hash, Name: '', Tsize: 0 })) })
  return block(dagPb.code, node)
}

function fileData(blockSizes: Array<number | bigint>, type: 'file' | 'directory' = 'file'): Uint8Array {
  return new UnixFS({ type, blockSizes: blockSizes.map(BigInt) }).marshal()
}

/** Every store that reads UnixFS files, over the same blocks; each returns how many block reads it made. */
async function storesOver(
  blocks: Block[],
): Promise<Array<[string, BlockstoreStore | TrustlessGatewayStore, () => number]>> {
  const memory = new MemoryBlockstore()
  const served = new Map<string, Uint8Array>()
  for (const b of blocks) {
    await memory.put(b.cid, b.bytes)
    served.set(String(b.cid), b.bytes)
  }
  let gets = 0
  const counting = Object.assign(Object.create(memory), {
    get: (cid: CID, options?: unknown) => {
      gets++
      return memory.get(cid, options as never)
    },
  })
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    const bytes = served.get(/^\/ipfs\/([^?/]+)/.exec(req.url ?? '')?.[1] ?? '')
    if (bytes === undefined) res.writeHead(404).end()
    else res.writeHead(200).end(bytes)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return [
    ['blockstore', new BlockstoreStore(counting), () => gets],
    ['gateway', new TrustlessGatewayStore({ gateways: url, fetch: nodeHttpFetch() }), () => requests],
  ]
}

// A chain of single-child nodes over a 1-byte leaf (about 1 MB of blocks), built before the first
// budgeted case so its building does not count.
const chain = await (async () => {
  const leaf = await block(RAW, Uint8Array.of(42))
  const blocks = [leaf]
  let top = leaf
  let at1000 = leaf
  for (let i = 1; i <= 20_000; i++) {
    top = await pbNode([top.cid], fileData([1]))
    blocks.push(top)
    if (i === 1000) at1000 = top
  }
  const blockstore = new MemoryBlockstore()
  for (const b of blocks) await blockstore.put(b.cid, b.bytes)
  return { blockstore, top: top.cid, at1000: at1000.cid }
})()

// Warm up BLAKE3 and the HTTP stack so the memory budget measures the cases.
await (async () => {
  const leaf = await block(RAW, Uint8Array.of(1))
  for (const [, store] of await storesOver([leaf])) await store.load(leaf.cid)
})()

describe('UnixFS nodes that cannot be a file', () => {
  it('sizes past 2**53, no Data, raw bytes under a dag-pb CID, a directory: typed errors', async () => {
    const leaf = await block(RAW, Uint8Array.of(1, 2, 3))
    const cases: Array<[string, Block, string]> = [
      [
        'sizes summing past 2**53',
        await pbNode([leaf.cid, leaf.cid], fileData([2 ** 53 - 2, 3])),
        'ERR_INVALID_NODE',
      ],
      ['one size of 2**64-1', await pbNode([leaf.cid], fileData([2n ** 64n - 1n])), 'ERR_INVALID_NODE'],
      ['links but no Data', await pbNode([leaf.cid]), 'ERR_INVALID_NODE'],
      ['raw bytes under a dag-pb CID', await block(dagPb.code, Uint8Array.of(1, 2, 3)), 'ERR_INVALID_NODE'],
      ['garbage UnixFS Data', await pbNode([leaf.cid], Uint8Array.of(0xff, 0xff, 0xff)), 'ERR_INVALID_NODE'],
      ['a directory', await pbNode([leaf.cid], fileData([], 'directory')), 'ERR_INVALID_VALUE'],
    ]
    for (const [storeName, store] of await storesOver([leaf, ...cases.map(([, b]) => b)])) {
      for (const [name, node, code] of cases) {
        for (const range of [undefined, { offset: 1, length: 1 }, { suffix: 1 }]) {
          const outcome = await withinBudget(`${storeName}: ${name}`, () => store.load(node.cid, { range }))
          assertTypedError(outcome, code as 'ERR_INVALID_NODE')
        }
      }
    }
  })

  it('a dag-pb child whose block is a raw leaf, and a raw child whose block is a dag-pb node, are read as their CIDs say', async () => {
    const inner = await pbNode([], new UnixFS({ type: 'file', data: Uint8Array.of(9, 9) }).marshal())
    // Under a raw CID, the node's bytes are the leaf's bytes: the parent must count them so.
    const asRaw = await block(RAW, inner.bytes)
    const parent = await pbNode([asRaw.cid, inner.cid], fileData([inner.bytes.length, 2]))
    for (const [storeName, store] of await storesOver([inner, asRaw, parent])) {
      const bytes = await store.load(parent.cid)
      assert.deepEqual(bytes, Uint8Array.from([...inner.bytes, 9, 9]), storeName)
    }
  })
})

describe('identity CIDs carry their bytes', () => {
  it('a file with identity leaves, small and of 100 KB, reads from every store without asking for them', async () => {
    const small = CID.createV1(RAW, identity.digest(Uint8Array.of(5, 6, 7)))
    const big = CID.createV1(RAW, identity.digest(new Uint8Array(100_000).fill(8)))
    const leaf = await block(RAW, Uint8Array.of(1, 2))
    const file = await pbNode([small, leaf.cid, big], fileData([3, 2, 100_000]))
    const expected = Uint8Array.from([5, 6, 7, 1, 2, ...new Uint8Array(100_000).fill(8)])
    for (const [storeName, store, reads] of await storesOver([leaf, file])) {
      const before = reads()
      const outcome = await withinBudget(`${storeName}: identity leaves`, () => store.load(file.cid))
      assert.deepEqual(outcome.value, expected, `${storeName}: ${String(outcome.error)}`)
      assert.equal(reads() - before, 2, `${storeName}: the root and the one stored leaf`)
    }
  })
})

describe('UnixFS shapes that cost more than their blocks', () => {
  it('a chain of 1 000 levels reads its one byte; one of 20 000 is ERR_INVALID_NODE, within budget', async () => {
    // The bound is the file walk's, whatever the store: a blockstore shows it without a thousand
    // requests' worth of HTTP garbage in the memory budget.
    const store = new BlockstoreStore(chain.blockstore)
    const shallow = await withinBudget('1 000 levels', () => store.load(chain.at1000))
    assert.deepEqual(shallow.value, Uint8Array.of(42), String(shallow.error))
    assertTypedError(await withinBudget('20 000 levels', () => store.load(chain.top)), 'ERR_INVALID_NODE')
  })

  it('one block linked many times is fetched once per read, not once per link', async () => {
    // 1 000 links to a node of 1 000 links to one 1-byte leaf: a 1 MB file from 3 blocks.
    const leaf = await block(RAW, Uint8Array.of(7))
    const middle = await pbNode(Array(1000).fill(leaf.cid), fileData(Array(1000).fill(1)))
    const root = await pbNode(Array(1000).fill(middle.cid), fileData(Array(1000).fill(1000)))
    for (const [storeName, store, reads] of await storesOver([leaf, middle, root])) {
      const before = reads()
      const outcome = await withinBudget(`${storeName}: shared blocks`, () => store.load(root.cid))
      assert.equal((outcome.value as Uint8Array)?.length, 1_000_000, String(outcome.error))
      assert.ok((outcome.value as Uint8Array).every((byte) => byte === 7))
      assert.ok(reads() - before <= 3, `${storeName}: ${reads() - before} block reads for 3 blocks`)
    }
  })
})
