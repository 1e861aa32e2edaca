// A Zarr group as a labelled dataset (xarray's model): variables with named dimensions, 1-D
// coordinates named like their dimension, attributes. Opening reads the metadata and the
// coordinate arrays; values wait until a variable's selection is read.
import * as zarr from 'zarrita'
import { formatId, toStoreId } from '../cas/id.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { InvalidArgumentError, InvalidValueError, isHamtError } from '../errors.js'
import type { ShardedZarrStore } from '../sharded/store.js'
import type { ZarrHAMTStore } from '../zarr/store.js'
import { parseTimeUnits } from './cf-time.js'
import type {
  CoordinateValue,
  CoordinateValues,
  LabelIndexer,
  OpenDatasetOptions,
  PositionIndexer,
  SelectOptions,
} from './interface.js'
import { type CoordinateInfo, coordinateValue, resolveLabels } from './labels.js'
import { coordinateIndex } from './lookup.js'
import { openZarrRoot, type ZarrLayout } from './open.js'
import type { StoredArray } from './read.js'
import { compose, type DimSelection, fullRange, resolvePositions, sizeOf } from './selection.js'
import { storeOf } from './source.js'
import { decodeToFloat64, lazyDecoder } from './values.js'
import { coordinateSlice, Variable } from './variable.js'

type ZarrStore = ZarrHAMTStore | ShardedZarrStore
type ArrayMeta = {
  node_type?: unknown
  zarr_format?: unknown
  shape?: unknown
  dimension_names?: unknown
  attributes?: unknown
}

/**
 * A dataset: its variables (`variable(name)`), dimensions, coordinates and attributes. `isel` and
 * `sel` return a selected dataset; nothing is read until a variable's values are.
 *
 * @example
 * ```ts
 * const ds = await openDataset('bafyr4i…', { gateways: 'https://ipfs.io' })
 * const july = ds.sel({ time: { start: '2024-07-01', stop: '2024-07-31' } })
 * const rows = (await july.variable('t2m').point({ latitude: 45.2, longitude: 5.1 }).load()).toRecords()
 * ```
 */
export class Dataset {
  /** The root as given (its CID string). */
  readonly root: string
  readonly layout: ZarrLayout
  /** The Zarr group holding the dataset ('' for the root group). */
  readonly group: string
  readonly attrs: Readonly<Record<string, unknown>>
  /** Every array of the group, coordinates included, by name. */
  readonly #arrays: ReadonlyMap<string, StoredArray>
  readonly #coordinates: ReadonlyMap<string, CoordinateInfo>
  readonly #selections: ReadonlyMap<string, DimSelection>
  readonly #sizes: ReadonlyMap<string, number>

  /** @internal Made by {@link openDataset}. */
  constructor(
    about: { root: string; layout: ZarrLayout; group: string; attrs: Readonly<Record<string, unknown>> },
    arrays: ReadonlyMap<string, StoredArray>,
    coordinates: ReadonlyMap<string, CoordinateInfo>,
    selections: ReadonlyMap<string, DimSelection>,
  ) {
    this.root = about.root
    this.layout = about.layout
    this.group = about.group
    this.attrs = about.attrs
    this.#arrays = arrays
    this.#coordinates = coordinates
    this.#selections = selections
    const sizes = new Map<string, number>()
    for (const array of arrays.values()) {
      array.dims.forEach((dim, d) => {
        const size = array.shape[d] as number
        if (sizes.has(dim) && sizes.get(dim) !== size) {
          throw new InvalidValueError(
            `dimension ${JSON.stringify(dim)} has size ${sizes.get(dim)} in one array and ${size} in ${array.name}`,
          )
        }
        sizes.set(dim, size)
      })
    }
    this.#sizes = sizes
  }

  /** Dimension sizes of the selection (a dimension selected to one position is gone). */
  get dims(): Record<string, number> {
    const dims: Record<string, number> = {}
    for (const [dim, size] of this.#sizes) {
      const selection = this.#selections.get(dim) ?? fullRange(size)
      if (selection.kind !== 'point') dims[dim] = sizeOf(selection)
    }
    return dims
  }

