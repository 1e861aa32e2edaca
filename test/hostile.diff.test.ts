// Diffs of hostile trees: repeated links, keys out of place, links too deep, malformed shards.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { Bucket, Link } from '../src/hamt/node.js'
import { diffZarrRoots, HAMT, MemoryStore, ShardedZarrStore, type StoreId } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { repeatedLinks, saveNode, tooDeepForShortHash } from './helpers/hostile-trees.js'
import { v3Array } from './helpers/sharded.js'

async function drain(changes: AsyncIterable<unknown>): Promise<number> {
  let n = 0
  for await (const _ of changes) n++
  return n
}

describe('HAMT.diff of hostile trees', () => {
  it('two trees of keyless nodes linked from every slot, 4 levels: each pair of nodes is compared once', async () => {
    const store = await MemoryStore.create()
    const leafA = await saveNode(store, {})
    const otherLeaf = await saveNode(store, { 7: Link.toStored(leafA) })
    const a = await repeatedLinks(store, leafA, 4)
    const b = await repeatedLinks(store, otherLeaf, 4)
    const outcome = await withinBudget('keyless repeated links', (signal) =>
      drain(HAMT.diff(a, b, { store, signal })),
    )
    assert.equal(outcome.value, 0)
  })

  it('a keyed node linked from every slot is refused where its keys do not belong', async () => {
    const store = await MemoryStore.create()
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const keyedA = await saveNode(store, { 3: new Bucket(['x'], [pointer]) })
    const keyedB = await saveNode(store, { 3: new Bucket(['y'], [pointer]) })
    const a = await repeatedLinks(store, keyedA, 3)
    const b = await repeatedLinks(store, keyedB, 3)
    const outcome = await withinBudget('keyed repeated links', (signal) =>
      drain(HAMT.diff(a, b, { store, signal })),
    )
    assertTypedError(outcome, 'ERR_INVALID_NODE')
  })

  it('a link below what the hash can address, against an empty map', async () => {
    const store = await MemoryStore.create()
    const { root, hashFn } = await tooDeepForShortHash(store)
    const empty = await saveNode(store, {})
    for (const [a, b] of [
      [root, empty],
      [empty, root],
    ] as [StoreId, StoreId][]) {
      const outcome = await withinBudget('too deep', (signal) =>
        drain(HAMT.diff(a, b, { store, hashFn, signal })),
      )
      assertTypedError(outcome, 'ERR_INVALID_NODE')
    }
  })

  it('a root that is not a HAMT node', async () => {
    const store = await MemoryStore.create()
    const empty = await saveNode(store, {})
    const junk = await store.save(dagCbor.encode({ not: 'a node' }), 'dag-cbor')
    const outcome = await withinBudget('junk root', (signal) =>
      drain(HAMT.diff(empty, junk, { store, signal })),
    )
    assertTypedError(outcome, 'ERR_INVALID_NODE')
  })
})

describe('diffZarrRoots of hostile sharded roots', () => {
  it('a shard CID that names a block of another length is refused with a typed error', async () => {
    const cas = await CidMemoryStore.create()
    const group = new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}')
    const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    await store.set('zarr.json', group)
    await store.set('g/zarr.json', group)
    await store.set('g/a/zarr.json', v3Array([8], [1]))
    await store.set('g/a/c/0', Uint8Array.of(1))
    const from = await store.flush()
    const manifest = dagCbor.decode(await cas.load(from)) as {
      arrays: Record<string, { shard_cids: unknown[] }>
    }
    const bogus = await cas.save(dagCbor.encode(new Array(100_000).fill(null)), 'dag-cbor')
    ;(manifest.arrays['g/a'] as { shard_cids: unknown[] }).shard_cids[0] = bogus
    const to = await cas.save(dagCbor.encode(manifest), 'dag-cbor')
    const outcome = await withinBudget('bogus shard', (signal) =>
      drain(diffZarrRoots(from, to, { store: cas, signal })),
    )
    assertTypedError(outcome, 'ERR_INVALID_MANIFEST')
  })
})
