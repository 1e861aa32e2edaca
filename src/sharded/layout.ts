import * as dagCbor from '@ipld/dag-cbor'
import { describeValue, InvalidManifestError } from '../errors.js'
import type { ChunkGrid } from './geometry.js'
import type { ArrayIndex, ManifestVersion, RootState } from './interface.js'
import type { ChunkRef, PrimaryArray } from './keys.js'
import { V1_LAYOUT } from './layout-v1.js'
import { V2_LAYOUT } from './layout-v2.js'
import { decodeCbor, type Fields, isMap } from './manifest.js'

/**
 * Everything that differs between root versions, decided once per root: how the root is read and
 * written, where a key lives, and under which path an index is known. A new manifest version is a
 * new `layout-vN.ts` listed in {@link LAYOUTS}.
 */
export interface ShardLayout {
  readonly version: ManifestVersion
  /**
   * True: one shard index per array document written (v2), with py-hamt's group rules (parent
   * groups added, no top-level array after a root group, no consolidated metadata at the root).
   * False: one index that follows the shape of its array's document (v1).
   */
  readonly indexPerArray: boolean
  /** A new, empty root; `array` seeds the index of one array (v1 needs it: its one index). */
  newRoot(chunksPerShard: number, array?: { path: string; grid: ChunkGrid }): RootState
  /** Reads a root of this version (a DAG-CBOR map); fields it does not interpret go to `extras`. */
  decode(root: Fields): RootState
  /** The root as py-hamt 3.6.0 writes it (DAG-CBOR is canonical, so field order does not matter). */
  toFields(state: RootState): Fields
  /** The array a freshly read root shards first (v1: the recorded one; v2: its first array). */
  initialPrimary(state: RootState): PrimaryArray
  /** True while the next chunk write decides which array is sharded (v1 that records none yet). */
  primaryUnsettled(state: RootState, primary: PrimaryArray): boolean
  /** Where `key` lives: a chunk in a shard, or the metadata map (`null`). */
  route(state: RootState, primary: PrimaryArray, key: string): ChunkRef | null
  /** The key a read of `key` looks up (v2 reads through a default group). */
  readKey(state: RootState, key: string): string
  /** The key of the index of array `path` in `state.arrays`. */
  indexKey(path: string): string
  /** The array path an index's chunks are listed and reported under. */
  publicPath(index: ArrayIndex, primary: PrimaryArray): string
}

const LAYOUTS: readonly ShardLayout[] = [V1_LAYOUT, V2_LAYOUT]

/** True for the manifest versions this library reads and writes. */
export function isManifestVersion(value: unknown): value is ManifestVersion {
  return LAYOUTS.some((layout) => layout.version === value)
}

/** The versions this library reads and writes, for messages: `"sharded_zarr_v1" or "sharded_zarr_v2"`. */
export function describeVersions(): string {
  return LAYOUTS.map(({ version }) => `"${version}"`).join(' or ')
}

/** The layout of a root version. */
export function layoutOf(version: ManifestVersion): ShardLayout {
  return LAYOUTS.find((layout) => layout.version === version) as ShardLayout
}

/**
 * Decodes and validates a root block of any version (told apart by `manifest_version`).
 * Anything malformed is an {@link InvalidManifestError} naming the field.
 */
export function decodeRoot(bytes: Uint8Array): RootState {
  const root = decodeCbor(bytes, 'the root')
  if (!isMap(root)) throw new InvalidManifestError(`the root must be a map, got ${describeValue(root)}`)
  const layout = LAYOUTS.find(({ version }) => version === root.manifest_version)
  if (layout === undefined) {
    throw new InvalidManifestError(
      `unsupported manifest_version ${JSON.stringify(root.manifest_version)}: expected ${describeVersions()}`,
    )
  }
  return layout.decode(root)
}

/** Encodes a root as py-hamt writes it. */
export function encodeRoot(state: RootState): Uint8Array {
  return dagCbor.encode(layoutOf(state.version).toFields(state))
}
