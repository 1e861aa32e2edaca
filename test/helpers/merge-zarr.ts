// One Zarr v3 array on a HAMT or sharded root, written in parts: what the merge tests give several writers.
import * as zarr from 'zarrita'
import {
  type ContentAddressedStore,
  HAMT,
  type ManifestVersion,
  ShardedZarrStore,
  type StoreId,
  ZarrHAMTStore,
} from '../../src/index.js'

/** `temp`: 12 × 12 float64 in 2 × 4 chunks, so 6 rows of 3 chunks; no value is the fill value 0. */
export const GRID = { shape: [12, 12], chunks: [2, 4] } as const
export const ROW_CHUNKS = GRID.shape[0] / GRID.chunks[0]

/** The value at (y, x): distinct, never 0, exact in float64. */
export const valueAt = (y: number, x: number): number => y * 100 + x + 0.25

type ZarrStore = ZarrHAMTStore | ShardedZarrStore

/** zarrita's create options of temp, with these units. */
export const tempOptions = (units = 'K') => ({
  shape: [...GRID.shape],
  chunkShape: [...GRID.chunks],
  dtype: 'float64' as const,
  fillValue: 0,
  codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
  dimensionNames: ['y', 'x'],
  attributes: { units },
})

/** Writes temp's zarr.json (through zarrita), with these units. */
export async function writeTempMetadata(zarrStore: ZarrStore, units = 'K', path = 'temp'): Promise<void> {
  await zarr.create(zarr.root(zarrStore).resolve(path), tempOptions(units))
}

/** Writes whole rows of chunks of temp. */
export async function writeTempRows(zarrStore: ZarrStore, rows: number[], path = 'temp'): Promise<void> {
  const array = await zarr.open(zarr.root(zarrStore).resolve(path), { kind: 'array' })
  const [height, width] = [GRID.chunks[0], GRID.shape[1]]
  for (const row of rows) {
    const data = new Float64Array(height * width)
    for (let dy = 0; dy < height; dy++)
      for (let x = 0; x < width; x++) data[dy * width + x] = valueAt(row * height + dy, x)
    const region = [zarr.slice(row * height, (row + 1) * height), null]
    await zarr.set(array as zarr.Array<'float64', ZarrStore>, region, {
      data,
      shape: [height, width],
      stride: [width, 1],
    })
  }
}

/** The base every writer starts from on a HAMT: the root group and the array's zarr.json, no chunk. */
export async function writeBase(store: ContentAddressedStore): Promise<StoreId> {
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const zarrStore = new ZarrHAMTStore(map)
  await zarr.create(zarr.root(zarrStore), { attributes: { title: 'merge test' } })
  await writeTempMetadata(zarrStore)
  return map.flush()
}

/** Opens the HAMT `base` writable, writes the given chunk rows of `temp` and flushes. */
export async function writeRows(
  store: ContentAddressedStore,
  base: StoreId | string,
  rows: number[],
): Promise<StoreId> {
  const map = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
  await writeTempRows(new ZarrHAMTStore(map), rows)
  return map.flush()
}

/** Where temp lives on a sharded root: v2 (as py-hamt) wants arrays under a group. */
export const shardedPath = (version: ManifestVersion): string =>
  version === 'sharded_zarr_v2' ? '0/temp' : 'temp'

/** The same base on py-hamt's sharded layout (v1: temp is the sharded array; 4 chunks a shard). */
export async function writeShardedBase(
  store: ContentAddressedStore,
  version: ManifestVersion,
): Promise<StoreId> {
  const sharded = await ShardedZarrStore.create({
    store,
    chunksPerShard: 4,
    manifestVersion: version,
    ...(version === 'sharded_zarr_v1' ? { arrayShape: [...GRID.shape], chunkShape: [...GRID.chunks] } : {}),
  })
  await zarr.create(zarr.root(sharded), { attributes: { title: 'merge test' } })
  if (version === 'sharded_zarr_v2') await zarr.create(zarr.root(sharded).resolve('0'))
  await writeTempMetadata(sharded, 'K', shardedPath(version))
  return sharded.flush()
}

/** Opens the sharded `base` writable, writes the given chunk rows of `temp` and flushes. */
export async function writeShardedRows(
  store: ContentAddressedStore,
  base: StoreId | string,
  rows: number[],
  version: ManifestVersion,
): Promise<StoreId> {
  const sharded = await ShardedZarrStore.open(base, { store, readOnly: false })
  await writeTempRows(sharded, rows, shardedPath(version))
  return sharded.flush()
}
