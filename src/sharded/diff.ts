import type { CID } from 'multiformats/cid'
import { formatId, sameId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore } from '../cas/interface.js'
import type { ChangeKind } from '../hamt/interface.js'
import { callStore } from '../hamt/loader.js'
import { chunkKey } from '../zarr/keys.js'
import type { ChunkGrid } from './geometry.js'
import type { ArrayIndex, RootState, ShardEntry } from './interface.js'
import { layoutOf } from './layout.js'
import { ShardDecoder } from './manifest.js'
import { sameEntry } from './shard-entry.js'

/** A key whose block differs between two sharded roots, with the CID on each side where present. */
export interface ShardedKeyChange {
  readonly key: string
  readonly kind: ChangeKind
  readonly before?: CID
  readonly after?: CID
}

export interface ShardedDiffOptions extends AbortOptions {
  /**
   * Which shard positions of an array (by public path) to compare, where both sides number its
   * chunks alike; default all. A merge that settles some shards whole reads only the others.
   */
  shards?: ((path: string, shard: number) => boolean) | undefined
  /** Which arrays (by public path) to compare; default all. */
  arrays?: ((path: string) => boolean) | undefined
  /** Whether to compare the metadata entries (default true). */
  metadata?: boolean | undefined
}

/** One shard's chunk changes of the array at `path`, or (path undefined) the metadata's changes. */
export interface ShardedChangeBatch {
  readonly path: string | undefined
  readonly changes: ShardedKeyChange[]
}

/**
 * The keys that differ between two decoded sharded roots: metadata entries compared by CID, and per
 * array only the shards whose CIDs differ are read. Chunk keys are `<array>/c/<coords>`, under the
 * array's public path (as `ShardedZarrStore` lists them).
 */
export async function* diffShardedRoots(
  from: RootState,
  to: RootState,
  store: ContentAddressedStore,
  options?: ShardedDiffOptions,
): AsyncGenerator<ShardedKeyChange> {
  for await (const { changes } of diffShardedBatches(from, to, store, options)) yield* changes
}

/**
 * {@link diffShardedRoots} a shard's changes at a time (the metadata's first): no await per chunk, for
 * a walk over a root that may claim far more chunks than its blocks hold.
 */
export async function* diffShardedBatches(
  from: RootState,
  to: RootState,
  store: ContentAddressedStore,
  options?: ShardedDiffOptions,
): AsyncGenerator<ShardedChangeBatch> {
  if (options?.metadata !== false)
    yield { path: undefined, changes: [...diffCidMaps(from.metadata, to.metadata)] }
  const decoder = new ShardDecoder()
  const arraysFrom = byPublicPath(from)
  const arraysTo = byPublicPath(to)
  for (const path of new Set([...arraysFrom.keys(), ...arraysTo.keys()])) {
    if (options?.arrays !== undefined && !options.arrays(path)) continue
    const batches = diffArrays(arraysFrom.get(path), arraysTo.get(path), path, store, options, decoder)
    for await (const changes of batches) yield { path, changes }
  }
}

function* diffCidMaps(a: ReadonlyMap<string, CID>, b: ReadonlyMap<string, CID>): Generator<ShardedKeyChange> {
  for (const [key, before] of a) {
    const after = b.get(key)
    if (after === undefined) yield { key, kind: 'removed', before }
    else if (!sameId(before, after)) yield { key, kind: 'changed', before, after }
  }
  for (const [key, after] of b) if (!a.has(key)) yield { key, kind: 'added', after }
}

/** The arrays of a root by the path `ShardedZarrStore` lists their chunks under. */
export function byPublicPath(state: RootState): Map<string, ArrayIndex> {
  const layout = layoutOf(state.version)
  const primary = layout.initialPrimary(state)
  return new Map([...state.arrays.values()].map((index) => [layout.publicPath(index, primary), index]))
}

/**
 * Appending along the first dimension keeps every chunk's number (row-major, first dimension
 * slowest), so shards can be compared by position; any other change of grid renumbers the chunks.
 */
export function sameNumbering(a: ChunkGrid, b: ChunkGrid): boolean {
  return (
    a.chunksPerShard === b.chunksPerShard &&
    a.chunkShape.length === b.chunkShape.length &&
    a.chunkShape.every((size, i) => size === b.chunkShape[i]) &&
    a.chunksPerDim.every((n, i) => i === 0 || n === b.chunksPerDim[i])
  )
}

async function* diffArrays(
  a: ArrayIndex | undefined,
  b: ArrayIndex | undefined,
  path: string,
  store: ContentAddressedStore,
  options: ShardedDiffOptions | undefined,
  decoder: ShardDecoder,
): AsyncGenerator<ShardedKeyChange[]> {
  if (a !== undefined && b !== undefined && sameNumbering(a.grid, b.grid)) {
    const shards = Math.max(a.shardCids.length, b.shardCids.length)
    for (let shard = 0; shard < shards; shard++) {
      const cidA = a.shardCids[shard] ?? null
      const cidB = b.shardCids[shard] ?? null
      if (sameEntry(cidA, cidB)) continue
      if (options?.shards !== undefined && !options.shards(path, shard)) continue
      const changes = await diffShard(a, b, path, shard, store, options, decoder)
      if (changes.length > 0) yield changes
    }
    return
  }
  // Renumbered (or only on one side): each side's chunks against the other's entry at their
  // coordinates, streamed (both grids are row-major, so the other side's shards are read in order).
  const load = (index: ArrayIndex, shard: number) => loadShard(index, shard, store, options, decoder)
  const entryAt = entryReader(load)
  for await (const chunks of chunksOf(a, load)) {
    const changes: ShardedKeyChange[] = []
    for (const [coords, before] of chunks) {
      const after = entryAt.now(b, coords) ?? (await entryAt.load(b, coords))
      const key = chunkKey(path, coords)
      if (after === null) changes.push({ key, kind: 'removed', before })
      else if (!sameId(before, after)) changes.push({ key, kind: 'changed', before, after })
    }
    if (changes.length > 0) yield changes
  }
  for await (const chunks of chunksOf(b, load)) {
    const changes: ShardedKeyChange[] = []
    for (const [coords, after] of chunks) {
      const before = entryAt.now(a, coords) ?? (await entryAt.load(a, coords))
      if (before === null) changes.push({ key: chunkKey(path, coords), kind: 'added', after })
    }
    if (changes.length > 0) yield changes
  }
}

