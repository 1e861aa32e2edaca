// Small Zarr documents, chunk bytes and a small store for the sharded store's tests.
import { type ContentAddressedStore, ShardedZarrStore } from '../../src/index.js'
import { CidMemoryStore } from './cid-store.js'

/** The bytes given, as a chunk. */
export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** A minimal Zarr v3 `zarr.json` of a uint8 array over a regular chunk grid. */
export const v3Array = (shape: number[], chunkShape: number[]): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({
      zarr_format: 3,
      node_type: 'array',
      shape,
      data_type: 'uint8',
      chunk_grid: { name: 'regular', configuration: { chunk_shape: chunkShape } },
    }),
  )

/** A v1 store over a 4x4 grid of 1x1 chunks (keys `a/c/i/j`), 3 chunks a shard: 6 shards, the last one short. */
export async function newV1(store?: ContentAddressedStore, cacheBytes?: number): Promise<ShardedZarrStore> {
  return ShardedZarrStore.create({
    store: store ?? (await CidMemoryStore.create()),
    arrayShape: [4, 4],
    chunkShape: [1, 1],
    chunksPerShard: 3,
    ...(cacheBytes === undefined ? {} : { cacheBytes }),
  })
}
