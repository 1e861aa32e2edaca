import type { CID } from 'multiformats/cid'
import { formatId, sameId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { callStore } from '../hamt/loader.js'
import { type KeyChange, type MergeEdit, type MergeResolver, mergeCheckOf, planMerge } from '../hamt/merge.js'
import { byPublicPath, diffShard, diffShardedBatches, sameNumbering } from './diff.js'
import type { ArrayIndex, RootState } from './interface.js'
import { ShardDecoder } from './manifest.js'
import { sameEntry } from './shard-entry.js'
import { ShardedZarrStore } from './store.js'
import { saveForCid } from './typed-store.js'

export interface ShardedMergeOptions extends AbortOptions {
  store: ContentAddressedStore
  resolve?: MergeResolver<Uint8Array> | undefined
}

/**
 * Three-way merge of sharded roots (py-hamt's ShardedZarrStore), decoded: metadata entries and chunk
 * entries compared by CID (shards with one CID on both sides skipped, as in the diff), the smaller
 * side's changes written onto the other through `ShardedZarrStore.setPointer`, then flushed. The
 * root is the one a single writer of both change sets gives, for roots of one manifest version.
 * A shard only one side changed (or both alike) merges whole, its chunks never held: a root may link
 * one shard block at every position, claiming far more chunks than its blocks hold.
 */
export async function mergeShardedRoots(
  ids: { base: CID; a: CID; b: CID },
  states: { base: RootState; a: RootState; b: RootState },
  options: ShardedMergeOptions,
): Promise<CID> {
  const { store, resolve, signal } = options
  const versions = new Set([states.base.version, states.a.version, states.b.version])
  if (versions.size > 1) {
    throw new InvalidArgumentError(
      `base, a and b are sharded roots of different manifest versions (${[...versions].join(', ')}): a merge needs one`,
    )
  }
  if (sameId(ids.a, ids.b) || sameId(ids.b, ids.base)) return ids.a
  if (sameId(ids.a, ids.base)) return ids.b
  const whole = wholeShards(states)
  // The first side to fail stops the other (a shared abort), and the merge rejects once both have
  // settled: nothing of a rejected merge runs after it.
  const failed = new AbortController()
  const sideSignal = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal])
  const collect = async (side: 'a' | 'b'): Promise<Map<string, KeyChange>> => {
    const changes = new Map<string, KeyChange>()
    // A side's first chunk change in an array is planned like any other, so the merge's check sees
    // that the side wrote under the array; the rest of its whole shards never are.
    const planned = new Set<string>()
    let at: string | undefined
    const shards = (path: string, shard: number): boolean => {
      at = path
      const settledBy = whole.get(path)?.sides.get(shard)
      return settledBy === undefined || (!planned.has(path) && settledBy !== (side === 'a' ? 'b' : 'a'))
    }
    for await (const batch of diffShardedBatches(states.base, states[side], store, {
      ...options,
      signal: sideSignal,
      shards,
    })) {
      for (const change of batch) changes.set(change.key, change)
      if (at !== undefined && batch.length > 0) planned.add(at)
    }
    return changes
  }
  const collectOrStop = (side: 'a' | 'b') =>
    collect(side).catch((error: unknown) => {
      failed.abort(error)
      throw error
    })
  const [a, b] = await Promise.allSettled([collectOrStop('a'), collectOrStop('b')])
  if (a.status === 'rejected' || b.status === 'rejected') throw failed.signal.reason
  const [changesA, changesB] = [a.value, b.value]
  const values = {
    load: (key: string, pointer: StoreId) =>
      callStore(
        () => `loading ${key} (${formatId(pointer)})`,
        () => store.load(pointer, { signal }),
        signal,
      ),
    save: (_key: string, value: Uint8Array) => saveForCid(store, value, 'raw', { signal }),
  }
  const settled = { a: 0, b: 0 }
  for (const { index, sides } of whole.values())
    for (const side of sides.values()) if (side !== 'both') settled[side] += index.grid.chunksPerShard
  const check = mergeCheckOf<Uint8Array>(options)
  const { ontoA, edits } = await planMerge(changesA, changesB, resolve, values, signal, check, settled)
  const target = ontoA ? ids.a : ids.b
  if (edits.length === 0 && settled[ontoA ? 'b' : 'a'] === 0) return target
  const isMetadata = (key: string): boolean =>
    states.base.metadata.has(key) || states.a.metadata.has(key) || states.b.metadata.has(key)
  const sharded = await ShardedZarrStore.open(target, { store, readOnly: false, signal })
  const other = ontoA ? 'b' : 'a'
  const decoder = new ShardDecoder()
  await applyEdits(sharded, edits, isMetadata, async () => {
    for (const [path, { index, sides }] of whole) {
      const source = byPublicPath(states[other]).get(path) as ArrayIndex
      for (const [shard, side] of sides) {
        if (side !== other) continue
        const changes = await diffShard(index, source, path, shard, store, { signal }, decoder)
        await Promise.all(
          changes.map(({ key, after }) =>
            after === undefined ? sharded.delete(key) : sharded.setPointer(key, after),
          ),
        )
      }
    }
  })
  return sharded.flush({ signal })
}

