// A lazy labelled variable: a stored array and which positions of each dimension it keeps. `isel`
// and `sel` make new views at no cost; values are read only by `blocks`, `load` and `toCSV`.
import { describeValue, InvalidArgumentError } from '../errors.js'
import { type CoordinateInfo, coordinateSlice, coordinateValue } from './coordinate.js'
import type {
  CoordinateValue,
  CoordinateValues,
  DataBlock,
  DataRecord,
  Label,
  LabelIndexer,
  LoadOptions,
  PositionIndexer,
  ReadOptions,
  SelectOptions,
  TimeRangeOptions,
  VariableEncoding,
} from './interface.js'
import { boxSlices, resolveLabels, type SliceReading } from './labels.js'
import { checkLimit, planBlocks, readBlock, type StoredArray } from './read.js'
import {
  type BlockLabels,
  type Cell,
  cellOf,
  columnOf,
  csvHeader,
  csvRows,
  rowsOf,
  setOwn,
} from './records.js'
import { compose, type DimSelection, positionAt, resolvePositions, sizeOf } from './selection.js'

/** What a view needs from its dataset: the coordinate of a dimension, if it has one. */
export interface CoordinateSource {
  coordinate(dim: string): CoordinateInfo | undefined
}

const DEFAULT_BLOCK = 1 << 20
/** The largest default block made to hold one run of chunks along the first dimension (128 MB of doubles). */
const MAX_CHUNK_RUN_BLOCK = 1 << 24
export const DEFAULT_MAX_VALUES = 1 << 27

/**
 * One variable of a dataset, or a selection of it. Its `dims`, `shape` and `coords` describe the
 * selection; nothing but coordinates has been read.
 *
 * @example
 * ```ts
 * const ds = await openDataset(root, { store })
 * const t2m = ds.variable('t2m').sel({ time: '2024-07-01', latitude: 45.2, longitude: 5.1 }, { method: 'nearest' })
 * const { values } = await t2m.load({ signal: AbortSignal.timeout(30_000) })
 * ```
 */
export class Variable {
  readonly name: string
  /** The dimensions the selection keeps (a dimension selected by one label or position is dropped). */
  readonly dims: readonly string[]
  readonly shape: readonly number[]
  /**
   * The attributes as xarray shows them after decode_cf (`units`, `long_name`, …): the CF encoding
   * (`_FillValue`, `scale_factor`, a time's `units` and `calendar`…) is in {@link Variable.encoding}.
   */
  readonly attrs: Readonly<Record<string, unknown>>
  /**
   * The stored data type (`float32`, `int64`, …); `float16` also where the runtime has no Float16Array
   * (Node 20, 22), which reads it through its bits into float32s: every half is exact there.
   */
  readonly dtype: string
  readonly #source: StoredArray
  readonly #selections: readonly DimSelection[]
  readonly #coordinates: CoordinateSource

  /** @internal Views are made by a Dataset. */
  constructor(source: StoredArray, selections: readonly DimSelection[], coordinates: CoordinateSource) {
    this.#source = source
    this.#selections = selections
    this.#coordinates = coordinates
    this.name = source.name
    this.attrs = source.attrs
    this.dtype = source.dtype
    const kept = source.dims.flatMap((_dim, d) => (selections[d]?.kind === 'point' ? [] : [d]))
    this.dims = kept.map((d) => source.dims[d] as string)
    this.shape = kept.map((d) => sizeOf(selections[d] as DimSelection))
  }

