// mergeZarrRoots in memory: writers of disjoint chunks of one array merge to the one-writer root;
// an identical zarr.json from several writers is no conflict, a different one is; sharded roots are refused.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import {
  HAMT,
  isHamtError,
  MemoryStore,
  mergeZarrRoots,
  ShardedZarrStore,
  type StoreId,
  ZarrHAMTStore,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import {
  GRID,
  shardedPath,
  valueAt,
  writeBase,
  writeRows,
  writeShardedBase,
  writeShardedRows,
  writeTempMetadata,
} from './helpers/merge-zarr.js'

async function readTemp(store: MemoryStore, root: StoreId): Promise<number[]> {
  const map = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true })
  const array = await zarr.open(zarr.root(new ZarrHAMTStore(map)).resolve('temp'), { kind: 'array' })
  return Array.from((await zarr.get(array)).data as Float64Array)
}

/** Rewrites temp's zarr.json through zarrita, with these attributes. */
async function rewriteMetadata(store: MemoryStore, root: StoreId, units: string): Promise<StoreId> {
  const map = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true, readOnly: false })
  await writeTempMetadata(new ZarrHAMTStore(map), units)
  return map.flush()
}

const expectedValues = (): number[] =>
  Array.from({ length: GRID.shape[0] * GRID.shape[1] }, (_, i) =>
    valueAt(Math.floor(i / GRID.shape[1]), i % GRID.shape[1]),
  )

describe('mergeZarrRoots', () => {
  it('three writers of disjoint chunk rows, merged in any order, give the one-writer root and its values', async () => {
    const store = await MemoryStore.create()
    const base = await writeBase(store)
    const parts = [
      [0, 3],
      [1, 4],
      [2, 5],
    ]
    const [r0, r1, r2] = (await Promise.all(parts.map((rows) => writeRows(store, base, rows)))) as StoreId[]
    const single = await writeRows(store, base, [0, 1, 2, 3, 4, 5])
    const forward = await mergeZarrRoots(
      base,
      await mergeZarrRoots(base, r0 as StoreId, r1 as StoreId, { store }),
      r2 as StoreId,
      { store },
    )
    const backward = await mergeZarrRoots(
      base,
      r2 as StoreId,
      await mergeZarrRoots(base, r1 as StoreId, r0 as StoreId, { store }),
      { store },
    )
    assert.equal(String(forward), String(single))
    assert.equal(String(backward), String(single))
    assert.deepEqual(await readTemp(store, forward), expectedValues())
  })

  it('a zarr.json written identically by both writers is no conflict; a different one is, until resolved', async () => {
    const store = await MemoryStore.create()
    const base = await writeBase(store)
    const same = await rewriteMetadata(store, await writeRows(store, base, [0]), 'K')
    const other = await writeRows(store, base, [1])
    const single = await writeRows(store, base, [0, 1])
    assert.equal(String(await mergeZarrRoots(base, same, other, { store })), String(single))

    const kelvin = await rewriteMetadata(store, same, 'kelvin')
    const celsius = await rewriteMetadata(store, other, 'degC')
    await assert.rejects(mergeZarrRoots(base, kelvin, celsius, { store }), (err) => {
      assert.ok(isHamtError(err, 'ERR_MERGE_CONFLICT'))
      assert.deepEqual(err.conflicts, [{ key: 'temp/zarr.json', a: 'changed', b: 'changed' }])
      return true
    })
    const merged = await mergeZarrRoots(base, kelvin, celsius, {
      store,
      resolve: (key, sides) => {
        assert.equal(key, 'temp/zarr.json')
        assert.ok(sides.base instanceof Uint8Array && sides.a instanceof Uint8Array)
        return sides.a as Uint8Array
      },
    })
    assert.equal(String(merged), String(await rewriteMetadata(store, single, 'kelvin')))
  })

  for (const version of ['sharded_zarr_v1', 'sharded_zarr_v2'] as const) {
    it(`sharded roots (${version}): writers of disjoint chunks merge to the one-writer root and its values`, async () => {
      const store = new CidMemoryStore()
      const base = await writeShardedBase(store, version)
      // Shards hold 4 chunks and a row 3: writers share shards, so entries merge within a shard.
      const parts = [
        [0, 3],
        [1, 4],
        [2, 5],
      ]
      const roots = await Promise.all(parts.map((rows) => writeShardedRows(store, base, rows, version)))
      const single = await writeShardedRows(store, base, [0, 1, 2, 3, 4, 5], version)
      let merged: StoreId = roots[0] as StoreId
      for (const root of roots.slice(1)) merged = await mergeZarrRoots(base, merged, root, { store })
      assert.equal(String(merged), String(single))
      const swapped = await mergeZarrRoots(
        base,
        roots[2] as StoreId,
        await mergeZarrRoots(base, roots[1] as StoreId, roots[0] as StoreId, { store }),
        { store },
      )
      assert.equal(String(swapped), String(single))
      const sharded = await ShardedZarrStore.open(merged, { store })
      const array = await zarr.open(zarr.root(sharded).resolve(shardedPath(version)), { kind: 'array' })
      assert.deepEqual(Array.from((await zarr.get(array)).data as Float64Array), expectedValues())
    })
  }

  it('sharded roots: a chunk both writers wrote differently is a conflict; the resolver settles it', async () => {
    const store = new CidMemoryStore()
    const base = await writeShardedBase(store, 'sharded_zarr_v2')
    const a = await writeShardedRows(store, base, [0, 1], 'sharded_zarr_v2')
    const other = await ShardedZarrStore.open(base, { store, readOnly: false })
    await other.set('0/temp/c/1/2', new Uint8Array(64).fill(7))
    await other.set('0/temp/c/5/0', new Uint8Array(64).fill(9))
    const b = await other.flush()
    await assert.rejects(mergeZarrRoots(base, a, b, { store }), (err) => {
      assert.ok(isHamtError(err, 'ERR_MERGE_CONFLICT'))
      assert.deepEqual(err.conflicts, [{ key: '0/temp/c/1/2', a: 'added', b: 'added' }])
      return true
    })
    const merged = await mergeZarrRoots(base, a, b, {
      store,
      resolve: (_key, sides) => sides.a as Uint8Array,
    })
    const expected = await ShardedZarrStore.open(a, { store, readOnly: false })
    await expected.set('0/temp/c/5/0', new Uint8Array(64).fill(9))
    assert.equal(String(merged), String(await expected.flush()))
  })

  it('refuses roots of mixed layouts with a typed error', async () => {
    const store = new CidMemoryStore()
    const hamt = await writeBase(store)
    const sharded = await writeShardedBase(store, 'sharded_zarr_v2')
    await assert.rejects(
      mergeZarrRoots(hamt, sharded, hamt, { store }),
      (err) =>
        isHamtError(err, 'ERR_INVALID_ARGUMENT') &&
        /mix layouts \(base: hamt, a: sharded, b: hamt\)/.test(err.message),
    )
    const v1 = await writeShardedBase(store, 'sharded_zarr_v1')
    await assert.rejects(
      mergeZarrRoots(sharded, v1, sharded, { store }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /different manifest versions/.test(err.message),
    )
  })
})
