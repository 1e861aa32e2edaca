import { describeValue, InvalidManifestError } from '../errors.js'
import { isDecimal, isShardedMetadataKey, normalizePath, parseCoords, splitChunkKey } from '../zarr/keys.js'
import { type ArrayIndex, type RootState, SHARDED_V2, type ShardEntry } from './interface.js'
import type { ChunkRef } from './keys.js'
import type { ShardLayout } from './layout.js'
import {
  canonicalOrder,
  decodeArrayIndex,
  decodeMetadata,
  encodeArrayIndex,
  type Fields,
  isMap,
  without,
} from './manifest.js'

/** `sharded_zarr_v2`: one shard index per registered array, under `arrays[path]`. */
export const V2_LAYOUT: ShardLayout = {
  version: SHARDED_V2,
  indexPerArray: true,

  newRoot(chunksPerShard, array) {
    const state = newV2Root(chunksPerShard)
    if (array !== undefined) {
      const shardCids = new Array<ShardEntry>(array.grid.shardCount).fill(null)
      state.arrays.set(array.path, { path: array.path, grid: array.grid, shardCids })
    }
    return state
  },

  decode(root: Fields): RootState {
    const arraysField = root.arrays
    if (!isMap(arraysField))
      throw new InvalidManifestError(`root.arrays must be a map, got ${describeValue(arraysField)}`)
    if (root.sharding_config !== undefined && !isMap(root.sharding_config)) {
      throw new InvalidManifestError(
        `root.sharding_config must be a map, got ${describeValue(root.sharding_config)}`,
      )
    }
    const metadata = decodeMetadata(root.metadata)
    const arrays = new Map<string, ArrayIndex>()
    for (const path of canonicalOrder(Object.keys(arraysField))) {
      const index = decodeArrayIndex(
        normalizePath(path),
        arraysField[path],
        `root.arrays[${JSON.stringify(path)}]`,
      )
      arrays.set(index.path, index)
    }
    return {
      version: SHARDED_V2,
      metadata,
      arrays,
      recordedPrimary: undefined,
      extras: {
        root: without(root, ['manifest_version', 'metadata', 'arrays']),
        chunks: {},
        shardingConfig: {},
      },
    }
  },

  toFields(state: RootState): Fields {
    const arrays: Fields = {}
    for (const [path, index] of state.arrays) {
      arrays[path] = encodeArrayIndex(index, { chunks_per_shard: index.grid.chunksPerShard, order: 'C' })
    }
    const metadata = Object.fromEntries(state.metadata)
    return { ...state.extras.root, manifest_version: SHARDED_V2, metadata, arrays }
  },

  initialPrimary: (state) => ({ path: state.arrays.keys().next().value, inferred: false }),
  primaryUnsettled: () => false,

  route(state, _primary, key) {
    if (isShardedMetadataKey(key)) return null
    const split = splitChunkKey(key)
    if (split === undefined) return classicChunk(state, key)
    const { arrayPath, coordText } = split
    if (!coordText.split('/').every(isDecimal)) {
      const classic = classicChunk(state, key)
      if (classic !== null) return classic
    }
    const coords = parseCoords(key, coordText)
    state.arrays.get(arrayPath)?.grid.assertContains(coords, key)
    return { arrayPath, coords }
  },

  readKey(state, key) {
    const group = defaultReadGroup(state)
    if (group === undefined) return key
    if (['zarr.json', '.zgroup', '.zattrs', '.zmetadata', ''].includes(key)) return key
    if (key === group || key.startsWith(`${group}/`)) return key
    return `${group}/${key}`
  },

  indexKey: (path) => path,
  publicPath: (index) => index.path,
}

/**
 * A Zarr v2 chunk key of a registered array: `path/0.1` (dot separator) or `path/0/1` (slash
 * separator, matched against the longest array path first), as py-hamt 3.6.0 routes them.
 */
function classicChunk(state: RootState, key: string): ChunkRef | null {
  const slash = key.lastIndexOf('/')
  const dotted = key.slice(slash + 1)
  if (dotted.includes('.')) {
    const arrayPath = normalizePath(key.slice(0, Math.max(slash, 0)))
    const parts = dotted.split('.')
    const index = state.arrays.get(arrayPath)
    if (index !== undefined && parts.every(isDecimal) && parts.length === index.grid.chunksPerDim.length) {
      const coords = parts.map(Number)
      index.grid.assertContains(coords, key)
      return { arrayPath, coords }
    }
  }
  const byLongestPath = [...state.arrays.values()].sort((a, b) => b.path.length - a.path.length)
  for (const { path, grid } of byLongestPath) {
    const prefix = path === '' ? '' : `${path}/`
    if (!key.startsWith(prefix)) continue
    const parts = key.slice(prefix.length).split('/')
    if (parts.length !== grid.chunksPerDim.length || !parts.every(isDecimal)) continue
    const coords = parts.map(Number)
    grid.assertContains(coords, key)
    return { arrayPath: path, coords }
  }
  return null
}

/** Every array under one top-level group: reads of `temp/…` go to `<group>/temp/…` (py-hamt's default group). */
function defaultReadGroup(state: RootState): string | undefined {
  if (state.arrays.size === 0) return undefined
  const groups = new Set<string>()
  for (const path of state.arrays.keys()) {
    if (!path.includes('/')) return undefined
    groups.add(path.split('/', 1)[0] as string)
  }
  return groups.size === 1 ? (groups.values().next().value as string) : undefined
}

/** A new, empty v2 root; `chunksPerShard` is the default for arrays registered later. */
export function newV2Root(chunksPerShard: number): RootState {
  return {
    version: SHARDED_V2,
    metadata: new Map(),
    arrays: new Map(),
    recordedPrimary: undefined,
    extras: {
      root: {
        store_type: 'py_hamt.sharded_zarr',
        zarr_format: 3,
        sharding_config: { chunks_per_shard: chunksPerShard, order: 'C' },
      },
      chunks: {},
      shardingConfig: {},
    },
  }
}