type ShardLoader = (index: ArrayIndex, shard: number) => Promise<ShardEntry[] | undefined>

/** The chunks an array has, as coordinates and CID, a shard's at a time. */
async function* chunksOf(
  index: ArrayIndex | undefined,
  load: ShardLoader,
): AsyncGenerator<[number[], CID][]> {
  if (index === undefined) return
  for (let shard = 0; shard < index.shardCids.length; shard++) {
    const entries = await load(index, shard)
    if (entries === undefined) continue
    const chunks: [number[], CID][] = []
    for (let i = 0; i < entries.length; i++) {
      const cid = entries[i]
      const number = shard * index.grid.chunksPerShard + i
      if (cid !== null && cid !== undefined && number < index.grid.totalChunks)
        chunks.push([index.grid.coordsOf(number), cid])
    }
    yield chunks
  }
}

/**
 * Reads an array's entry at coordinates (null: none there), keeping the shard last read for the next
 * call: `now` answers without an await when it can (undefined: that shard must be loaded first).
 */
function entryReader(load: ShardLoader): {
  now(index: ArrayIndex | undefined, coords: readonly number[]): ShardEntry | undefined
  load(index: ArrayIndex | undefined, coords: readonly number[]): Promise<ShardEntry>
} {
  let last: { index: ArrayIndex; shard: number; entries: ShardEntry[] | undefined } | undefined
  return {
    now(index, coords) {
      if (index === undefined || !index.grid.contains(coords)) return null
      const { shard, position } = index.grid.slotOf(coords)
      if (last === undefined || last.index !== index || last.shard !== shard) return undefined
      return last.entries?.[position] ?? null
    },
    async load(index, coords) {
      if (index === undefined || !index.grid.contains(coords)) return null
      const { shard, position } = index.grid.slotOf(coords)
      last = { index, shard, entries: await load(index, shard) }
      return last.entries?.[position] ?? null
    },
  }
}

/** The chunks that differ in one shard position of two arrays that number their chunks alike. */
export async function diffShard(
  a: ArrayIndex,
  b: ArrayIndex,
  path: string,
  shard: number,
  store: ContentAddressedStore,
  options: AbortOptions | undefined,
  decoder = new ShardDecoder(),
): Promise<ShardedKeyChange[]> {
  const entriesA = await loadShard(a, shard, store, options, decoder)
  const entriesB = await loadShard(b, shard, store, options, decoder)
  const base = shard * a.grid.chunksPerShard
  const changes: ShardedKeyChange[] = []
  for (const { index, kind, before, after } of diffEntries(entriesA, entriesB, base)) {
    const grid = after !== undefined ? b.grid : a.grid
    if (index >= grid.totalChunks) continue
    const key = chunkKey(path, grid.coordsOf(index))
    changes.push({ key, kind, ...(before && { before }), ...(after && { after }) })
  }
  return changes
}

/** Chunk numbers (from `base`) whose entries differ between two shards (undefined: never written). */
function* diffEntries(
  a: readonly ShardEntry[] | undefined,
  b: readonly ShardEntry[] | undefined,
  base: number,
): Generator<{ index: number; kind: ChangeKind; before?: CID; after?: CID }> {
  const length = Math.max(a?.length ?? 0, b?.length ?? 0)
  for (let i = 0; i < length; i++) {
    const before = a?.[i] ?? null
    const after = b?.[i] ?? null
    if (before === null && after === null) continue
    if (before === null) yield { index: base + i, kind: 'added', after: after as CID }
    else if (after === null) yield { index: base + i, kind: 'removed', before }
    else if (!sameId(before, after)) yield { index: base + i, kind: 'changed', before, after }
  }
}

/** A shard's entries; undefined for a shard never written (null in the root). */
async function loadShard(
  index: ArrayIndex,
  shard: number,
  store: ContentAddressedStore,
  options: AbortOptions | undefined,
  decoder: ShardDecoder,
): Promise<ShardEntry[] | undefined> {
  options?.signal?.throwIfAborted()
  const cid = index.shardCids[shard]
  if (cid === null || cid === undefined) return undefined
  const label = `shard ${shard} (${formatId(cid)}) of array ${JSON.stringify(index.path)}`
  const bytes = await callStore(
    () => `loading ${label}`,
    () => store.load(cid, { signal: options?.signal }),
    options?.signal,
  )
  return decoder.decode(cid, bytes, index.grid.chunksPerShard, label)
}
