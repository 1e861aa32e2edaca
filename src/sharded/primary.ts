import type { AbortOptions } from '../cas/interface.js'
import { normalizePath } from '../zarr/keys.js'
import { arrayPathOfMetadataKey, COORDINATE_NAMES } from './keys.js'
import { arrayGeometryOf, isJsonObject } from './metadata.js'
import { parsePyJson } from './pyjson.js'
import type { ShardTable } from './shard-table.js'

/**
 * For a v1 root that does not record which array it shards (older py-hamt): the one array whose
 * `zarr.json` declares the root's shape and chunk shape, skipping coordinate arrays. Undefined when
 * none or several match, or when a candidate cannot be read (guessing could misroute chunks), as
 * py-hamt 3.6.0 does; an abort is thrown, not taken for an unreadable candidate.
 */
export async function inferV1Primary(table: ShardTable, options?: AbortOptions): Promise<string | undefined> {
  const { grid } = table.state.arrays.get('') ?? {}
  if (grid === undefined) return undefined
  const matches = new Set<string>()
  for (const [key, cid] of table.state.metadata) {
    const path = arrayPathOfMetadataKey(key)
    if (path === undefined) continue
    const arrayPath = normalizePath(path)
    if (COORDINATE_NAMES.has(arrayPath.split('/').at(-1) as string)) continue
    let bytes: Uint8Array
    try {
      bytes = await table.store.load(cid, options)
    } catch {
      // The caller's abort is its answer (py-hamt re-raises cancellation); any other failure keeps the default.
      options?.signal?.throwIfAborted()
      return undefined
    }
    const json = parsePyJson(bytes)
    const geometry = isJsonObject(json) ? arrayGeometryOf(json) : undefined
    if (geometry === undefined) continue
    const same = (a: readonly number[], b: readonly number[]): boolean =>
      a.length === b.length && a.every((n, i) => n === b[i])
    if (same(geometry.shape, grid.arrayShape) && same(geometry.chunkShape, grid.chunkShape))
      matches.add(arrayPath)
    if (matches.size > 1) return undefined
  }
  return matches.size === 1 ? (matches.values().next().value as string) : undefined
}
