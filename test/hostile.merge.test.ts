// Merges of hostile trees and hostile resolvers: repeated links, junk roots, a conflict flood,
// resolvers that throw or return what cannot be stored. Each ends typed and within budget.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { Bucket, Link } from '../src/hamt/node.js'
import { HAMT, MemoryStore, mergeZarrRoots } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { repeatedLinks, saveNode } from './helpers/hostile-trees.js'

/** A base map and two versions that set the same 'k' to different values. */
async function conflicting(store: MemoryStore, valuesAreBytes = false) {
  const value = (n: number) => (valuesAreBytes ? Uint8Array.of(n) : n)
  const map = await HAMT.create<unknown>({ store, valuesAreBytes })
  await map.set('k', value(0))
  const base = await map.flush()
  await map.set('k', value(1))
  const a = await map.flush()
  await map.set('k', value(2))
  const b = await map.flush()
  return { base, a, b }
}

describe('HAMT.merge of hostile trees', () => {
  it('three trees of keyless nodes linked from every slot, 4 levels: each pair is walked once', async () => {
    const store = await MemoryStore.create()
    const leaf = await saveNode(store, {})
    const base = await repeatedLinks(store, leaf, 4)
    const a = await repeatedLinks(store, await saveNode(store, { 7: Link.toStored(leaf) }), 4)
    const b = await repeatedLinks(store, await saveNode(store, { 9: Link.toStored(leaf) }), 4)
    const outcome = await withinBudget('keyless repeated links', (signal) =>
      HAMT.merge(base, a, b, { store, signal }),
    )
    assert.ok(outcome.value !== undefined, String(outcome.error))
  })

  it('a keyed node linked from every slot is refused where its keys do not belong', async () => {
    const store = await MemoryStore.create()
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const base = await saveNode(store, {})
    const a = await repeatedLinks(store, await saveNode(store, { 3: new Bucket(['x'], [pointer]) }), 3)
    const b = await repeatedLinks(store, await saveNode(store, { 3: new Bucket(['y'], [pointer]) }), 3)
    const outcome = await withinBudget('keyed repeated links', (signal) =>
      HAMT.merge(base, a, b, { store, signal }),
    )
    assertTypedError(outcome, 'ERR_INVALID_NODE')
  })

  it('a side that is not a HAMT node', async () => {
    const store = await MemoryStore.create()
    const empty = await saveNode(store, {})
    const other = await saveNode(store, {
      1: new Bucket(['x'], [await store.save(Uint8Array.of(0xf6), 'raw')]),
    })
    const junk = await store.save(dagCbor.encode({ not: 'a node' }), 'dag-cbor')
    const outcome = await withinBudget('junk root', (signal) =>
      HAMT.merge(empty, other, junk, { store, signal }),
    )
    assertTypedError(outcome, 'ERR_INVALID_NODE')
  })

  it('10 000 conflicting keys: a bounded list, nothing written', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    const base = await map.flush()
    // 10 000 a side: both changes are held while merging (~2 KB each), 20 000 went past the budget on Node 24.
    const entries = (v: number) => Array.from({ length: 10_000 }, (_, i) => [`k${i}`, v] as const)
    const a = (await HAMT.fromEntries(entries(1), { store })).rootId
    const b = (await HAMT.fromEntries(entries(2), { store })).rootId
    const outcome = await withinBudget('conflict flood', (signal) =>
      HAMT.merge(base, a, b, { store, signal }),
    )
    assertTypedError(outcome, 'ERR_MERGE_CONFLICT')
    const error = outcome.error as { conflicts: unknown[]; count: number; message: string }
    assert.equal(error.count, 10_000)
    assert.equal(error.conflicts.length, 100)
    assert.ok(error.message.length < 500, 'the message names a few keys, not all')
  })
})

describe('hostile resolvers', () => {
  it('a resolver that throws: its error, nothing merged', async () => {
    const store = await MemoryStore.create()
    const { base, a, b } = await conflicting(store)
    await assert.rejects(
      HAMT.merge(base, a, b, {
        store,
        resolve: () => {
          throw new Error('resolver refused')
        },
      }),
      /resolver refused/,
    )
  })

  it('a resolver returning what DAG-CBOR cannot hold, or not bytes for a Zarr root', async () => {
    const store = await MemoryStore.create()
    const map = await conflicting(store)
    await assert.rejects(
      HAMT.merge(map.base, map.a, map.b, { store, resolve: () => Symbol('no') as never }),
      (err) => err instanceof Error && (err as { code?: string }).code === 'ERR_INVALID_VALUE',
    )
    const zarrLike = await conflicting(store, true)
    await assert.rejects(
      mergeZarrRoots(zarrLike.base, zarrLike.a, zarrLike.b, { store, resolve: () => 'text' as never }),
      (err) => err instanceof Error && (err as { code?: string }).code === 'ERR_INVALID_VALUE',
    )
  })
})
