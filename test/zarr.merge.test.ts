// mergeZarrRoots in memory: writers of disjoint chunks of one array merge to the one-writer root;
// an identical zarr.json from several writers is no conflict, a different one is; sharded roots are refused.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { HAMT, isHamtError, MemoryStore, mergeZarrRoots, type StoreId, ZarrHAMTStore } from '../src/index.js'
import { convertHamtToSharded } from '../src/layout.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { GRID, ROW_CHUNKS, valueAt, writeBase, writeRows } from './helpers/merge-zarr.js'

async function readTemp(store: MemoryStore, root: StoreId): Promise<number[]> {
  const map = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true })
  const array = await zarr.open(zarr.root(new ZarrHAMTStore(map)).resolve('temp'), { kind: 'array' })
  return Array.from((await zarr.get(array)).data as Float64Array)
}

/** Rewrites temp's zarr.json through zarrita, with these attributes. */
async function rewriteMetadata(store: MemoryStore, root: StoreId, units: string): Promise<StoreId> {
  const map = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true, readOnly: false })
  await zarr.create(zarr.root(new ZarrHAMTStore(map)).resolve('temp'), {
    shape: [...GRID.shape],
    chunkShape: [...GRID.chunks],
    dtype: 'float64',
    fillValue: 0,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    dimensionNames: ['y', 'x'],
    attributes: { units },
  })
  return map.flush()
}

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
    const expected = Array.from({ length: GRID.shape[0] * GRID.shape[1] }, (_, i) =>
      valueAt(Math.floor(i / 12), i % 12),
    )
    assert.deepEqual(await readTemp(store, forward), expected)
    assert.equal(ROW_CHUNKS, 6)
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

  it('refuses sharded roots with a typed error', async () => {
    const store = new CidMemoryStore()
    const base = await writeBase(store)
    const written = await writeRows(store, base, [0])
    const sharded = await convertHamtToSharded(
      await HAMT.open<Uint8Array>(written, { store, valuesAreBytes: true }),
      store,
    )
    await assert.rejects(
      mergeZarrRoots(base, sharded, written, { store }),
      (err) =>
        isHamtError(err, 'ERR_INVALID_ARGUMENT') &&
        /a is a sharded Zarr root: merging sharded roots is not supported/.test(err.message),
    )
  })
})