  /** Names of the data variables (arrays that are not a dimension's coordinate), sorted. */
  get dataVars(): string[] {
    return [...this.#arrays.keys()].filter((name) => !this.#coordinates.has(name)).sort()
  }

  /** Names of every array, coordinates included, sorted. */
  get variables(): string[] {
    return [...this.#arrays.keys()].sort()
  }

  /** Coordinate values of the selection: arrays along kept dimensions, one value along dropped ones. */
  get coords(): Record<string, CoordinateValues | CoordinateValue> {
    const coords: Record<string, CoordinateValues | CoordinateValue> = {}
    for (const [dim, coord] of this.#coordinates) {
      const selection = this.#selection(dim)
      coords[dim] =
        selection.kind === 'point'
          ? coordinateValue(coord, selection.index)
          : coordinateSlice(coord, selection)
    }
    return coords
  }

  /** A variable (or coordinate) of the dataset, as selected; an InvalidArgumentError names the ones there are. */
  variable(name: string): Variable {
    const source = this.#arrays.get(name)
    if (source === undefined) {
      throw new InvalidArgumentError(
        `no variable ${JSON.stringify(name)} in the dataset (it has ${this.variables.join(', ') || 'none'})`,
      )
    }
    return new Variable(
      source,
      source.dims.map((dim) => this.#selection(dim)),
      { coordinate: (dim) => this.#coordinates.get(dim) },
    )
  }

  /** Selects every variable by position along the named dimensions. */
  isel(indexers: Readonly<Record<string, PositionIndexer>>): Dataset {
    return this.#select(indexers, (dim, view, indexer) =>
      resolvePositions(indexer as PositionIndexer, sizeOf(view), dim),
    )
  }

  /** Selects every variable by label (see {@link Variable.sel}). */
  sel(indexers: Readonly<Record<string, LabelIndexer>>, options?: SelectOptions): Dataset {
    return this.#select(indexers, (dim, view, indexer) => {
      const coord = this.#coordinates.get(dim)
      if (coord === undefined) {
        throw new InvalidArgumentError(
          `dimension ${JSON.stringify(dim)} has no coordinate to select by label: use isel`,
        )
      }
      return resolveLabels(coord, view, indexer as LabelIndexer, options)
    })
  }

  #selection(dim: string): DimSelection {
    return this.#selections.get(dim) ?? fullRange(this.#sizes.get(dim) ?? 0)
  }

