// Small Zarr documents, chunk bytes and a small store for the sharded store's tests.
import { hexToBytes } from '../../src/blocks.js'
import { type ContentAddressedStore, ShardedZarrStore } from '../../src/index.js'
import { CidMemoryStore } from './cid-store.js'

/** The bytes given, as a chunk. */
export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** A minimal Zarr v3 `zarr.json` of a uint8 array over a regular chunk grid (and a key separator, if given). */
export const v3Array = (shape: number[], chunkShape: number[], separator?: '/' | '.'): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({
      zarr_format: 3,
      node_type: 'array',
      shape,
      data_type: 'uint8',
      chunk_grid: { name: 'regular', configuration: { chunk_shape: chunkShape } },
      ...(separator && { chunk_key_encoding: { name: 'default', configuration: { separator } } }),
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

/** Replays store calls as py-hamt's drivers log them (`[op, key, hex]`, in the order they reached its store). */
export async function replayStoreCalls(
  store: ShardedZarrStore,
  log: [string, string, string][],
): Promise<void> {
  for (const [op, key, hex] of log) {
    if (op === 'set') await store.set(key, hexToBytes(hex))
    else if (op === 'delete') await store.delete(key)
    else if (op === 'delete_dir') await store.deleteDir(key)
    else if (op === 'clear') await store.clear()
    else throw new Error(`unknown store call ${op}`)
  }
}

/** A structural operation as sharded_driver.py's `ops` command takes it. */
export type StructuralOp =
  | { op: 'resize'; shape: number[]; arrayPath?: string }
  | { op: 'resizeVariable'; name: string; shape: number[] }
  | { op: 'graft'; root: string; offset: number[]; sourceArrayPath?: string; targetArrayPath?: string }
  | { op: 'migrate'; path: string }

/** Applies the operations in ts-hamt as sharded_driver.py's `ops` applies them in py-hamt, then flushes. */
export async function applyStructural(store: ShardedZarrStore, ops: StructuralOp[]): Promise<string> {
  for (const op of ops) {
    if (op.op === 'resize')
      await store.resize(op.shape, op.arrayPath === undefined ? {} : { arrayPath: op.arrayPath })
    else if (op.op === 'resizeVariable') await store.resizeVariable(op.name, op.shape)
    else if (op.op === 'graft') {
      const { sourceArrayPath, targetArrayPath } = op
      await store.graft(op.root, op.offset, {
        ...(sourceArrayPath === undefined ? {} : { sourceArrayPath }),
        ...(targetArrayPath === undefined ? {} : { targetArrayPath }),
      })
    } else await store.migrateToV2(op.path)
  }
  return (await store.flush()).toString()
}
