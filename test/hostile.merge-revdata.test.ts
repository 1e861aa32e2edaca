// mergeZarrRoots' encoding check against writers that spell one encoding two ways: zarr-python writes
// a float fill value as `0.0` and `"storage_transformers": []`, zarrita writes `0` and leaves the
// field out. An append by one library against chunks by the other must merge; a real change of the
// fill value must still be refused, and a refused merge saves no block (not even a resolved one).
// A stranger's metadata nested thousands deep is a typed refusal, not a stack overflow.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { type Codec, HAMT, isHamtError, mergeZarrRoots, type StoreId, ZarrHAMTStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { GRID, tempOptions, writeTempRows } from './helpers/merge-zarr.js'

/** temp's zarr.json as zarr-python 3.0.9 writes it for tempOptions() (indent 2, `0.0`, `[]`). */
const ZARR_PYTHON_TEMP = JSON.stringify(
  {
    shape: GRID.shape,
    data_type: 'float64',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: GRID.chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    attributes: { units: 'K' },
    dimension_names: ['y', 'x'],
    zarr_format: 3,
    node_type: 'array',
    storage_transformers: [],
  },
  null,
  2,
).replace('"fill_value": 0,', '"fill_value": 0.0,')

/** A root whose temp was written by zarr-python (no chunk yet), with zarrita's root group. */
async function zarrPythonBase(store: CidMemoryStore): Promise<StoreId> {
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: { title: 'merge test' } })
  await map.set('temp/zarr.json', new TextEncoder().encode(ZARR_PYTHON_TEMP))
  return map.flush()
}

/** `base` with temp's metadata rewritten by zarrita (when `meta` is given) and these rows written. */
async function writer(
  store: CidMemoryStore,
  base: StoreId,
  meta: Record<string, unknown> | undefined,
  rows: number[],
): Promise<StoreId> {
  const map = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
  const zarrStore = new ZarrHAMTStore(map)
  if (meta !== undefined)
    await zarr.create(zarr.root(zarrStore).resolve('temp'), { ...tempOptions(), ...meta })
  await writeTempRows(zarrStore, rows)
  return map.flush()
}

describe('mergeZarrRoots: one encoding in two spellings', () => {
  it("zarrita's append (fill 0, no storage_transformers) merges with chunks under zarr-python's metadata", async () => {
    const store = new CidMemoryStore()
    const base = await zarrPythonBase(store)
    const appended = await writer(store, base, { shape: [GRID.shape[0] + 2, GRID.shape[1]] }, [6])
    const chunks = await writer(store, base, undefined, [1])
    const expected = String(await writer(store, appended, undefined, [1]))
    assert.equal(String(await mergeZarrRoots(base, appended, chunks, { store })), expected)
    assert.equal(String(await mergeZarrRoots(base, chunks, appended, { store })), expected)
  })

  it('a fill value that really changed is still refused', async () => {
    const store = new CidMemoryStore()
    const base = await zarrPythonBase(store)
    const refilled = await writer(store, base, { fillValue: 0.5 }, [0])
    const chunks = await writer(store, base, undefined, [1])
    await assert.rejects(
      mergeZarrRoots(base, refilled, chunks, { store }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /fill_value/.test(err.message),
    )
  })
})

/** A store that counts the blocks saved to it. */
class CountingStore extends CidMemoryStore {
  saves = 0
  override save(data: Uint8Array, codec: Codec): ReturnType<CidMemoryStore['save']> {
    this.saves++
    return super.save(data, codec)
  }
}

describe('mergeZarrRoots: a refused merge', () => {
  it('saves nothing, though a resolver settled a conflict first', async () => {
    const store = new CountingStore()
    const base = await zarrPythonBase(store)
    const titled = async (root: StoreId, title: string): Promise<StoreId> => {
      const map = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true, readOnly: false })
      await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: { title } })
      return map.flush()
    }
    // a re-encodes temp, b writes a chunk under the old encoding; both retitle the root group.
    const a = await titled(await writer(store, base, { fillValue: 0.5 }, [0]), 'a')
    const b = await titled(await writer(store, base, undefined, [1]), 'b')
    const resolved = new TextEncoder().encode(
      '{"zarr_format":3,"node_type":"group","attributes":{"title":"a+b"}}',
    )
    const before = store.saves
    await assert.rejects(
      mergeZarrRoots(base, a, b, { store, resolve: () => resolved }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /fill_value/.test(err.message),
    )
    assert.equal(store.saves - before, 0, 'blocks saved by a refused merge')
  })
})

describe('mergeZarrRoots: metadata nested deep', () => {
  it('codecs nested 500 to 4000 deep against chunks under the old ones: a typed refusal', async () => {
    const store = new CidMemoryStore()
    const base = await zarrPythonBase(store)
    const chunks = await writer(store, base, undefined, [1])
    const doc = (depth: number) =>
      new TextEncoder().encode(
        ZARR_PYTHON_TEMP.replace(
          /"codecs": \[[^\]]*\]/,
          `"codecs": ${'['.repeat(depth)}${']'.repeat(depth)}`,
        ),
      )
    for (const depth of [500, 1000, 2000, 3000, 4000]) {
      const map = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
      await map.set('temp/zarr.json', doc(depth))
      const deep = await map.flush()
      await assert.rejects(mergeZarrRoots(base, deep, chunks, { store }), (err) => {
        assert.ok(isHamtError(err, 'ERR_INVALID_ARGUMENT'), `depth ${depth}: ${String(err)}`)
        return true
      })
    }
  })
})