  /**
   * How stored values become values, from the attributes as xarray's decode_cf reads them: fill
   * values as numbers (not xarray's base64), scale and offset, the decoded dtype.
   */
  get encoding(): VariableEncoding {
    const cf = this.#source.cf()
    return {
      dtype: cf.dtype,
      fillValue: cf.fillValue,
      missingValues: cf.missingValues,
      scaleFactor: cf.scaleFactor,
      addOffset: cf.addOffset,
      ...(cf.timeLike
        ? {
            units: this.#source.rawAttrs.units as string,
            calendar: (this.#source.rawAttrs.calendar as string | undefined) ?? 'standard',
          }
        : {}),
    }
  }

  /** How many values the selection holds. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1)
  }

  /**
   * The coordinates of the selection: along each kept dimension that has one, its values (numbers,
   * strings, or CFDatetime for CF times); for each dimension selected to one position, that one value.
   */
  get coords(): Record<string, CoordinateValues | CoordinateValue> {
    const coords: Record<string, CoordinateValues | CoordinateValue> = {}
    this.#source.dims.forEach((dim, d) => {
      const coord = this.#coordinates.coordinate(dim)
      const selection = this.#selections[d] as DimSelection
      if (coord === undefined) return
      setOwn(
        coords,
        dim,
        selection.kind === 'point'
          ? coordinateValue(coord, selection.index)
          : coordinateSlice(coord, selection),
      )
    })
    return coords
  }

  /**
   * Selects by position (Python style: negative positions count from the end, slices exclude `stop`,
   * a negative `step` runs backwards as NumPy's).
   */
  isel(indexers: Readonly<Record<string, PositionIndexer>>): Variable {
    return this.#select(indexers, (_dim, view, indexer) => resolvePositions(indexer, sizeOf(view), _dim))
  }

  /**
   * Selects by label as xarray's `sel`: a label drops the dimension, a list keeps it, a slice
   * `{ start, stop }` keeps both ends. `method` (`nearest`, `pad`/`ffill`, `backfill`/`bfill`) and
   * `tolerance` apply to single labels and lists. Times may be ISO strings, Dates or CFDatetimes.
   * A string coordinate (station ids) takes strings, compared in code point order as Python does;
   * `nearest` and `tolerance` need numbers or times there.
   */
  sel(indexers: Readonly<Record<string, LabelIndexer>>, options?: SelectOptions): Variable {
    return this.#selectLabels(indexers, options, 'sel')
  }

  #selectLabels(
    indexers: Readonly<Record<string, LabelIndexer>>,
    options: SelectOptions | undefined,
    reading: SliceReading,
  ): Variable {
    return this.#select(indexers, (dim, view, indexer) =>
      resolveLabels(this.#requireCoordinate(dim), view, indexer, options, reading),
    )
  }

  /** The values nearest a point (method `nearest` unless given), e.g. `{ lat: 45.2, lon: 5.1 }`. */
  point(labels: Readonly<Record<string, Label>>, options?: SelectOptions): Variable {
    return this.sel(labels, { ...options, method: options?.method ?? 'nearest' })
  }

  /**
   * A box by label bounds, in either order: `{ lat: [40, 50], lon: [0, 10] }` keeps every position
   * between them, both ends included, whichever way the coordinate runs.
   */
  box(bounds: Readonly<Record<string, readonly [Label, Label]>>): Variable {
    const slices = boxSlices(bounds, (dim) => ({
      coord: this.#requireCoordinate(dim),
      view: this.#selections[this.#source.dims.indexOf(dim)] as DimSelection,
    }))
    return this.#selectLabels(slices, undefined, 'box')
  }

  /**
   * A time range, both ends included, along `options.dim` (default: the one dimension with CF time
   * units), given as options like the dataset's timeRange.
   */
  timeRange(start?: Label, end?: Label, options?: Pick<TimeRangeOptions, 'dim'>): Variable {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new InvalidArgumentError(
        `timeRange options must be an object such as { dim: 'time' }, got ${describeValue(options)}`,
      )
    }
    const timeDim = options?.dim ?? this.#timeDim()
    return this.sel({ [timeDim]: { start, stop: end } })
  }

  /**
   * Reads the selection block by block, each a C-order run of the result cut at chunk edges, so the
   * whole never has to fit in memory; `onProgress` follows, `signal` stops it.
   */
  blocks(options: ReadOptions = {}): AsyncGenerator<DataBlock> {
    return this.#blocks(options)
  }

  /** {@link Variable.blocks}, decoding each block into its place in `into` when given (`load`). */
  async *#blocks(options: ReadOptions, into?: Float64Array): AsyncGenerator<DataBlock> {
    const maxBlock = checkLimit('maxBlockValues', options.maxBlockValues, this.#defaultBlock())
    const total = this.size
    let done = 0
    const plans = planBlocks(this.#selections, this.#source.chunks, maxBlock)
    // The reads carry a signal of their own, aborted when the caller stops (a break, a throw): the
    // block read ahead must not go on fetching from a gateway for nobody.
    const stopped = new AbortController()
    const signal =
      options.signal === undefined ? stopped.signal : AbortSignal.any([options.signal, stopped.signal])
    const readOptions = { ...options, signal }
    // One block is read ahead while the caller handles the last: at most two in memory.
    const start = (): Promise<DataBlock> | undefined => {
      const next = plans.next()
      if (next.done === true) return undefined
      options.signal?.throwIfAborted()
      const reading = readBlock(this.#source, this.#selections, next.value, readOptions, into)
      reading.catch(() => undefined) // seen when awaited; not unhandled if the caller stops first
      return reading
    }
    try {
      for (let reading = start(); reading !== undefined; ) {
        const block = await reading
        reading = start()
        done += block.values.length
        options.onProgress?.({ done, total })
        yield block
      }
    } finally {
      stopped.abort(new DOMException('the caller stopped reading blocks', 'AbortError'))
    }
  }

  /** Reads the whole selection into memory (refused above `maxValues`); see {@link Variable.blocks} to stream. */
  async load(options: LoadOptions = {}): Promise<DataArray> {
    const maxValues = checkLimit('maxValues', options.maxValues, DEFAULT_MAX_VALUES)
    if (this.size > maxValues) {
      throw new InvalidArgumentError(
        `selection of ${this.name} holds ${this.size} values, more than maxValues (${maxValues}): narrow it, or stream it with blocks()`,
      )
    }
    const values = new Float64Array(this.size)
    for await (const block of this.#blocks(options, values)) {
      if (block.values.buffer !== values.buffer) values.set(block.values, block.offset)
    }
    return new DataArray(
      this,
      values,
      this.#labels(
        this.dims.map(() => 0),
        this.shape,
      ),
    )
  }

  /** The selection as CSV text, streamed: a header line, then a line per value (times ISO, NaN empty). */
  async *toCSV(options: ReadOptions = {}): AsyncGenerator<string> {
    yield csvHeader(this.#labels([], []), [this.name])
    for await (const block of this.blocks(options)) {
      const labels = this.#labels(block.start, block.shape)
      yield csvRows(labels, [columnOf(labels, this.name, block.values)])
    }
  }

  /**
   * 1M values, or more where one chunk's extent along the first kept dimension holds more (up to
   * 16M): a block cut inside a chunk's extent there reads that chunk again for every block (a whole
   * read of 10-step chunks fetched, verified and decoded each chunk 10 times).
   */
  #defaultBlock(): number {
    const kept = this.#selections.flatMap((selection, d) => (selection.kind === 'point' ? [] : [d]))
    const first = kept[0]
    if (first === undefined) return DEFAULT_BLOCK
    let run = Math.min(this.#source.chunks[first] as number, sizeOf(this.#selections[first] as DimSelection))
    for (const d of kept.slice(1)) run *= sizeOf(this.#selections[d] as DimSelection)
    return Math.max(DEFAULT_BLOCK, Math.min(run, MAX_CHUNK_RUN_BLOCK))
  }

  /** The labels of the box of the result at `start` with `shape`. */
  #labels(start: readonly number[], shape: readonly number[]): BlockLabels {
    const cells: Cell[][] = []
    const scalars: Record<string, Cell> = {}
    let k = 0
    this.#source.dims.forEach((dim, d) => {
      const selection = this.#selections[d] as DimSelection
      const coord = this.#coordinates.coordinate(dim)
      if (selection.kind === 'point') {
        if (coord !== undefined) setOwn(scalars, dim, cellOf(coordinateValue(coord, selection.index)))
        return
      }
      const from = start[k] ?? 0
      const to = from + (shape[k] ?? 0)
      k++
      cells.push(
        coord === undefined
          ? Array.from({ length: to - from }, (_, i) => positionAt(selection, from + i))
          : coordinateSlice(coord, selection, from, to).map(cellOf),
      )
    })
    return { dims: this.dims, cells, scalars }
  }

  #select(
    indexers: Readonly<Record<string, unknown>>,
    resolve: (dim: string, view: DimSelection, indexer: never) => DimSelection,
  ): Variable {
    if (typeof indexers !== 'object' || indexers === null) {
      throw new InvalidArgumentError('indexers must be an object of dimension name to indexer')
    }
    const selections = [...this.#selections]
    for (const [dim, indexer] of Object.entries(indexers)) {
      const d = this.#source.dims.indexOf(dim)
      if (d < 0) {
        throw new InvalidArgumentError(
          `dimension ${JSON.stringify(dim)} is not one of ${this.name}'s (${this.#source.dims.join(', ')})`,
        )
      }
      const view = selections[d] as DimSelection
      if (view.kind === 'point') {
        throw new InvalidArgumentError(
          `dimension ${JSON.stringify(dim)} of ${this.name} is already selected to one position`,
        )
      }
      const selected = compose(view, resolve(dim, view, indexer as never))
      // A name given to several axes selects each, as xarray's isel and Dataset's selections do.
      this.#source.dims.forEach((name, axis) => {
        if (name === dim) selections[axis] = selected
      })
    }
    return new Variable(this.#source, selections, this.#coordinates)
  }

  #requireCoordinate(dim: string): CoordinateInfo {
    if (!this.#source.dims.includes(dim)) {
      throw new InvalidArgumentError(
        `dimension ${JSON.stringify(dim)} is not one of ${this.name}'s (${this.#source.dims.join(', ')})`,
      )
    }
    const coord = this.#coordinates.coordinate(dim)
    if (coord === undefined) {
      throw new InvalidArgumentError(
        `dimension ${JSON.stringify(dim)} has no coordinate to select by label: use isel`,
      )
    }
    return coord
  }

  #timeDim(): string {
    const times = this.#source.dims.filter((dim) => this.#coordinates.coordinate(dim)?.time !== undefined)
    if (times.length !== 1) {
      throw new InvalidArgumentError(
        `${this.name} has ${times.length} dimensions with CF time units (${times.join(', ')}): name the one to use`,
      )
    }
    return times[0] as string
  }
}

