// One Zarr v3 array on a HAMT root, written in parts: what the merge tests give several writers.
import * as zarr from 'zarrita'
import type { ContentAddressedStore } from '../../src/index.js'
import { HAMT, type StoreId, ZarrHAMTStore } from '../../src/index.js'

/** `temp`: 12 × 12 float64 in 2 × 4 chunks, so 6 rows of 3 chunks; no value is the fill value 0. */
export const GRID = { shape: [12, 12], chunks: [2, 4] } as const
export const ROW_CHUNKS = GRID.shape[0] / GRID.chunks[0]

/** The value at (y, x): distinct, never 0, exact in float64. */
export const valueAt = (y: number, x: number): number => y * 100 + x + 0.25

/** The base every writer starts from: the root group and the array's zarr.json, no chunk. */
export async function writeBase(store: ContentAddressedStore): Promise<StoreId> {
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const root = zarr.root(new ZarrHAMTStore(map))
  await zarr.create(root, { attributes: { title: 'merge test' } })
  await zarr.create(root.resolve('temp'), {
    shape: [...GRID.shape],
    chunkShape: [...GRID.chunks],
    dtype: 'float64',
    fillValue: 0,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    dimensionNames: ['y', 'x'],
    attributes: { units: 'K' },
  })
  return map.flush()
}

/** Opens `base` writable, writes the given chunk rows of `temp` (whole rows of chunks) and flushes. */
export async function writeRows(
  store: ContentAddressedStore,
  base: StoreId | string,
  rows: number[],
): Promise<StoreId> {
  const map = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
  const array = await zarr.open(zarr.root(new ZarrHAMTStore(map)).resolve('temp'), { kind: 'array' })
  const [height, width] = [GRID.chunks[0], GRID.shape[1]]
  for (const row of rows) {
    const data = new Float64Array(height * width)
    for (let dy = 0; dy < height; dy++)
      for (let x = 0; x < width; x++) data[dy * width + x] = valueAt(row * height + dy, x)
    const region = [zarr.slice(row * height, (row + 1) * height), null]
    await zarr.set(array as zarr.Array<'float64', ZarrHAMTStore>, region, {
      data,
      shape: [height, width],
      stride: [width, 1],
    })
  }
  return map.flush()
}
