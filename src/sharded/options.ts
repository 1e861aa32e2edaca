import type { ContentAddressedStore } from '../cas/interface.js'
import { integerOption } from '../check.js'
import { describeValue, InvalidArgumentError } from '../errors.js'
import { ChunkGrid, checkGeometry } from './geometry.js'
import type { CreateShardedOptions, ManifestVersion } from './interface.js'
import { SHARDED_V1, SHARDED_V2 } from './interface.js'
import { describeVersions, isManifestVersion } from './layout.js'

const DEFAULT_CACHE_BYTES = 100 * 1024 * 1024

/** The options object and its `store`, checked at the boundary. */
export function checkStore(options: unknown): ContentAddressedStore {
  const store = (options as { store?: unknown } | undefined)?.store as
    | Partial<ContentAddressedStore>
    | undefined
  if (typeof store?.load !== 'function' || typeof store.save !== 'function') {
    throw new InvalidArgumentError(
      `options.store must be a ContentAddressedStore, got ${describeValue(store)}`,
    )
  }
  return store as ContentAddressedStore
}

/** `options.cacheBytes`, checked as the HAMT checks its own (an integer of at least 0). */
export function checkCacheBytes(value: unknown): number {
  return integerOption('options.cacheBytes', value, DEFAULT_CACHE_BYTES, 0)
}

/** The version a new store gets (py-hamt 3.6.0: v1 from a shape, else v2) and the grid of its seeded array. */
export function checkCreateOptions(options: CreateShardedOptions): {
  version: ManifestVersion
  grid: ChunkGrid | undefined
} {
  checkStore(options)
  const { arrayShape, chunkShape, chunksPerShard, manifestVersion } = options
  if (manifestVersion !== undefined && !isManifestVersion(manifestVersion)) {
    throw new InvalidArgumentError(
      `manifestVersion must be ${describeVersions()}, got ${String(manifestVersion)}`,
    )
  }
  if ((arrayShape === undefined) !== (chunkShape === undefined)) {
    throw new InvalidArgumentError('give arrayShape and chunkShape together')
  }
  if (!Number.isSafeInteger(chunksPerShard) || chunksPerShard <= 0) {
    throw new InvalidArgumentError(`chunksPerShard must be a positive integer, got ${String(chunksPerShard)}`)
  }
  const version = manifestVersion ?? (arrayShape === undefined ? SHARDED_V2 : SHARDED_V1)
  if (arrayShape === undefined) return { version, grid: undefined }
  const problem = checkGeometry(arrayShape, chunkShape, chunksPerShard)
  if (problem !== undefined) throw new InvalidArgumentError(problem)
  return { version, grid: new ChunkGrid(arrayShape, chunkShape as number[], chunksPerShard) }
}