/** Which side's shard stands at a position only one side changed, or both alike. */
type WholeSide = 'a' | 'b' | 'both'

/**
 * Per array (by public path) whose grid is one in all three roots: the shard positions that merge
 * whole, with the base's index.
 */
function wholeShards(states: {
  base: RootState
  a: RootState
  b: RootState
}): Map<string, { index: ArrayIndex; sides: Map<number, WholeSide> }> {
  const [arraysA, arraysB] = [byPublicPath(states.a), byPublicPath(states.b)]
  const whole = new Map<string, { index: ArrayIndex; sides: Map<number, WholeSide> }>()
  for (const [path, index] of byPublicPath(states.base)) {
    const [a, b] = [arraysA.get(path), arraysB.get(path)]
    if (a === undefined || b === undefined || !sameGrid(index, a) || !sameGrid(index, b)) continue
    const sides = new Map<number, WholeSide>()
    const count = Math.max(index.shardCids.length, a.shardCids.length, b.shardCids.length)
    for (let shard = 0; shard < count; shard++) {
      const [cid, cidA, cidB] = [index, a, b].map(({ shardCids }) => shardCids[shard] ?? null)
      const [changedA, changedB] = [
        !sameEntry(cid ?? null, cidA ?? null),
        !sameEntry(cid ?? null, cidB ?? null),
      ]
      if (!changedA && !changedB) continue
      if (!changedB) sides.set(shard, 'a')
      else if (!changedA) sides.set(shard, 'b')
      else if (sameEntry(cidA ?? null, cidB ?? null)) sides.set(shard, 'both')
    }
    if (sides.size > 0) whole.set(path, { index, sides })
  }
  return whole
}

/** One chunk grid: chunks numbered alike and the same shape (so the same shards). */
function sameGrid(x: ArrayIndex, y: ArrayIndex): boolean {
  return sameNumbering(x.grid, y.grid) && x.grid.arrayShape.every((size, i) => size === y.grid.arrayShape[i])
}

/**
 * Metadata first (a `zarr.json` registers the array its chunks need), then chunks, then the shards
 * that merge whole, then the metadata deletes (an array's chunks go before its `zarr.json`).
 */
async function applyEdits(
  sharded: ShardedZarrStore,
  edits: MergeEdit[],
  isMetadata: (key: string) => boolean,
  copyWholeShards: () => Promise<void>,
): Promise<void> {
  const write = ({ key, pointer }: MergeEdit): Promise<void> =>
    pointer === undefined ? sharded.delete(key) : sharded.setPointer(key, pointer as CID)
  const metadata = edits.filter((edit) => isMetadata(edit.key))
  const chunks = edits.filter((edit) => !isMetadata(edit.key))
  for (const edit of metadata) if (edit.pointer !== undefined) await write(edit)
  await Promise.all(chunks.map(write))
  await copyWholeShards()
  for (const edit of metadata) if (edit.pointer === undefined) await write(edit)
}
