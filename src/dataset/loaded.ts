// A dataset's selection read into memory: a DataArray per variable, and rows joining them on their
// coordinates (one row per coordinate tuple, a column per variable), as xarray's `to_dataframe`.
import type { CoordinateValue, CoordinateValues, DataRecord } from './interface.js'
import { type BlockLabels, type Column, csvHeader, csvRows, joinedRows } from './records.js'
import type { DataArray } from './variable.js'

/**
 * Values of several variables of one selection, e.g. temperature and precipitation at a point over
 * a year. `arrays` holds each variable's {@link DataArray}; `toRecords()` and `toCSV()` join them.
 *
 * @example
 * ```ts
 * const ds = await openDataset('bafyr4i…', { gateways: 'https://ipfs.io' })
 * const here = await ds.point({ latitude: 45.2, longitude: 5.1 }, { variables: ['t2m', 'tp'] })
 *   .timeRange('2024-01-01', '2024-12-31').load()
 * here.arrays.t2m?.values // Float64Array
 * here.toCSV() // 'time,latitude,longitude,t2m,tp\n2024-01-01T00:00:00,45.25,5,271.3,0.0002\n…'
 * ```
 */
export class LoadedDataset {
  /** Sizes of the kept dimensions, in the order the rows run over them. */
  readonly dims: Readonly<Record<string, number>>
  readonly coords: Readonly<Record<string, CoordinateValues | CoordinateValue>>
  readonly attrs: Readonly<Record<string, unknown>>
  /** Each variable's values with its own dims and coords, by name. */
  readonly arrays: Readonly<Record<string, DataArray>>
  readonly #labels: BlockLabels

  /** @internal Made by `Dataset.load`. */
  constructor(
    about: {
      coords: Readonly<Record<string, CoordinateValues | CoordinateValue>>
      attrs: Readonly<Record<string, unknown>>
    },
    arrays: readonly DataArray[],
    labels: BlockLabels,
  ) {
    this.coords = about.coords
    this.attrs = about.attrs
    this.arrays = Object.fromEntries(arrays.map((array) => [array.name, array]))
    this.#labels = labels
    this.dims = Object.fromEntries(labels.dims.map((dim, d) => [dim, (labels.cells[d] as unknown[]).length]))
  }

  /**
   * One record per tuple of the kept dimensions' labels (times as ISO strings), with the scalar
   * coordinates and a field per variable (NaN as null); a variable without one of the dimensions
   * repeats along it.
   */
  toRecords(): DataRecord[] {
    return [...joinedRows(this.#labels, this.#columns())]
  }

  /** The records as CSV with a header line: dimensions, scalar coordinates, then the variables. */
  toCSV(): string {
    const columns = this.#columns()
    return (
      csvHeader(
        this.#labels,
        columns.map((c) => c.name),
      ) + csvRows(this.#labels, columns)
    )
  }

  #columns(): Column[] {
    return Object.values(this.arrays).map((array) => {
      // C-order strides of the array's own dimensions, placed at the joined dimensions they match.
      const own = new Map<string, number>()
      let stride = 1
      for (let d = array.dims.length - 1; d >= 0; d--) {
        own.set(array.dims[d] as string, stride)
        stride *= array.shape[d] as number
      }
      return {
        name: array.name,
        values: array.values,
        strides: this.#labels.dims.map((dim) => own.get(dim) ?? 0),
      }
    })
  }
}