  #select(
    indexers: Readonly<Record<string, unknown>>,
    resolve: (dim: string, view: DimSelection, indexer: unknown) => DimSelection,
  ): Dataset {
    if (typeof indexers !== 'object' || indexers === null) {
      throw new InvalidArgumentError('indexers must be an object of dimension name to indexer')
    }
    const selections = new Map(this.#selections)
    for (const [dim, indexer] of Object.entries(indexers)) {
      if (!this.#sizes.has(dim)) {
        throw new InvalidArgumentError(
          `dimension ${JSON.stringify(dim)} is not in the dataset (it has ${[...this.#sizes.keys()].join(', ')})`,
        )
      }
      const view = this.#selection(dim)
      if (view.kind === 'point') {
        throw new InvalidArgumentError(`dimension ${JSON.stringify(dim)} is already selected to one position`)
      }
      selections.set(dim, compose(view, resolve(dim, view, indexer)))
    }
    const about = { root: this.root, layout: this.layout, group: this.group, attrs: this.attrs }
    return new Dataset(about, this.#arrays, this.#coordinates, selections)
  }
}

/**
 * Opens the dataset at `root` (a CID or its string) from a `store`, trustless `gateways` (every
 * block verified) or a `helia` node, whichever layout holds it (HAMT, py-hamt's sharded v1 or v2,
 * encrypted HAMT with `encryption`). Reads the metadata and the coordinate arrays only.
 *
 * @example
 * ```ts
 * const ds = await openDataset('bafyr4i…', { gateways: ['https://ipfs.io'] })
 * const series = await ds.variable('t2m').point({ latitude: 45.2, longitude: 5.1 }).load()
 * ```
 */
export async function openDataset(root: StoreId | string, options: OpenDatasetOptions): Promise<Dataset> {
  const store = await storeOf(options)
  const rootId = toStoreId(root, 'root')
  const { signal, encryption } = options
  const opened = await openZarrRoot(rootId, { store, signal, encryption })
  const zarrStore = opened.store
  const group = await chooseGroup(zarrStore, options)
  const location = group === '' ? zarr.root(zarrStore) : zarr.root(zarrStore).resolve(group)
  const groupMeta = await nodeMeta(zarrStore, group, signal)
  if (group !== '' && groupMeta?.node_type !== 'group') {
    throw new InvalidArgumentError(`group ${JSON.stringify(group)} is not a Zarr group of this root`)
  }
  const attrs = isRecord(groupMeta?.attributes) ? groupMeta.attributes : {}

  const listed = [...(await arraysOf(zarrStore, group, signal))]
  const arrays = new Map(
    await Promise.all(
      listed.map(async ([name, meta]) => [name, await storedArray(location, name, meta)] as const),
    ),
  )
  const coordinates = new Map<string, CoordinateInfo>()
  await Promise.all(
    [...arrays.values()]
      .filter((array) => array.dims.length === 1 && array.dims[0] === array.name)
      .map(async (array) => coordinates.set(array.name, await loadCoordinate(array, signal))),
  )
  return new Dataset(
    { root: formatId(rootId), layout: opened.layout, group, attrs },
    arrays,
    coordinates,
    new Map(),
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function joinKey(group: string, key: string): string {
  return group === '' ? key : `${group}/${key}`
}

async function readJson(store: ZarrStore, key: string, signal?: AbortSignal): Promise<unknown> {
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
async function nodeMeta(
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

async function arraysOf(
  store: ZarrStore,
  group: string,
  signal?: AbortSignal,
): Promise<Map<string, ArrayMeta>> {
  const children = await childrenOf(store, group, signal)
  return new Map([...children].filter(([, meta]) => meta.node_type === 'array'))
}

/** The group named by `options.group`, else the root when it holds arrays, else its one child group. */
async function chooseGroup(store: ZarrStore, options: OpenDatasetOptions): Promise<string> {
  if (typeof options.group === 'string') return options.group.replace(/^\/+|\/+$/g, '')
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

async function storedArray(
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
    decode: (raw) => decodeToFloat64(cf(), raw),
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

/** Coordinates are read whole at open: one longer than this is refused rather than allocated. */
const MAX_COORDINATE_VALUES = 1 << 24

async function loadCoordinate(array: StoredArray, signal?: AbortSignal): Promise<CoordinateInfo> {
  if ((array.shape[0] as number) > MAX_COORDINATE_VALUES) {
    throw new InvalidValueError(
      `coordinate ${JSON.stringify(array.name)} claims ${array.shape[0]} values, more than the ${MAX_COORDINATE_VALUES} read at open`,
    )
  }
  let raw: ArrayLike<number | bigint>
  try {
    const got = await zarr.get(await array.open(), [null], { signal })
    raw = (got as zarr.Chunk<zarr.DataType>).data as ArrayLike<number | bigint>
  } catch (error) {
    if (isHamtError(error) || signal?.aborted) throw error
    throw new InvalidValueError(
      `cannot read coordinate ${JSON.stringify(array.name)}: ${(error as Error)?.message}`,
      {
        cause: error,
      },
    )
  }
  const values = Float64Array.from({ length: raw.length }, (_, i) => Number(raw[i]))
  const index = coordinateIndex(array.name, values, array.dtype === 'float32')
  const units = array.rawAttrs.units
  const calendar = typeof array.rawAttrs.calendar === 'string' ? array.rawAttrs.calendar : 'standard'
  if (typeof units === 'string') {
    try {
      if (parseTimeUnits(units, calendar) !== undefined) return { index, time: { units, calendar } }
    } catch {
      // Units that look like a time but do not parse: the coordinate stays numbers, as xarray leaves it undecoded.
    }
  }
  return { index }
}
