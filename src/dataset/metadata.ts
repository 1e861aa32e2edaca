// A Zarr group's metadata as the dataset reads it: children listed from consolidated metadata or the
// store (Zarr v3 zarr.json, or v2 .zarray/.zgroup/.zattrs), the group to open, each array's
// description with its attributes as xarray shows them once decoded.
import * as zarr from 'zarrita'
import type { AbortOptions } from '../cas/interface.js'
import { describeValue, InvalidArgumentError, InvalidValueError, isHamtError } from '../errors.js'
import type { ShardedZarrStore } from '../sharded/store.js'
import type { ZarrHAMTStore } from '../zarr/store.js'
import { parseTimeUnits } from './cf-time.js'
import type { OpenDatasetOptions } from './interface.js'
import type { StoredArray } from './read.js'
import { decodeToFloat64, lazyDecoder } from './values.js'

export type ZarrStore = ZarrHAMTStore | ShardedZarrStore
export type ArrayMeta = {
  node_type?: unknown
  zarr_format?: unknown
  shape?: unknown
  dimension_names?: unknown
  attributes?: unknown
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function joinKey(group: string, key: string): string {
  return group === '' ? key : `${group}/${key}`
}

export async function readJson(store: ZarrStore, key: string, signal?: AbortSignal): Promise<unknown> {
  const bytes = await store.get(`/${key}`, { signal })
  if (bytes === undefined) return undefined
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch (error) {
    throw new InvalidValueError(`${key} is not JSON`, { cause: error })
  }
}

/** The children of a group that are arrays or groups, with their metadata. */
async function childrenOf(
  store: ZarrStore,
  group: string,
  signal?: AbortSignal,
): Promise<Map<string, ArrayMeta>> {
  const meta = (await readJson(store, joinKey(group, 'zarr.json'), signal)) as
    | { consolidated_metadata?: { metadata?: unknown } }
    | undefined
  const consolidated = meta?.consolidated_metadata?.metadata
  const children = new Map<string, ArrayMeta>()
  if (isRecord(consolidated)) {
    for (const [name, child] of Object.entries(consolidated)) {
      if (!name.includes('/') && isRecord(child)) children.set(name, child)
    }
    return children
  }
  for await (const name of store.listDir(group, { signal })) {
    if (name === 'zarr.json' || name === 'c' || name.startsWith('.')) continue
    const child = await nodeMeta(store, joinKey(group, name), signal)
    if (child !== undefined) children.set(name, child)
  }
  return children
}

/**
 * The metadata of the node at `path` in Zarr v3's shape: its zarr.json, or for Zarr v2 its
 * `.zarray`/`.zgroup` with `.zattrs` (dimension names from xarray's `_ARRAY_DIMENSIONS`).
 */
export async function nodeMeta(
  store: ZarrStore,
  path: string,
  signal?: AbortSignal,
): Promise<ArrayMeta | undefined> {
  const v3 = await readJson(store, joinKey(path, 'zarr.json'), signal)
  if (isRecord(v3)) return v3
  const array = await readJson(store, joinKey(path, '.zarray'), signal)
  const group = isRecord(array) ? undefined : await readJson(store, joinKey(path, '.zgroup'), signal)
  if (!isRecord(array) && !isRecord(group)) return undefined
  const zattrs = await readJson(store, joinKey(path, '.zattrs'), signal)
  const { _ARRAY_DIMENSIONS: dims, ...attributes } = isRecord(zattrs) ? zattrs : {}
  if (!isRecord(array)) return { node_type: 'group', zarr_format: 2, attributes }
  return { node_type: 'array', zarr_format: 2, shape: array.shape, dimension_names: dims, attributes }
}

export async function arraysOf(
  store: ZarrStore,
  group: string,
  signal?: AbortSignal,
): Promise<Map<string, ArrayMeta>> {
  const children = await childrenOf(store, group, signal)
  return new Map([...children].filter(([, meta]) => meta.node_type === 'array'))
}

/** The group named by `options.group`, else the root when it holds arrays, else its one child group. */
export async function chooseGroup(store: ZarrStore, options: OpenDatasetOptions): Promise<string> {
  if (typeof options.group === 'string') return options.group.replace(/^\/+|\/+$/g, '')
  if (options.group !== undefined && typeof options.group !== 'function') {
    throw new InvalidArgumentError(
      `group must be a group name or a chooser function, got ${describeValue(options.group)}`,
    )
  }
  const children = await childrenOf(store, '', options.signal)
  const groups = [...children]
    .filter(([, meta]) => meta.node_type === 'group')
    .map(([name]) => name)
    .sort()
  const hasArrays = [...children.values()].some((meta) => meta.node_type === 'array')
  if (typeof options.group === 'function') {
    const chosen = options.group(hasArrays ? ['', ...groups] : groups)
    if (typeof chosen !== 'string')
      throw new InvalidArgumentError('the group chooser must return a group name')
    return chosen.replace(/^\/+|\/+$/g, '')
  }
  if (hasArrays || groups.length === 0) return ''
  if (groups.length === 1) return groups[0] as string
  throw new InvalidArgumentError(
    `the root holds ${groups.length} groups (${groups.join(', ')}): choose one with the group option`,
  )
}

export async function storedArray(
  location: zarr.Location<ZarrStore>,
  name: string,
  meta: ArrayMeta,
): Promise<StoredArray> {
  let array: Promise<zarr.Array<zarr.DataType, ZarrStore>> | undefined
  const open = (): Promise<zarr.Array<zarr.DataType, ZarrStore>> => {
    array ??= zarr.open(location.resolve(name), { kind: 'array' }).catch((error: unknown) => {
      if (isHamtError(error)) throw error
      throw new InvalidValueError(
        `array ${JSON.stringify(name)}: ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
        },
      )
    })
    return array
  }
  const opened = await open()
  const shape = opened.shape
  const chunks = opened.chunks
  if (
    !shape.every((n) => Number.isSafeInteger(n) && n >= 0) ||
    !chunks.every((n) => Number.isSafeInteger(n) && n > 0)
  ) {
    throw new InvalidValueError(
      `array ${JSON.stringify(name)} has shape [${shape}] and chunks [${chunks}]: not a chunk grid`,
    )
  }
  const names = Array.isArray(meta.dimension_names) ? meta.dimension_names : []
  const dims = shape.map((_, d) => (typeof names[d] === 'string' ? (names[d] as string) : `dim_${d}`))
  const rawAttrs = isRecord(meta.attributes) ? meta.attributes : {}
  const attrs = decodedAttrs(rawAttrs)
  // Zarr v2: xarray masks with the array's fill_value (v3 keeps it apart from _FillValue).
  const cf = lazyDecoder(rawAttrs, String(opened.dtype), opened.fillValue, meta.zarr_format === 2)
  return {
    name,
    dims,
    shape,
    chunks,
    dtype: String(opened.dtype),
    attrs,
    rawAttrs,
    open: (_options?: AbortOptions) => open() as Promise<zarr.Array<zarr.DataType, zarr.Readable>>,
    cf,
    decode: (raw, into) => decodeToFloat64(cf(), raw, into),
  }
}

/** What xarray's decode_cf moves from a variable's attributes to its encoding. */
const ENCODING_ATTRS = [
  '_FillValue',
  'missing_value',
  'scale_factor',
  'add_offset',
  '_Unsigned',
  'coordinates',
]

/** The attributes as xarray shows them once decoded: no CF encoding keys, and no units/calendar of a time. */
function decodedAttrs(raw: Record<string, unknown>): Record<string, unknown> {
  const attrs = Object.fromEntries(Object.entries(raw).filter(([key]) => !ENCODING_ATTRS.includes(key)))
  if (typeof raw.units === 'string') {
    const calendar = typeof raw.calendar === 'string' ? raw.calendar : 'standard'
    try {
      if (parseTimeUnits(raw.units, calendar) !== undefined) {
        delete attrs.units
        delete attrs.calendar
      }
    } catch {
      // Not decodable as a time: xarray leaves such units where they are.
    }
  }
  return attrs
}
