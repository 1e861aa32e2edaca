import type { ChunkGrid } from './geometry.js'
import type { ShardEntry } from './interface.js'

/**
 * Where the chunks of `oldShards` (the shards of grid `old`, undefined where never written) land on
 * `grid`, by coordinates: chunks outside the new shape are dropped, and only shards that receive a
 * chunk are allocated, so a vast, empty grid costs nothing.
 */
export function remapShards(
  oldShards: readonly (readonly ShardEntry[] | undefined)[],
  old: ChunkGrid,
  grid: ChunkGrid,
): Map<number, ShardEntry[]> {
  const newShards = new Map<number, ShardEntry[]>()
  oldShards.forEach((entries, shard) => {
    entries?.forEach((cid, position) => {
      const linear = shard * old.chunksPerShard + position
      if (cid === null || linear >= old.totalChunks) return
      const coords = old.coordsOf(linear)
      if (!grid.contains(coords)) return
      const slot = grid.slotOf(coords)
      let target = newShards.get(slot.shard)
      if (target === undefined) {
        target = new Array<ShardEntry>(grid.chunksPerShard).fill(null)
        newShards.set(slot.shard, target)
      }
      target[slot.position] = cid
    })
  })
  return newShards
}
