import type { CID } from 'multiformats/cid'
import type { UnflushedWriter } from '../cas/collectable.js'
import type { AbortOptions } from '../cas/interface.js'
import type { ArrayIndex, ShardEntry } from './interface.js'

/**
 * An array's chunks as a listing began (see `ShardTable.chunksNow`), one at a time or (`byShard`) a
 * shard's at a time; `end` lets go of a listing not run to its end.
 */
export type ChunksNow = ((options?: AbortOptions) => AsyncGenerator<[number[], CID]>) & {
  byShard(options?: AbortOptions): AsyncGenerator<[number[], CID][]>
  end(): void
}

/** How a listing reads a saved shard block, and where it registers the blocks it has still to read. */
export interface ListingSource {
  /** A copy of the entries of the shard block `id` of the array `index` had when the listing began. */
  savedShard(index: ArrayIndex, shard: number, id: CID, options?: AbortOptions): Promise<ShardEntry[]>
  /** A collectable store's writer registry; undefined when the store collects no garbage. */
  readonly listings: { addWriter(writer: UnflushedWriter): void } | undefined
}

/**
 * The chunks of `index` as they are now, read shard by shard when the function returned is called:
 * `unsaved` holds copies of the shards with unsaved changes, the others are read by the CID they have now.
 */
export function listChunks(
  index: ArrayIndex,
  unsaved: ReadonlyMap<number, ShardEntry[]>,
  source: ListingSource,
): ChunksNow {
  const { path, grid, shardCids } = index
  // The shard blocks it will read may be in no root after a flush: a collection keeps them until read.
  const listing = {
    next: 0,
    version: () => 0,
    *unflushed() {
      for (let shard = listing.next; shard < shardCids.length; shard++) {
        const cid = unsaved.has(shard) ? null : (shardCids[shard] ?? null)
        if (cid !== null) yield cid
      }
    },
  }
  source.listings?.addWriter(listing)
  const byShard = (options?: AbortOptions) =>
    shardsOf({ path, grid, shardCids }, unsaved, source, options, listing)
  async function* chunks(options?: AbortOptions): AsyncGenerator<[number[], CID]> {
    for await (const shard of byShard(options)) yield* shard
  }
  // Stopped early or never run, a listing holds nothing more: a later collection removes those shards.
  const end = (): void => {
    listing.next = Number.POSITIVE_INFINITY
  }
  return Object.assign(chunks, { byShard, end })
}

/** The chunks of each shard that has any, a shard at a time (no await per chunk). */
async function* shardsOf(
  index: ArrayIndex,
  unsaved: ReadonlyMap<number, ShardEntry[]>,
  source: ListingSource,
  options: AbortOptions | undefined,
  listing: { next: number },
): AsyncGenerator<[number[], CID][]> {
  const { grid } = index
  try {
    for (let shard = 0; shard < grid.shardCount; shard++) {
      const id = index.shardCids[shard] ?? null
      const entries =
        unsaved.get(shard) ?? (id === null ? undefined : await source.savedShard(index, shard, id, options))
      listing.next = shard + 1
      if (entries === undefined) continue
      const chunks: [number[], CID][] = []
      for (let position = 0; position < entries.length; position++) {
        const cid = entries[position]
        const linear = shard * grid.chunksPerShard + position
        if (cid !== null && cid !== undefined && linear < grid.totalChunks)
          chunks.push([grid.coordsOf(linear), cid])
      }
      if (chunks.length > 0) yield chunks
    }
  } finally {
    // Broken out of or failed (an abort): the shards not read are held no longer.
    listing.next = Number.POSITIVE_INFINITY
  }
}
