import type { CID } from 'multiformats/cid'
import type { AbortOptions } from '../cas/interface.js'
import { ChunkOutOfBoundsError, InvalidArgumentError } from '../errors.js'
import { chunkKey, normalizePath } from '../zarr/keys.js'
import { describeShape, isIntegerList } from './geometry.js'
import type { ArrayIndex } from './interface.js'
import { SHARDED_V1 } from './interface.js'
import { newV2Root } from './layout-v2.js'
import { keysNow } from './listing.js'
import {
  declaredChunkShape,
  declaredShape,
  isJsonObject,
  V2_GROUP_JSON,
  V3_GROUP_JSON,
  withShape,
} from './metadata.js'
import type { MetadataWriter } from './metadata-writer.js'
import { dumpPyJson, parsePyJson } from './pyjson.js'
import type { ShardTable } from './shard-table.js'
import { saveForCid } from './typed-store.js'

function indexFor(table: ShardTable, path: string, what: string): ArrayIndex {
  const index = table.indexOf(path)
  if (index === undefined)
    throw new InvalidArgumentError(`${what}: no sharded array at ${JSON.stringify(path)}`)
  return index
}

/** Copies the chunk CIDs of `source` into `target` shifted by `chunkOffset`; all-or-nothing. */
export async function graftChunks(
  target: ShardTable,
  source: ShardTable,
  chunkOffset: readonly number[],
  options: { sourceArrayPath?: string; targetArrayPath?: string },
  abort?: AbortOptions,
): Promise<void> {
  const sourcePath = options.sourceArrayPath ?? source.root.primary.path
  if (sourcePath === undefined) return
  const sourceIndex = indexFor(source, normalizePath(sourcePath), 'graft source')
  const targetPath = normalizePath(options.targetArrayPath ?? sourcePath)
  const targetIndex = indexFor(target, targetPath, 'graft target')
  const rank = sourceIndex.grid.chunksPerDim.length
  if (
    !Array.isArray(chunkOffset) ||
    chunkOffset.length !== rank ||
    targetIndex.grid.chunksPerDim.length !== rank ||
    !isIntegerList(chunkOffset)
  ) {
    throw new InvalidArgumentError(
      `chunkOffset must be ${rank} non-negative integers matching both arrays' rank, got ${describeShape(chunkOffset)}`,
    )
  }
  // Streamed into the target a source shard at a time: nothing is held per chunk (a root may link
  // one shard block at every position, claiming far more chunks than its blocks hold).
  async function* moves(): AsyncGenerator<[number[], CID][]> {
    for await (const chunks of source.chunksNow(sourceIndex).byShard(abort)) {
      for (const chunk of chunks) {
        const shifted = chunk[0].map((c, i) => c + (chunkOffset[i] as number))
        if (!targetIndex.grid.contains(shifted)) {
          throw new ChunkOutOfBoundsError(
            chunkKey(targetPath, shifted),
            'graft target is outside the target array',
          )
        }
        chunk[0] = shifted
      }
      yield chunks
    }
  }
  await target.setEntries(targetIndex, moves(), abort)
}

/** py-hamt's `resize_variable`: the array document gets the new shape (written with indent 2); v2 resizes the index too. */
export async function resizeArrayMetadata(
  table: ShardTable,
  metadata: MetadataWriter,
  name: string,
  newShape: readonly number[],
  options?: AbortOptions,
): Promise<void> {
  if (!isIntegerList(newShape)) {
    throw new InvalidArgumentError(`newShape must be non-negative integers, got ${describeShape(newShape)}`)
  }
  const path = normalizePath(name)
  const key = path === '' ? 'zarr.json' : `${path}/zarr.json`
  const cid = table.state.metadata.get(key)
  if (cid === undefined)
    throw new InvalidArgumentError(`resizeVariable: no metadata ${JSON.stringify(key)} to resize`)
  const json = parsePyJson(await table.store.load(cid, options))
  if (!isJsonObject(json)) throw new InvalidArgumentError(`resizeVariable: ${key} is not a JSON object`)
  // py-hamt 3.6.0 refuses this in v2 only; in v1 it writes a document zarr cannot open.
  const rank = (declaredChunkShape(json) ?? declaredShape(json))?.length
  if (rank !== undefined && newShape.length !== rank) {
    throw new InvalidArgumentError(
      `resizeVariable: ${key} is an array of rank ${rank}, the new shape ${describeShape(newShape)} has rank ${newShape.length}`,
    )
  }
  const resized = withShape(json, newShape)
  const bytes = dumpPyJson(resized, 2)
  const newCid = await saveForCid(table.store, bytes, 'raw', options)
  if (table.root.layout.indexPerArray) await metadata.register(key, resized, options)
  metadata.record(key, newCid)
}

