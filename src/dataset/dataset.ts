// A Zarr group as a labelled dataset (xarray's model): variables with named dimensions, 1-D
// coordinates named like their dimension, attributes. Opening reads the metadata and the
// coordinate arrays; values wait until a variable's selection is read.
import * as zarr from 'zarrita'
import { formatId } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { resolveRoot } from '../cas/ipns.js'
import { integerOption } from '../check.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { ChunkCache } from './chunk-cache.js'
import { type CoordinateInfo, coordinateSlice, coordinateValue } from './coordinate.js'
import type {
  CoordinateValue,
  CoordinateValues,
  Label,
  LabelIndexer,
  LoadOptions,
  OpenDatasetOptions,
  PositionIndexer,
  SelectOptions,
  TimeRangeOptions,
  VariablesOption,
} from './interface.js'
import { boxSlices, resolveLabels, type SliceReading } from './labels.js'
import { LoadedDataset } from './loaded.js'
import { arraysOf, chooseGroup, isRecord, loadCoordinates, nodeMeta, storedArray } from './metadata.js'
import { openZarrRoot, type ZarrLayout } from './open.js'
import { checkLimit, type StoredArray } from './read.js'
import { type Cell, cellOf, setOwn } from './records.js'
import { compose, type DimSelection, fullRange, positionAt, resolvePositions, sizeOf } from './selection.js'
import { storeOf } from './source.js'
import { type DataArray, DEFAULT_MAX_VALUES, Variable } from './variable.js'

