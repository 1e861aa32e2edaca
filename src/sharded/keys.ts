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

/** The array path whose metadata `key` is (`temp/zarr.json` → `temp`, `zarr.json` → ``), else undefined. */
export function arrayPathOfMetadataKey(key: string): string | undefined {
  if (key === 'zarr.json' || key === '.zarray') return ''
  if (key.endsWith('/zarr.json')) return key.slice(0, -'/zarr.json'.length)
  if (key.endsWith('/.zarray')) return key.slice(0, -'/.zarray'.length)
  return undefined
}
