import { ChunkOutOfBoundsError, InvalidArgumentError } from '../errors.js'
import type { ArrayIndex, RootState } from './interface.js'
import { normalizePath } from './manifest.js'

/** A chunk key resolved to its array and chunk coordinates. */
export interface ChunkRef {
  arrayPath: string
  coords: number[]
}

/** Which array a v1 root shards: the recorded path, else an inferred one, else none yet. */
export interface PrimaryArray {
  path: string | undefined
  inferred: boolean
}

const METADATA_SUFFIXES = ['zarr.json', '.zarray', '.zattrs', '.zgroup']

/** v1 keeps these arrays (coordinates) in the metadata map, never in shards, as py-hamt does. */
export const COORDINATE_NAMES: ReadonlySet<string> = new Set([
  'time',
  'lat',
  'lon',
  'latitude',
  'longitude',
  'forecast_reference_time',
  'step',
])

export const isMetadataKey = (key: string): boolean =>
  METADATA_SUFFIXES.some((suffix) => key.endsWith(suffix))

/** The array path whose metadata `key` is (`temp/zarr.json` → `temp`, `zarr.json` → ``), else undefined. */
export function arrayPathOfMetadataKey(key: string): string | undefined {
  if (key === 'zarr.json' || key === '.zarray') return ''
  if (key.endsWith('/zarr.json')) return key.slice(0, -'/zarr.json'.length)
  if (key.endsWith('/.zarray')) return key.slice(0, -'/.zarray'.length)
  return undefined
}

/** `temp` + [0, 1] → `temp/c/0/1`. */
export function chunkKey(arrayPath: string, coords: readonly number[]): string {
  return arrayPath === '' ? `c/${coords.join('/')}` : `${arrayPath}/c/${coords.join('/')}`
}

const isDecimal = (part: string): boolean => /^\d+$/.test(part)

function parseCoords(key: string, text: string): number[] {
  return text.split('/').map((part) => {
    if (!isDecimal(part)) {
      throw new InvalidArgumentError(
        `chunk key ${JSON.stringify(key)}: coordinate ${JSON.stringify(part)} is not an integer`,
      )
    }
    return Number(part)
  })
}

/**
 * Where a key lives: a chunk in a shard (`ChunkRef`) or the root's metadata map (`null`), by the
 * rules of py-hamt 3.6.0. v1 shards only its primary array (not coordinate arrays); v2 shards every
 * registered array. A key inside a sharded array but outside its grid is a {@link ChunkOutOfBoundsError}.
 */
export function routeKey(state: RootState, primary: PrimaryArray, key: string): ChunkRef | null {
  if (isMetadataKey(key)) return null
  const v1 = state.version === 'sharded_zarr_v1'
  let arrayPath: string
  let coordText: string
  const marker = key.lastIndexOf('/c/')
  if (marker !== -1) {
    arrayPath = normalizePath(key.slice(0, marker))
    coordText = key.slice(marker + 3)
  } else if (key.startsWith('c/')) {
    // A v1 root keeps bare `c/…` keys as metadata unless it records the root array as primary.
    if (v1 && state.recordedPrimary !== '') return null
    arrayPath = ''
    coordText = key.slice(2)
  } else {
    return v1 ? null : classicV2Chunk(state, key)
  }
  if (!v1) {
    if (!coordText.split('/').every(isDecimal)) {
      const classic = classicV2Chunk(state, key)
      if (classic !== null) return classic
    }
    const coords = parseCoords(key, coordText)
    state.arrays.get(arrayPath)?.grid.assertContains(coords, key)
    return { arrayPath, coords }
  }
  if (COORDINATE_NAMES.has(arrayPath.split('/').at(-1) as string)) return null
  const exclusive = state.recordedPrimary !== undefined || primary.inferred || Boolean(primary.path)
  const effectivePrimary = state.recordedPrimary ?? primary.path ?? ''
  if (exclusive && arrayPath !== effectivePrimary) return null
  const coords = parseCoords(key, coordText)
  const { grid } = state.arrays.get('') as ArrayIndex
  const ownMetadata =
    state.metadata.has(`${arrayPath}/zarr.json`) || state.metadata.has(`${arrayPath}/.zarray`)
  // A named array of another rank with its own metadata cannot be the primary: keep its chunks as metadata.
  if (arrayPath !== '' && !exclusive && coords.length !== grid.chunksPerDim.length && ownMetadata) return null
  grid.assertContains(coords, key)
  return { arrayPath, coords }
}

/**
 * A Zarr v2 chunk key of a registered v2 array: `path/0.1` (dot separator) or `path/0/1` (slash
 * separator, matched against the longest array path first), as py-hamt 3.6.0 routes them.
 */
function classicV2Chunk(state: RootState, key: string): ChunkRef | null {
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

/** v2 with every array under one top-level group: reads of `temp/…` go to `<group>/temp/…` (py-hamt's default group). */
export function defaultReadGroup(state: RootState): string | undefined {
  if (state.version !== 'sharded_zarr_v2' || state.arrays.size === 0) return undefined
  const groups = new Set<string>()
  for (const path of state.arrays.keys()) {
    if (!path.includes('/')) return undefined
    groups.add(path.split('/', 1)[0] as string)
  }
  return groups.size === 1 ? (groups.values().next().value as string) : undefined
}

/** The key a read of `key` looks up, after the v2 default-group redirection. */
export function effectiveReadKey(state: RootState, key: string): string {
  const group = defaultReadGroup(state)
  if (group === undefined) return key
  if (['zarr.json', '.zgroup', '.zattrs', '.zmetadata', ''].includes(key)) return key
  if (key === group || key.startsWith(`${group}/`)) return key
  return `${group}/${key}`
}
