import type { CID } from 'multiformats/cid'
import { formatId, sameId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { callStore } from '../hamt/loader.js'
import { type KeyChange, type MergeEdit, type MergeResolver, mergeCheckOf, planMerge } from '../hamt/merge.js'
import { byPublicPath, diffShard, sameNumbering } from './diff.js'
import type { ArrayIndex, RootState } from './interface.js'
import { ShardDecoder } from './manifest.js'
import { type ArrayChanges, collectSide, rereadSide, type SettledBy } from './merge-collect.js'
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
  const settledBy: SettledBy = (path, shard) => whole.get(path)?.sides.get(shard)
  const sideOptions = { signal: sideSignal }
  const stopping = <T>(run: Promise<T>): Promise<T> =>
    run.catch((error: unknown) => {
      failed.abort(error)
      throw error
    })
  const bothSides = async <T>(run: (side: 'a' | 'b') => Promise<T>): Promise<[T, T]> => {
    const [a, b] = await Promise.allSettled([stopping(run('a')), stopping(run('b'))])
    if (a.status === 'rejected' || b.status === 'rejected') throw failed.signal.reason
    return [a.value, b.value]
  }
  const sides = await bothSides((side) =>
    collectSide(states.base, states[side], side, store, settledBy, sideOptions),
  )
  // An array with more chunk changes than a side held: if the other side changed chunks in it too,
  // the side's changes are read again for the plan; if not, they are written as they stream.
  const [arraysA, arraysB] = [sides[0].arrays, sides[1].arrays]
  const streamed = { a: new Set<string>(), b: new Set<string>() }
  const reread = { a: new Set<string>(), b: new Set<string>() }
  for (const path of new Set([...arraysA.keys(), ...arraysB.keys()])) {
    const [seenA, seenB] = [arraysA.get(path), arraysB.get(path)]
    if (seenA?.overflowed && seenB === undefined) streamed.a.add(path)
    else if (seenB?.overflowed && seenA === undefined) streamed.b.add(path)
    else {
      if (seenA?.overflowed) reread.a.add(path)
      if (seenB?.overflowed) reread.b.add(path)
    }
  }
  await bothSides(async (side) => {
    const held = sides[side === 'a' ? 0 : 1].changes
    const paths = reread[side]
    if (paths.size === 0) return
    const batches = rereadSide(
      states.base,
      states[side],
      store,
      (path) => paths.has(path),
      settledBy,
      sideOptions,
    )
    for await (const batch of batches) for (const change of batch) held.set(change.key, change)
  })
  const [changesA, changesB] = [sides[0].changes, sides[1].changes]
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
  // A streamed array's changes not held count as settled (the held ones are in the plan).
  for (const [side, { arrays }] of [
    ['a', sides[0]],
    ['b', sides[1]],
  ] as const)
    for (const path of streamed[side]) {
      const seen = arrays.get(path) as ArrayChanges
      settled[side] += seen.count - seen.held
    }
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
        await writeChanges(sharded, await diffShard(index, source, path, shard, store, { signal }, decoder))
      }
    }
    const paths = streamed[other]
    if (paths.size === 0) return
    const batches = rereadSide(states.base, states[other], store, (path) => paths.has(path), settledBy, {
      signal,
    })
    for await (const batch of batches) await writeChanges(sharded, batch)
  })
  return sharded.flush({ signal })
}

/** Writes one batch of a side's chunk changes (a shard's). */
async function writeChanges(sharded: ShardedZarrStore, changes: readonly KeyChange[]): Promise<void> {
  await Promise.all(
    changes.map(({ key, after }) =>
      after === undefined ? sharded.delete(key) : sharded.setPointer(key, after as CID),
    ),
  )
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
