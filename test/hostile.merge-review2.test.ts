// Outside review of HAMT.merge and mergeZarrRoots: sides that changed an array's shape, resolvers
// that return odd things, and sides not made from the base.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT, MemoryStore, mergeZarrRoots, ShardedZarrStore, type StoreId } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { withinBudget } from './helpers/hostile.js'
import { writeShardedBase, writeShardedRows } from './helpers/merge-zarr.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()

describe('mergeZarrRoots where one side grew the array', () => {
  for (const big of [false, true]) {
    it(`sharded v1: a resized array with chunks in its new rows, merged onto ${big ? 'a side with more changes' : 'it'}`, async () => {
      const store = new CidMemoryStore()
      const base = await writeShardedBase(store, 'sharded_zarr_v1')
      const grower = await ShardedZarrStore.open(base, { store, readOnly: false })
      await grower.resize([16, 12])
      await grower.resizeVariable('temp', [16, 12])
      await grower.set('temp/c/7/0', new Uint8Array(64).fill(5))
      const a = await grower.flush()
      const b = await writeShardedRows(store, base, big ? [0, 1, 2, 3] : [0], 'sharded_zarr_v1')
      const outcome = await withinBudget('merge', () => mergeZarrRoots(base, a, b, { store }))
      if (outcome.error !== undefined) throw outcome.error
      const merged = await ShardedZarrStore.open(outcome.value as StoreId, { store })
      const array = await zarr.open(zarr.root(merged).resolve('temp'), { kind: 'array' })
      assert.deepEqual(array.shape, [16, 12])
      assert.deepEqual(await merged.get('temp/c/7/0'), new Uint8Array(64).fill(5))
      assert.ok((await merged.get('temp/c/0/0')) !== undefined)
    })
    it(`sharded v2: a grown array with chunks in its new rows, merged onto ${big ? 'a side with more changes' : 'it'}`, async () => {
      const store = new CidMemoryStore()
      const base = await writeShardedBase(store, 'sharded_zarr_v2')
      const grower = await ShardedZarrStore.open(base, { store, readOnly: false })
      await grower.resizeVariable('0/temp', [16, 12])
      await grower.set('0/temp/c/7/0', new Uint8Array(64).fill(5))
      const a = await grower.flush()
      const b = await writeShardedRows(store, base, big ? [0, 1, 2, 3] : [0], 'sharded_zarr_v2')
      const outcome = await withinBudget('merge', () => mergeZarrRoots(base, a, b, { store }))
      if (outcome.error !== undefined) throw outcome.error
      const merged = await ShardedZarrStore.open(outcome.value as StoreId, { store })
      const array = await zarr.open(zarr.root(merged).resolve('0/temp'), { kind: 'array' })
      assert.deepEqual(array.shape, [16, 12])
      assert.deepEqual(await merged.get('0/temp/c/7/0'), new Uint8Array(64).fill(5))
      assert.ok((await merged.get('0/temp/c/0/0')) !== undefined)
    })
  }
})

/** A weak hash: keys alike in their first and last characters share 31 of its 32 bytes. */
const weakHash = (data: Uint8Array): Uint8Array => {
  const hash = new Uint8Array(32)
  hash[0] = (data[0] ?? 0) & 3
  hash[31] = data.at(-1) ?? 0
  return hash
}

describe('HAMT.merge with keys whose hashes collide down to the last level', () => {
  it('disjoint changes on both sides give the one-writer root (generated)', async () => {
    const seed = testSeed()
    const store = await MemoryStore.create()
    const options = { store, hashFn: weakHash, maxBucketSize: 2 }
    const key = fc.tuple(fc.constantFrom('a', 'b', 'e', 'f'), fc.constantFrom('0', '1', '2', '3', '4', '5'))
    const op = fc.tuple(
      key.map(([x, y]) => `${x}${y}`),
      fc.option(fc.integer({ min: 0, max: 9 })),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 12 }),
        fc.array(op, { maxLength: 12 }),
        async (opsA, opsB) => {
          const base = await HAMT.create<number>({ ...options })
          for (let i = 0; i < 12; i++) await base.set(`${'abef'[i % 4]}${i % 6}`, i)
          const baseRoot = await base.flush()
          // Side B keeps to the keys side A does not touch, so nothing conflicts.
          const touched = new Set(opsA.map(([k]) => k))
          const apply = async (map: HAMT<number>, ops: [string, number | null][]): Promise<void> => {
            for (const [k, v] of ops) {
              if (v === null) await map.delete(k).catch(() => {})
              else await map.set(k, v)
            }
          }
          const sideA = await HAMT.open<number>(baseRoot, { ...options, readOnly: false })
          await apply(sideA, opsA)
          const sideB = await HAMT.open<number>(baseRoot, { ...options, readOnly: false })
          const onlyB = opsB.filter(([k]) => !touched.has(k))
          await apply(sideB, onlyB)
          const single = await HAMT.open<number>(baseRoot, { ...options, readOnly: false })
          await apply(single, [...opsA, ...onlyB])
          const merged = await HAMT.merge(baseRoot, await sideA.flush(), await sideB.flush(), options)
          assert.deepEqual(merged, await single.flush())
        },
      ),
      { seed, numRuns: 60 },
    )
  })
})
