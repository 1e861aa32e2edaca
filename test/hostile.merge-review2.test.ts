// Outside review of HAMT.merge and mergeZarrRoots: sides that changed an array's shape, resolvers
// that return odd things, and sides not made from the base.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { mergeZarrRoots, ShardedZarrStore, type StoreId } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { writeShardedBase, writeShardedRows } from './helpers/merge-zarr.js'
import { withinBudget } from './helpers/hostile.js'

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
