// A one-dimensional dataset for `sel` tests: a coordinate `time` (float64, or int64 given bigints)
// with CF attributes, and `p` holding each position, so a selection's values are its positions.
import assert from 'node:assert/strict'
import * as zarr from 'zarrita'
import { type Dataset, type LabelIndexer, openDataset } from '../../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, ZarrHAMTStore } from '../../src/index.js'

/** The dataset of `values` with the coordinate's `attrs` (units, calendar, _FillValue...). */
export async function timeDataset(
  values: readonly number[] | Float64Array | BigInt64Array,
  attrs: Record<string, unknown>,
): Promise<Dataset> {
  const { root, store } = await timeStore(values, attrs)
  return openDataset(root, { store })
}

/** {@link timeDataset} written but not opened: its root and store. */
export async function timeStore(
  values: readonly number[] | Float64Array | BigInt64Array,
  attrs: Record<string, unknown>,
): Promise<{ root: Uint8Array; store: MemoryStore }> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
  const shape = [values.length]
  const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
  const options = { shape, chunkShape: shape, dimensionNames: ['time'], codecs }
  const int64 = values instanceof BigInt64Array
  const dtype = int64 ? 'int64' : 'float64'
  const time = await zarr.create(group.resolve('time'), { ...options, dtype, attributes: attrs })
  const data = int64 ? values : Float64Array.from(values)
  await zarr.set(time, null, { data, shape, stride: [1] } as never)
  const p = await zarr.create(group.resolve('p'), { ...options, dtype: 'int32' })
  const positions = Int32Array.from({ length: values.length }, (_, i) => i)
  await zarr.set(p, null, { data: positions, shape, stride: [1] } as never)
  return { root: (await map.flush()) as Uint8Array, store }
}

/** The positions `sel({ time: indexer })` keeps, or 'error' for a typed error (an untyped one fails). */
export async function selected(ds: Dataset, indexer: LabelIndexer): Promise<number[] | 'error'> {
  try {
    return [...(await ds.variable('p').sel({ time: indexer }).load()).values]
  } catch (error) {
    assert.ok(isHamtError(error), `untyped: ${error}`)
    return 'error'
  }
}
