// UnixFS files built to hurt: every read ends in the right bytes or a typed error, within a time and
// memory budget (test/helpers/hostile.ts), from a blockstore and from a loopback gateway.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type Block, block, fileData, pbNode, RAW, storesOver } from './helpers/unixfs.js'

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

describe('a file larger than one array', () => {
  it('a whole read of 10**12 bytes (five small blocks) is ERR_INVALID_ARGUMENT; a range of it reads', async () => {
    const leaf = await block(RAW, Uint8Array.of(7))
    let top = leaf
    const blocks = [leaf]
    for (let level = 1, size = 1; level <= 4; level++, size *= 1000) {
      top = await pbNode(Array(1000).fill(top.cid), fileData(Array(1000).fill(size)))
      blocks.push(top)
    }
    for (const [storeName, store] of await storesOver(blocks)) {
      assertTypedError(
        await withinBudget(`${storeName}: 10**12 bytes`, () => store.load(top.cid)),
        'ERR_INVALID_ARGUMENT',
      )
      const range = await withinBudget(`${storeName}: a range`, () =>
        store.load(top.cid, { range: { offset: 999_999_999_990, length: 10 } }),
      )
      assert.deepEqual(range.value, new Uint8Array(10).fill(7), String(range.error))
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
