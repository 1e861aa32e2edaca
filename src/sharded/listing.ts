import type { ZarrGetOptions } from '../zarr/interface.js'
import { chunkKey } from '../zarr/keys.js'
import type { ShardedRoot } from './root.js'
import type { ShardTable } from './shard-table.js'

/** Public description of one sharded array. */
export interface ShardedArrayInfo {
  path: string
  arrayShape: number[]
  chunkShape: number[]
  chunksPerShard: number
  shardCount: number
}

/** The sharded arrays of `table`'s state (v1: the one index, under the primary array's path). */
export function arrayInfos(table: ShardTable, root: ShardedRoot): ShardedArrayInfo[] {
  return [...table.state.arrays.values()].map((index) => ({
    path: root.layout.publicPath(index, root.primary),
    arrayShape: [...index.grid.arrayShape],
    chunkShape: [...index.grid.chunkShape],
    chunksPerShard: index.grid.chunksPerShard,
    shardCount: index.grid.shardCount,
  }))
}

/**
 * The keys of the state now: the metadata keys, then every chunk that has a CID, a shard at a time,
 * read when the function returned is called (see `ShardTable.chunksNow`).
 */
export function keysNow(
  table: ShardTable,
  root: ShardedRoot,
): (options?: ZarrGetOptions) => AsyncGenerator<string> {
  const state = table.state
  const metadata = [...state.metadata.keys()]
  const arrays = [...state.arrays.values()].map((index) => ({
    listed: root.layout.publicPath(index, root.primary),
    chunks: table.chunksNow(index),
  }))
  return async function* (options) {
    try {
      const seen = new Set(metadata)
      yield* metadata
      for (const { listed, chunks } of arrays) {
        for await (const [coords] of chunks(options)) {
          const key = chunkKey(listed, coords)
          if (!seen.has(key)) yield key
        }
      }
    } finally {
      // Stopped early: the arrays not reached hold their shards no longer.
      for (const { chunks } of arrays) chunks.end()
    }
  }
}

/** The direct children of the directory `start` (`''` or ending in `/`) among `keys`, each once. */
export async function* childrenOf(keys: AsyncIterable<string>, start: string): AsyncGenerator<string> {
  const seen = new Set<string>()
  for await (const key of keys) {
    if (!key.startsWith(start)) continue
    const child = key.slice(start.length).split('/', 1)[0] as string
    if (child !== '' && !seen.has(child)) {
      seen.add(child)
      yield child
    }
  }
}
