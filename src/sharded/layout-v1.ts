import { describeValue, InvalidArgumentError, InvalidManifestError } from '../errors.js'
import { isShardedMetadataKey, normalizePath, parseCoords, splitChunkKey } from '../zarr/keys.js'
import type { ChunkGrid } from './geometry.js'
import { type ArrayIndex, type RootState, SHARDED_V1 } from './interface.js'
import { COORDINATE_NAMES } from './keys.js'
import type { ShardLayout } from './layout.js'
import {
  decodeArrayIndex,
  decodeMetadata,
  encodeArrayIndex,
  type Fields,
  isMap,
  without,
} from './manifest.js'

/**
 * `sharded_zarr_v1`: one shard index (under `""`) for one primary array, named by
 * `chunks.primary_array_path`; coordinates and every other array stay in the metadata map.
 */
export const V1_LAYOUT: ShardLayout = {
  version: SHARDED_V1,
  indexPerArray: false,

  newRoot(_chunksPerShard, array) {
    if (array === undefined) throw new InvalidArgumentError('a v1 store needs arrayShape and chunkShape')
    return newV1Root(array.grid)
  },

  decode(root: Fields): RootState {
    const chunks = root.chunks
    if (!isMap(chunks))
      throw new InvalidManifestError(`root.chunks must be a map, got ${describeValue(chunks)}`)
    const index = decodeArrayIndex('', chunks, 'root.chunks')
    const primary = chunks.primary_array_path
    if (primary !== undefined && typeof primary !== 'string') {
      throw new InvalidManifestError(
        `root.chunks.primary_array_path must be a string, got ${describeValue(primary)}`,
      )
    }
    return {
      version: SHARDED_V1,
      metadata: decodeMetadata(root.metadata),
      arrays: new Map([['', index]]),
      recordedPrimary: primary === undefined ? undefined : normalizePath(primary),
      extras: {
        root: without(root, ['manifest_version', 'metadata', 'chunks']),
        chunks: without(chunks, [
          'array_shape',
          'chunk_shape',
          'sharding_config',
          'shard_cids',
          'primary_array_path',
        ]),
        shardingConfig: without(chunks.sharding_config as Fields, ['chunks_per_shard']),
      },
    }
  },

  toFields(state: RootState): Fields {
    const index = state.arrays.get('') as ArrayIndex
    const chunks: Fields = {
      ...state.extras.chunks,
      ...encodeArrayIndex(index, {
        ...state.extras.shardingConfig,
        chunks_per_shard: index.grid.chunksPerShard,
      }),
    }
    if (state.recordedPrimary !== undefined) chunks.primary_array_path = state.recordedPrimary
    const metadata = Object.fromEntries(state.metadata)
    return { ...state.extras.root, manifest_version: SHARDED_V1, metadata, chunks }
  },

  initialPrimary: (state) => ({ path: state.recordedPrimary ?? '', inferred: false }),
  primaryUnsettled: (state, primary) => state.recordedPrimary === undefined && !primary.inferred,

  route(state, primary, key) {
    if (isShardedMetadataKey(key)) return null
    const split = splitChunkKey(key)
    // Bare `c/…` keys stay metadata unless the root records the root array as primary.
    if (split === undefined || (split.bare && state.recordedPrimary !== '')) return null
    const { arrayPath, coordText } = split
    if (COORDINATE_NAMES.has(arrayPath.split('/').at(-1) as string)) return null
    const exclusive = state.recordedPrimary !== undefined || primary.inferred || Boolean(primary.path)
    const effectivePrimary = state.recordedPrimary ?? primary.path ?? ''
    if (exclusive && arrayPath !== effectivePrimary) return null
    const coords = parseCoords(key, coordText)
    const { grid } = state.arrays.get('') as ArrayIndex
    const ownMetadata =
      state.metadata.has(`${arrayPath}/zarr.json`) || state.metadata.has(`${arrayPath}/.zarray`)
    // A named array of another rank with its own metadata cannot be the primary: keep its chunks as metadata.
    if (arrayPath !== '' && !exclusive && coords.length !== grid.chunksPerDim.length && ownMetadata)
      return null
    grid.assertContains(coords, key)
    return { arrayPath, coords }
  },

  readKey: (_state, key) => key,
  indexKey: () => '',
  publicPath: (_index, primary) => primary.path ?? '',
}

/** A new, empty v1 root over one array (py-hamt 3.6.0's shape-based `open`). */
function newV1Root(grid: ChunkGrid): RootState {
  return {
    version: SHARDED_V1,
    metadata: new Map(),
    arrays: new Map([['', { path: '', grid, shardCids: new Array(grid.shardCount).fill(null) }]]),
    recordedPrimary: undefined,
    extras: { root: {}, chunks: {}, shardingConfig: {} },
  }
}
