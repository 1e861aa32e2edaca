// A Zarr group as a labelled dataset (xarray's model): variables with named dimensions, 1-D
// coordinates named like their dimension, attributes. Opening reads the metadata and the
// coordinate arrays; values wait until a variable's selection is read.
import * as zarr from 'zarrita'
import { formatId } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { resolveRoot } from '../cas/ipns.js'
import { InvalidArgumentError, InvalidValueError, isHamtError } from '../errors.js'
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
import { arraysOf, chooseGroup, isRecord, nodeMeta, storedArray } from './metadata.js'
import { openZarrRoot, type ZarrLayout } from './open.js'
import type { StoredArray } from './read.js'
import { compose, type DimSelection, fullRange, resolvePositions, sizeOf } from './selection.js'
import { storeOf } from './source.js'
import { coordinateSlice, Variable } from './variable.js'

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

/** Coordinates are read whole at open: one longer than this is refused rather than allocated. */
const MAX_COORDINATE_VALUES = 1 << 24

async function loadCoordinate(array: StoredArray, signal?: AbortSignal): Promise<CoordinateInfo> {
  if ((array.shape[0] as number) > MAX_COORDINATE_VALUES) {
    throw new InvalidValueError(
      `coordinate ${JSON.stringify(array.name)} claims ${array.shape[0]} values, more than the ${MAX_COORDINATE_VALUES} read at open`,
    )
  }
  // zarrita cannot index an empty array; a dataset created empty (before its first append) has one.
  let raw: ArrayLike<number | bigint> = []
  if (array.shape[0] !== 0) {
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
