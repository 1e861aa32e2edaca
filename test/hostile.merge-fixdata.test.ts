// mergeZarrRoots when one writer changed how an array is encoded (its codecs, data type, fill
// value, chunk grid or chunk key encoding) and the other wrote chunks under the old encoding: the
// merged root would decode the other's chunks with the new metadata (wrong values, silently). Such
// a merge is refused with a typed error naming the array, before anything is written; changes that
// leave the encoding alone (attributes, a longer shape) still merge.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import {
  type ContentAddressedStore,
  HAMT,
  isHamtError,
  mergeZarrRoots,
  ShardedZarrStore,
  type StoreId,
  ZarrHAMTStore,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import {
  GRID,
  shardedPath,
  tempOptions,
  writeBase,
  writeShardedBase,
  writeTempRows,
} from './helpers/merge-zarr.js'

type Layout = 'hamt' | 'sharded_zarr_v1' | 'sharded_zarr_v2'
const LAYOUTS: Layout[] = ['hamt', 'sharded_zarr_v1', 'sharded_zarr_v2']
const pathOf = (layout: Layout): string => (layout === 'hamt' ? 'temp' : shardedPath(layout))

/**
 * Opens `base` writable in its layout, lets `write` change it through zarrita, flushes: a writer's
 * root. `meta` rewrites temp's zarr.json first (undefined: left as it is).
 */
async function writer(
  store: ContentAddressedStore,
  layout: Layout,
  base: StoreId,
  meta: Record<string, unknown> | undefined,
  rows: number[],
): Promise<StoreId> {
  const zarrStore =
    layout === 'hamt'
      ? new ZarrHAMTStore(await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false }))
      : await ShardedZarrStore.open(base, { store, readOnly: false })
  const at = zarr.root(zarrStore).resolve(pathOf(layout))
  if (meta !== undefined) await zarr.create(at, { ...tempOptions(), ...meta } as never)
  if (rows.length > 0) {
    const array = (await zarr.open(at, { kind: 'array' })) as zarr.Array<zarr.DataType, typeof zarrStore>
    if (array.dtype === 'float64') await writeTempRows(zarrStore, rows, pathOf(layout))
    else for (const row of rows) await zarr.set(array, [zarr.slice(row * 2, row * 2 + 2), null], 3 as never)
  }
  return zarrStore instanceof ZarrHAMTStore ? zarrStore.hamt.flush() : zarrStore.flush()
}

const baseOf = (store: ContentAddressedStore, layout: Layout): Promise<StoreId> =>
  layout === 'hamt' ? writeBase(store) : writeShardedBase(store, layout)

/** Encodings another writer may switch to; the sharded layouts keep the base's chunk grid. */
const ENCODINGS: Array<[string, Record<string, unknown>, Layout[]]> = [
  ['codecs', { codecs: [{ name: 'bytes', configuration: { endian: 'big' } }] }, LAYOUTS],
  ['data_type', { dtype: 'float32' }, LAYOUTS],
  ['fill_value', { fillValue: 7 }, LAYOUTS],
  ['chunk_grid', { chunkShape: [4, 4] }, ['hamt']],
  ['chunk_key_encoding', { chunkSeparator: '.' }, ['hamt']],
]

describe('mergeZarrRoots: chunks written under another encoding', () => {
  for (const layout of LAYOUTS) {
    it(`${layout}: a new encoding on one side and chunks under the old on the other are refused, naming the array`, async () => {
      for (const [field, change, layouts] of ENCODINGS) {
        if (!layouts.includes(layout)) continue
        const store = new CidMemoryStore()
        const base = await baseOf(store, layout)
        const recoded = await writer(store, layout, base, change, [0])
        const old = await writer(store, layout, base, undefined, [3])
        for (const [a, b] of [
          [recoded, old],
          [old, recoded],
        ] as const) {
          await assert.rejects(mergeZarrRoots(base, a, b, { store }), (err) => {
            assert.ok(isHamtError(err, 'ERR_INVALID_ARGUMENT'), `${field}: ${String(err)}`)
            assert.match(err.message, new RegExp(`"${pathOf(layout)}"`), `${field}: ${err.message}`)
            assert.match(err.message, new RegExp(field), `${field}: ${err.message}`)
            return true
          })
        }
        // Chunks written under the new encoding by both sides merge (rows in distinct chunks of either grid).
        const both = await writer(store, layout, recoded, undefined, [1])
        await mergeZarrRoots(recoded, both, await writer(store, layout, recoded, undefined, [4]), { store })
      }
    })

    it(`${layout}: attributes changed on one side, or the array deleted, against chunks on the other`, async () => {
      const store = new CidMemoryStore()
      const base = await baseOf(store, layout)
      const chunks = await writer(store, layout, base, undefined, [3])
      const attributes = await writer(store, layout, base, { attributes: { units: 'kelvin' } }, [0])
      const merged = await mergeZarrRoots(base, attributes, chunks, { store })
      assert.equal(String(merged), String(await writer(store, layout, attributes, undefined, [3])))
      if (layout !== 'hamt') return // a sharded store deletes no array
      const map = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
      await map.delete('temp/zarr.json')
      const deleted = await map.flush()
      await assert.rejects(
        mergeZarrRoots(base, chunks, deleted, { store }),
        (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /"temp"/.test(err.message),
      )
    })
  }

  it('hamt: a longer shape (an append) on one side and chunks on the other merge', async () => {
    const store = new CidMemoryStore()
    const base = await writeBase(store)
    const appended = await writer(store, 'hamt', base, { shape: [GRID.shape[0] + 2, GRID.shape[1]] }, [6])
    const chunks = await writer(store, 'hamt', base, undefined, [1])
    const merged = await mergeZarrRoots(base, appended, chunks, { store })
    assert.equal(String(merged), String(await writer(store, 'hamt', appended, undefined, [1])))
  })
})
