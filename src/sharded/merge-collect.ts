import type { AbortOptions, ContentAddressedStore } from '../cas/interface.js'
import type { KeyChange } from '../hamt/merge.js'
import { diffShardedBatches, type ShardedDiffOptions } from './diff.js'
import type { RootState } from './interface.js'

/** Chunk changes a side holds per array before it only counts them (a root may claim far more chunks than its blocks hold). */
export const HELD_PER_ARRAY = 4096

/** Which shard positions of an array merge whole, and who settles each (see `merge.ts`). */
export type SettledBy = (path: string, shard: number) => 'a' | 'b' | 'both' | undefined

/** A side's chunk changes in one array: how many, how many held. */
export interface ArrayChanges {
  count: number
  held: number
  overflowed: boolean
}

/** A side's changes from the base: those held for the plan, and per array how many chunk changes there are. */
export interface SideChanges {
  readonly changes: Map<string, KeyChange>
  /** Per array (by public path): chunk changes seen, how many of them are held, whether some are not. */
  readonly arrays: Map<string, ArrayChanges>
}

/**
 * A side's changes, holding at most {@link HELD_PER_ARRAY} chunk changes per array (then counting).
 * A side's first chunk change in an array is held like any other, so the merge's check sees that the
 * side wrote under the array; the rest of its whole shards never are read.
 */
export async function collectSide(
  base: RootState,
  state: RootState,
  side: 'a' | 'b',
  store: ContentAddressedStore,
  settledBy: SettledBy,
  options: AbortOptions,
): Promise<SideChanges> {
  const changes = new Map<string, KeyChange>()
  const arrays = new Map<string, ArrayChanges>()
  const shards = (path: string, shard: number): boolean => {
    const by = settledBy(path, shard)
    return by === undefined || (!arrays.has(path) && by !== (side === 'a' ? 'b' : 'a'))
  }
  for await (const batch of diffShardedBatches(base, state, store, { ...options, shards })) {
    if (batch.changes.length === 0) continue
    if (batch.path === undefined) {
      for (const change of batch.changes) changes.set(change.key, change)
      continue
    }
    const seen = arrays.get(batch.path) ?? { count: 0, held: 0, overflowed: false }
    arrays.set(batch.path, seen)
    seen.count += batch.changes.length
    if (seen.overflowed || seen.count > HELD_PER_ARRAY) seen.overflowed = true
    else {
      for (const change of batch.changes) changes.set(change.key, change)
      seen.held = seen.count
    }
  }
  return { changes, arrays }
}

/**
 * The chunk changes of a side in the arrays `paths` takes, outside the whole shards, a shard's at a
 * time: for adding to the held changes an array both sides changed, or writing those of an array only
 * this side changed onto the other side.
 */
export async function* rereadSide(
  base: RootState,
  state: RootState,
  store: ContentAddressedStore,
  paths: (path: string) => boolean,
  settledBy: SettledBy,
  options: AbortOptions,
): AsyncGenerator<KeyChange[]> {
  const reading: ShardedDiffOptions = {
    ...options,
    metadata: false,
    arrays: paths,
    shards: (path, shard) => settledBy(path, shard) === undefined,
  }
  for await (const { changes } of diffShardedBatches(base, state, store, reading)) yield changes
}
