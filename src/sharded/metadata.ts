import { PyInt, type PyJson, pyIntValue } from './pyjson.js'

/** The group documents py-hamt adds for missing parent groups, byte for byte (Python's `json.dumps`). */
export const V3_GROUP_JSON = new TextEncoder().encode(
  '{"zarr_format": 3, "node_type": "group", "attributes": {}}',
)
export const V2_GROUP_JSON = new TextEncoder().encode('{"zarr_format": 2}')

export const isJsonObject = (value: PyJson | undefined): value is Map<string, PyJson> => value instanceof Map

/** The group path whose metadata `key` is (`zarr.json` → ``, `0/zarr.json` → `0`), else undefined. */
export function groupPathOfMetadataKey(key: string): string | undefined {
  if (key === 'zarr.json' || key === '.zgroup') return ''
  if (key.endsWith('/zarr.json')) return key.slice(0, -'/zarr.json'.length)
  if (key.endsWith('/.zgroup')) return key.slice(0, -'/.zgroup'.length)
  return undefined
}

function intList(value: PyJson | undefined): number[] | undefined {
  if (!Array.isArray(value)) return undefined
  const ints = value.map(pyIntValue)
  return ints.every((n) => n !== undefined) ? (ints as number[]) : undefined
}

/** The chunk shape a Zarr v3 (`chunk_grid.configuration.chunk_shape`) or v2 (`chunks`) array document declares. */
export function declaredChunkShape(json: Map<string, PyJson>): number[] | undefined {
  const grid = json.get('chunk_grid')
  if (isJsonObject(grid)) {
    const configuration = grid.get('configuration')
    if (isJsonObject(configuration) && configuration.has('chunk_shape')) {
      return intList(configuration.get('chunk_shape'))
    }
  }
  return intList(json.get('chunks'))
}

/** Shape and chunk shape of an array document, or undefined when it is not one (a group). */
export function arrayGeometryOf(
  json: Map<string, PyJson>,
): { shape: number[]; chunkShape: number[] } | undefined {
  if (!json.has('shape') || json.get('shape') === null) return undefined
  const shape = intList(json.get('shape'))
  const chunkShape = declaredChunkShape(json)
  return shape === undefined || chunkShape === undefined ? undefined : { shape, chunkShape }
}

/** The declared `shape` alone (v1 resizes on it even without a chunk shape). */
export function declaredShape(json: Map<string, PyJson>): number[] | undefined {
  return intList(json.get('shape'))
}

/** A copy of an array document with a new `shape`, keeping every other field and its position. */
export function withShape(json: Map<string, PyJson>, shape: readonly number[]): Map<string, PyJson> {
  const copy = new Map(json)
  copy.set(
    'shape',
    shape.map((n) => new PyInt(String(n))),
  )
  return copy
}