/** A selection read into memory: its values with the dims, shape, coordinates and attributes. */
export class DataArray {
  readonly name: string
  readonly dims: readonly string[]
  readonly shape: readonly number[]
  readonly attrs: Readonly<Record<string, unknown>>
  readonly coords: Readonly<Record<string, CoordinateValues | CoordinateValue>>
  /** Decoded values in C order: CF scale and offset applied, fill values NaN. */
  readonly values: Float64Array
  readonly #labels: BlockLabels

  /** @internal Made by {@link Variable.load}. */
  constructor(variable: Variable, values: Float64Array, labels: BlockLabels) {
    this.name = variable.name
    this.dims = variable.dims
    this.shape = variable.shape
    this.attrs = variable.attrs
    this.coords = variable.coords
    this.values = values
    this.#labels = labels
  }

  /**
   * One record per value: each dimension's label (times as ISO strings), scalar coordinates, the
   * value (NaN as null). A coordinate's own records hold its label alone (a time as ISO, not its number).
   */
  toRecords(): DataRecord[] {
    return [...rowsOf(this.#labels, this.name, this.values)]
  }

  /** The records as CSV with a header line. */
  toCSV(): string {
    const labels = this.#labels
    return csvHeader(labels, [this.name]) + csvRows(labels, [columnOf(labels, this.name, this.values)])
  }
}