/**
 * A dataset: its variables (`variable(name)`), dimensions, coordinates and attributes. `isel` and
 * `sel` return a selected dataset; nothing is read until a variable's values are.
 *
 * @example
 * ```ts
 * const ds = await openDataset('bafyr4i…', { gateways: 'https://ipfs.io' })
 * const july = ds.sel({ time: { start: '2024-07-01', stop: '2024-07-31' } })
 * const rows = (await july.variable('t2m').point({ latitude: 45.2, longitude: 5.1 }).load()).toRecords()
 * // Several variables at once, joined on their coordinates:
 * const here = await ds.point({ latitude: 45.2, longitude: 5.1 }, { variables: ['t2m', 'tp'] })
 *   .timeRange('2024-01-01', '2024-12-31').load()
 * const csv = here.toCSV() // time,latitude,longitude,t2m,tp
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
  #coords: (readonly [string, CoordinateValues | CoordinateValue])[] | undefined

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
      if (selection.kind !== 'point') setOwn(dims, dim, sizeOf(selection))
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

  /**
   * Coordinate values of the selection: arrays along kept dimensions, one value along dropped ones.
   * Decoded once per dataset (times are the costly part); each call returns fresh arrays.
   */
  get coords(): Record<string, CoordinateValues | CoordinateValue> {
    this.#coords ??= [...this.#coordinates].map(([dim, coord]) => {
      const selection = this.#selection(dim)
      const values =
        selection.kind === 'point'
          ? coordinateValue(coord, selection.index)
          : coordinateSlice(coord, selection)
      return [dim, values] as const
    })
    const coords: Record<string, CoordinateValues | CoordinateValue> = {}
    for (const [dim, values] of this.#coords)
      setOwn(coords, dim, Array.isArray(values) ? values.slice() : values)
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
    return this.#selectLabels(indexers, options, 'sel')
  }

  #selectLabels(
    indexers: Readonly<Record<string, LabelIndexer>>,
    options: SelectOptions | undefined,
    reading: SliceReading,
  ): Dataset {
    // #select has checked the dimension: #requireCoordinate only finds its coordinate.
    return this.#select(indexers, (dim, view, indexer) =>
      resolveLabels(this.#requireCoordinate(dim), view, indexer as LabelIndexer, options, reading),
    )
  }

  /**
   * The values nearest a point (method `nearest` unless given) in every data variable, or in
   * `variables`; a variable without one of the dimensions is kept whole along it, as xarray's `sel`.
   */
  point(labels: Readonly<Record<string, Label>>, options?: SelectOptions & VariablesOption): Dataset {
    const { variables, ...select } = options ?? {}
    return this.#pick(variables).sel(labels, { ...select, method: select.method ?? 'nearest' })
  }

  /** A box by label bounds in either order (see {@link Variable.box}) over every data variable, or `variables`. */
  box(bounds: Readonly<Record<string, readonly [Label, Label]>>, options?: VariablesOption): Dataset {
    const picked = this.#pick(options?.variables)
    const slices = boxSlices(bounds, (dim) => ({
      coord: picked.#requireCoordinate(dim),
      view: picked.#selection(dim),
    }))
    return picked.#selectLabels(slices, undefined, 'box')
  }

  /** A time range, both ends included, along `dim` (default: the one dimension with CF time units). */
  timeRange(start?: Label, end?: Label, options?: TimeRangeOptions): Dataset {
    const picked = this.#pick(options?.variables)
    const dim = options?.dim ?? picked.#timeDim()
    return picked.sel({ [dim]: { start, stop: end } })
  }

  /**
   * Reads every data variable of the selection (refused above `maxValues` values in all); each
   * becomes a DataArray, and the result's `toRecords()`/`toCSV()` join them on their coordinates.
   */
  async load(options: LoadOptions = {}): Promise<LoadedDataset> {
    const maxValues = checkLimit('maxValues', options.maxValues, DEFAULT_MAX_VALUES)
    const views = this.dataVars.map((name) => this.variable(name))
    const total = views.reduce((n, view) => n + view.size, 0)
    if (total > maxValues) {
      throw new InvalidArgumentError(
        `selection holds ${total} values over ${views.length} variables, more than maxValues (${maxValues}): narrow it, or read the variables one by one`,
      )
    }
    const done = views.map(() => 0)
    const onProgress = options.onProgress
    // The first variable that fails aborts the others' reads; the load rejects once they all settled,
    // so none still runs after it (its first failure, in time).
    const failed = new AbortController()
    const signal =
      options.signal === undefined ? failed.signal : AbortSignal.any([options.signal, failed.signal])
    let first: { error: unknown } | undefined
    const settled = await Promise.allSettled(
      views.map((view, v) =>
        view
          .load({
            ...options,
            signal,
            maxValues,
            onProgress:
              onProgress &&
              ((progress) => {
                done[v] = progress.done
                onProgress({ done: done.reduce((a, b) => a + b, 0), total })
              }),
          })
          .catch((error: unknown) => {
            first ??= { error }
            failed.abort(error)
            throw error
          }),
      ),
    )
    if (first !== undefined) throw first.error
    const arrays = settled.map((result) => (result as PromiseFulfilledResult<DataArray>).value)
    return new LoadedDataset({ coords: this.coords, attrs: this.attrs }, arrays, this.#joinLabels(views))
  }

  /** The kept dimensions (those of the variables with most dimensions first) and their labels. */
  #joinLabels(views: readonly Variable[]): {
    dims: string[]
    cells: Cell[][]
    scalars: Record<string, Cell>
  } {
    const dims: string[] = []
    for (const view of [...views].sort((a, b) => b.dims.length - a.dims.length)) {
      for (const dim of view.dims) if (!dims.includes(dim)) dims.push(dim)
    }
    // As xarray's to_dataframe, rows span every kept dimension: one that only a coordinate has
    // repeats the rows along it (and a length 0 there leaves none).
    for (const dim of this.#coordinates.keys()) {
      if (this.#selection(dim).kind !== 'point' && !dims.includes(dim)) dims.push(dim)
    }
    const cells = dims.map((dim) => {
      const selection = this.#selection(dim)
      const coord = this.#coordinates.get(dim)
      return coord === undefined
        ? Array.from({ length: sizeOf(selection) }, (_, i) => positionAt(selection, i))
        : coordinateSlice(coord, selection).map(cellOf)
    })
    const scalars: Record<string, Cell> = {}
    for (const [dim, coord] of this.#coordinates) {
      const selection = this.#selection(dim)
      if (selection.kind === 'point') setOwn(scalars, dim, cellOf(coordinateValue(coord, selection.index)))
    }
    return { dims, cells, scalars }
  }

  /** The dataset with only `variables` (and the coordinates of their dimensions); all when undefined. */
  #pick(variables: readonly string[] | undefined): Dataset {
    if (variables === undefined) return this
    if (!Array.isArray(variables) || variables.length === 0) {
      throw new InvalidArgumentError('variables must be a non-empty array of variable names')
    }
    const arrays = new Map<string, StoredArray>()
    for (const name of variables) {
      const array = typeof name === 'string' ? this.#arrays.get(name) : undefined
      if (array === undefined) {
        throw new InvalidArgumentError(
          `no variable ${typeof name === 'string' ? JSON.stringify(name) : String(name)} in the dataset (it has ${this.variables.join(', ') || 'none'})`,
        )
      }
      arrays.set(name, array)
      for (const dim of array.dims) {
        const coordinate = this.#arrays.get(dim)
        if (this.#coordinates.has(dim) && coordinate !== undefined) arrays.set(dim, coordinate)
      }
    }
    const about = { root: this.root, layout: this.layout, group: this.group, attrs: this.attrs }
    const used = new Set([...arrays.values()].flatMap((array) => array.dims))
    const selections = new Map([...this.#selections].filter(([dim]) => used.has(dim)))
    const coordinates = new Map([...this.#coordinates].filter(([dim]) => arrays.has(dim)))
    return new Dataset(about, arrays, coordinates, selections)
  }

  #requireCoordinate(dim: string): CoordinateInfo {
    if (!this.#sizes.has(dim)) {
      throw new InvalidArgumentError(
        `dimension ${JSON.stringify(dim)} is not in the dataset (it has ${[...this.#sizes.keys()].join(', ')})`,
      )
    }
    const coord = this.#coordinates.get(dim)
    if (coord === undefined) {
      throw new InvalidArgumentError(
        `dimension ${JSON.stringify(dim)} has no coordinate to select by label: use isel`,
      )
    }
    return coord
  }

  #timeDim(): string {
    const times = [...this.#sizes.keys()].filter((dim) => this.#coordinates.get(dim)?.time !== undefined)
    if (times.length !== 1) {
      throw new InvalidArgumentError(
        `the dataset has ${times.length} dimensions with CF time units (${times.join(', ')}): name the one to use with { dim }`,
      )
    }
    return times[0] as string
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
 * Opens the dataset at `root` (a CID or its string, or an IPNS name `/ipns/k51…` with `gateways` or a
 * store that resolves names, resolved once here) from a `store`, trustless `gateways` (every
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
  const rootId = await resolveRoot(root, 'root', store, options.signal)
  const { signal, encryption, shardReadMode, cacheBytes } = options
  const chunkCacheBytes = integerOption(
    'chunkCacheBytes',
    options.chunkCacheBytes,
    DEFAULT_CHUNK_CACHE_BYTES,
    0,
  )
  const opened = await openZarrRoot(rootId, { store, signal, encryption, shardReadMode, cacheBytes })
  const zarrStore = opened.store
  const group = await chooseGroup(zarrStore, options)
  const location = group === '' ? zarr.root(zarrStore) : zarr.root(zarrStore).resolve(group)
  const groupMeta = await nodeMeta(zarrStore, group, signal)
  if (group !== '' && groupMeta?.node_type !== 'group') {
    throw new InvalidArgumentError(`group ${JSON.stringify(group)} is not a Zarr group of this root`)
  }
  const attrs = isRecord(groupMeta?.attributes) ? groupMeta.attributes : {}

  const listed = [...(await arraysOf(zarrStore, group, signal))]
  // With a budget of 0 nothing is kept, but concurrent reads of a chunk still share its load.
  const chunkCache = new ChunkCache(chunkCacheBytes)
  const arrays = new Map(
    await Promise.all(
      listed.map(
        async ([name, meta]) => [name, await storedArray(location, name, meta, chunkCache)] as const,
      ),
    ),
  )
  const coordinates = await loadCoordinates(arrays, chunkCache, signal)
  return new Dataset(
    { root: formatId(rootId), layout: opened.layout, group, attrs },
    arrays,
    coordinates,
    new Map(),
  )
}

/**
 * Decoded chunks kept by default: a viewer's clicks and repeated point reads fetch and decode each
 * chunk once, at the memory of a few typical chunks (1–8 MB each); 0 turns it off.
 */
const DEFAULT_CHUNK_CACHE_BYTES = 32 * 1024 * 1024
