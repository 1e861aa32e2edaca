import { InvalidArgumentError } from '../errors.js'
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

export const isDecimal = (part: string): boolean => /^\d+$/.test(part)

export function parseCoords(key: string, text: string): number[] {
  return text.split('/').map((part) => {
    if (!isDecimal(part)) {
      throw new InvalidArgumentError(
        `chunk key ${JSON.stringify(key)}: coordinate ${JSON.stringify(part)} is not an integer`,
      )
    }
    return Number(part)
  })
}

/** A key of the form `<array>/c/<coords>` split there (`c/…` alone has array `""`), else undefined. */
export function splitChunkKey(
  key: string,
): { arrayPath: string; coordText: string; bare: boolean } | undefined {
  const marker = key.lastIndexOf('/c/')
  if (marker !== -1)
    return { arrayPath: normalizePath(key.slice(0, marker)), coordText: key.slice(marker + 3), bare: false }
  if (key.startsWith('c/')) return { arrayPath: '', coordText: key.slice(2), bare: true }
  return undefined
}