function migrationSource(metadata: Map<string, CID>, primary: string): string {
  const leaf = primary.split('/').at(-1) as string
  const candidates = [...new Set([primary, leaf]), '']
  for (const candidate of candidates) {
    const keys =
      candidate === '' ? ['zarr.json', '.zarray'] : [`${candidate}/zarr.json`, `${candidate}/.zarray`]
    if (keys.some((key) => metadata.has(key))) return candidate
  }
  return leaf
}

function migratedKey(key: string, source: string, primary: string): string {
  const parent = primary.includes('/') ? primary.slice(0, primary.lastIndexOf('/')) : ''
  if (source !== '') {
    if (key.startsWith(`${source}/`)) return `${primary}/${key.slice(source.length + 1)}`
  } else if (key.startsWith('c/') || key === 'zarr.json' || key === '.zarray') {
    return `${primary}/${key}`
  }
  if (parent !== '' && key.includes('/') && !key.startsWith(`${parent}/`)) return `${parent}/${key}`
  return key
}

/** Parent groups the migrated array needs; an existing v3 parent group loses its consolidated metadata. */
async function addParentGroups(
  table: ShardTable,
  metadata: Map<string, CID>,
  arrayPath: string,
  options?: AbortOptions,
): Promise<void> {
  const parts = arrayPath.split('/')
  const classic = metadata.has(`${arrayPath}/.zarray`)
  for (let depth = 0; depth < parts.length; depth++) {
    const group = parts.slice(0, depth).join('/')
    const name = classic ? '.zgroup' : 'zarr.json'
    const key = group === '' ? name : `${group}/${name}`
    const existing = metadata.get(key)
    if (existing === undefined) {
      metadata.set(
        key,
        await saveForCid(table.store, classic ? V2_GROUP_JSON : V3_GROUP_JSON, 'raw', options),
      )
      continue
    }
    if (classic) continue
    const json = parsePyJson(await table.store.load(existing, options))
    if (!isJsonObject(json) || json.get('node_type') !== 'group' || !json.has('consolidated_metadata'))
      continue
    const stripped = new Map(json)
    stripped.delete('consolidated_metadata')
    metadata.set(key, await saveForCid(table.store, dumpPyJson(stripped), 'raw', options))
  }
}

/**
 * py-hamt's `migrate_v1_to_v2`: the v1 shards become the index of `primaryArrayPath`, metadata keys
 * move under it (and its parent), missing parent groups are added. The caller flushes before and after.
 */
export async function migrateV1ToV2(
  table: ShardTable,
  metadata: MetadataWriter,
  primaryArrayPath: string,
  options?: AbortOptions,
): Promise<string> {
  if (typeof primaryArrayPath !== 'string' || normalizePath(primaryArrayPath) === '') {
    throw new InvalidArgumentError('primaryArrayPath must be a non-empty array path')
  }
  const state = table.state
  if (state.version !== SHARDED_V1)
    throw new InvalidArgumentError('only a sharded_zarr_v1 store can be migrated to v2')
  const primary = normalizePath(primaryArrayPath)
  const old = state.arrays.get('') as ArrayIndex
  // py-hamt builds the v2 index from its `_array_shape` (ShardedRoot.documentShape), which a resize in
  // this session may have left behind; a shard count that then disagrees is its ValueError.
  const grid = old.grid.withShape(table.root.documentShape)
  if (grid.shardCount !== old.shardCids.length) {
    throw new InvalidArgumentError(
      `cannot migrate: the store was resized since it was opened (${describeShape(grid.arrayShape)} -> ` +
        `${describeShape(old.grid.arrayShape)}) and py-hamt 3.6.0 migrates the opened shape; flush, reopen, then migrate`,
    )
  }
  const source = migrationSource(state.metadata, primary)
  const migrated = new Map<string, CID>()
  for (const [key, cid] of state.metadata) migrated.set(migratedKey(key, source, primary), cid)
  await addParentGroups(table, migrated, primary, options)
  const next = newV2Root(old.grid.chunksPerShard)
  next.metadata = migrated
  next.arrays.set(primary, { path: primary, grid, shardCids: [...old.shardCids] })
  table.clearCache()
  metadata.clearCache()
  table.root.replace(next, primary)
  return primary
}

/**
 * v1's deleteDir: every listed key under `dir`, all or nothing (the shards of the chunks are
 * loaded before anything changes). The caller holds the store's structure lock.
 */
export async function deleteV1KeysUnder(
  table: ShardTable,
  metadata: MetadataWriter,
  dir: string,
): Promise<void> {
  const start = dir === '' ? '' : `${dir}/`
  const keys: string[] = []
  for await (const key of keysNow(table, table.root)()) if (key.startsWith(start)) keys.push(key)
  const chunks: [readonly number[], null][] = []
  for (const key of keys) {
    const ref = table.root.route(key)
    if (ref !== null) chunks.push([ref.coords, null])
  }
  const index = table.indexOf('') // v1 has one index, whatever the array's path
  if (index !== undefined) await table.setEntries(index, [chunks])
  for (const key of keys) metadata.forget(key)
}
