// Zarr's key rules, shared by both stores (ZarrHAMTStore and the sharded store) and the converter:
// what zarrita hands a store, which keys are metadata, and how a chunk key names its coordinates.
import type { ByteRange } from '../cas/interface.js'
import { checkByteRange } from '../cas/range.js'
import { InvalidArgumentError } from '../errors.js'
import type { RangeQuery } from './interface.js'

/** zarrita hands stores absolute paths (`/temp/c/0/0`); the HAMT keys are the Zarr keys verbatim (`temp/c/0/0`). */
export function hamtKey(path: string): string {
  if (typeof path !== 'string') throw new InvalidArgumentError(`key must be a string, got ${typeof path}`)
  return path.startsWith('/') ? path.slice(1) : path
}

/**
 * zarrita's range query as the store layer's byte range, checked: a malformed one is an
 * InvalidArgumentError before anything is read, whichever store it reaches.
 */
export function toByteRange(range: RangeQuery): ByteRange {
  if (typeof range !== 'object' || range === null) {
    throw new InvalidArgumentError('range must be { offset, length } or { suffixLength }')
  }
  // Fields are carried over as given, so a query mixing both shapes is refused, not half-read.
  const { suffixLength, ...rest } = range as { suffixLength?: unknown }
  const byteRange: unknown = 'suffixLength' in range ? { suffix: suffixLength, ...rest } : range
  checkByteRange(byteRange)
  return 'suffix' in byteRange
    ? { suffix: byteRange.suffix }
    : { offset: byteRange.offset, length: byteRange.length }
}

/**
 * Zarr v3's `zarr.json` and Zarr v2's `.zarray`, `.zattrs`, `.zgroup` and consolidated `.zmetadata`:
 * py-hamt 3.6.0's converter list.
 */
const METADATA_SUFFIXES = ['zarr.json', '.zarray', '.zattrs', '.zgroup', '.zmetadata'] as const

/** True for a Zarr metadata key. A plain suffix test, as py-hamt's (`key.endswith(...)`). */
export const isMetadataKey = (key: string): boolean =>
  METADATA_SUFFIXES.some((suffix) => key.endsWith(suffix))

/**
 * The sharded layouts' rule, py-hamt 3.6.0's ShardedZarrStore's: the list without `.zmetadata`, which
 * it routes as any other key. `x/.zmetadata` has no chunk marker and stays metadata; `x/c/0/.zmetadata`
 * is a chunk key with a bad coordinate (an error) wherever `x/c/…` keys are chunks.
 */
export const isShardedMetadataKey = (key: string): boolean =>
  !key.endsWith('.zmetadata') && isMetadataKey(key)

/** The node path of a Zarr v3 metadata key (`temp/zarr.json` → `temp`, `zarr.json` → ``), else undefined. */
export function zarrJsonPath(key: string): string | undefined {
  if (key === 'zarr.json') return ''
  return key.endsWith('/zarr.json') ? key.slice(0, -'/zarr.json'.length) : undefined
}

/** py-hamt's array paths: no leading or trailing slashes. */
export function normalizePath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

/** `temp` + [0, 1] → `temp/c/0/1`. */
export function chunkKey(arrayPath: string, coords: readonly number[]): string {
  return arrayPath === '' ? `c/${coords.join('/')}` : `${arrayPath}/c/${coords.join('/')}`
}

export const isDecimal = (part: string): boolean => /^\d+$/.test(part)

/**
 * The chunk coordinates a key's parts name as Zarr writes them (no leading zeros, below 2^53), else
 * undefined: `01` or a number `Number` would round names no chunk a reader asks for.
 */
export function exactCoords(parts: readonly string[]): number[] | undefined {
  const coords = parts.map(Number)
  return parts.every((part, d) => /^(0|[1-9]\d*)$/.test(part) && Number.isSafeInteger(coords[d]))
    ? coords
    : undefined
}

/** The coordinates `0/1` of chunk key `key`, or an InvalidArgumentError naming the part that is not one. */
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
