// The viewer's one reading module, on ts-hamt's labelled dataset API (`ts-hamt/dataset`): a root CID
// opened through trustless gateways, whichever layout holds it; values CF-decoded (scale/offset
// applied, fill values NaN) and times decoded in their own calendar. The rest of the viewer sees
// `ViewerDataset` only.
import {
  CFDatetime,
  type CoordinateValues,
  type DataArray,
  type Dataset,
  openDataset,
  type PositionIndexer,
  parseTimeUnits,
  type Variable,
  type VariableEncoding,
} from '../../../src/dataset.js'
import { InvalidArgumentError } from '../../../src/index.js'
import { registerZstdCodec } from '../../../src/zstd/index.js'
import { formatValue, timeText } from './format.js'

/** A data variable the viewer can draw: at least two dimensions, the last two being y and x. */
export interface VariableInfo {
  readonly name: string
  readonly shape: readonly number[]
  /** `dimension_names` from zarr.json, or `dim_0`, `dim_1`, … when the writer gave none. */
  readonly dims: readonly string[]
  /** The stored data type (`int16`, `float32`, …); the values shown are decoded doubles. */
  readonly dtype: string
  /** Of the decoded values (after scale_factor/add_offset). */
  readonly units: string
  readonly longName: string
  /** The attributes as xarray shows them once decoded (`_FillValue`, `scale_factor`… are in `encoding`). */
  readonly attributes: Readonly<Record<string, unknown>>
  /** How stored values became the values shown: fill values as numbers, scale and offset. */
  readonly encoding: VariableEncoding
}

/** A 1-D coordinate (time, lat, lon, level…): numbers to place it, labels to show it. */
export interface Coordinate {
  readonly name: string
  /** Its units; for a CF time, the encoding's ('days since 2000-01-01'). */
  readonly units: string
  /**
   * Numbers in `units`, to place it on an axis (a time's stored values, NaN for NaT; computed on
   * first use, since a long time axis costs a date per step).
   */
  readonly values: Float64Array
  /** The value at `index` as the page shows it: a time as its calendar's own date ('2001-02-30'). */
  label(index: number): string
  /** A CF time's calendar ('standard', 'noleap', '360_day', …); undefined for other coordinates. */
  readonly calendar?: string
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * Where a 2-D slice sits along the dimensions before the last two: one index per dimension (missing
 * ones are 0), or a number as the index along the first (time) with the others at 0.
 */
export type Leading = number | readonly number[]

/** A 2-D slice in row-major order (`values[y * width + x]`), NaN where there is no data. */
export interface Grid {
  readonly width: number
  readonly height: number
  readonly values: Float64Array
}

export interface ViewerDataset {
  readonly layout: 'hamt' | 'sharded'
  readonly root: string
  readonly title: string
  /** The group's attributes (title, institution, history, …). */
  readonly attributes: Readonly<Record<string, unknown>>
  readonly variables: readonly VariableInfo[]
  /** The coordinate of `dim`, when the dataset has one. */
  coordinate(dim: string): Coordinate | undefined
  /** The y/x plane of `variable` at `leading` (ignored for 2-D variables), decoded. */
  slice(variable: string, leading: Leading, options?: { signal?: AbortSignal }): Promise<Grid>
  /**
   * Every value of `variable` along its first dimension at one y/x cell (3-D and up), the other
   * leading dimensions at `leading` (its first entry is ignored): a DataArray with its coordinates,
   * so `toCSV()` names the point.
   */
  series(
    variable: string,
    y: number,
    x: number,
    leading?: Leading,
    options?: { signal?: AbortSignal },
  ): Promise<DataArray>
}

/** Bound of each block request; a viewer waits for one block at a time. */
const GATEWAY_TIMEOUT_MS = 30_000

/**
 * Opens the dataset at `root` through `gateways` (one URL, or several separated by spaces or
 * commas, tried in turn), every block checked against its CID. The root may be Zarr on a HAMT or
 * py-hamt's sharded layout (v1, or v2 with its one group).
 *
 * @example
 * ```ts
 * const dataset = await openViewerDataset('bafyr4i…', 'http://127.0.0.1:8080')
 * const grid = await dataset.slice(dataset.variables[0].name, 0)
 * ```
 */
export async function openViewerDataset(
  root: string,
  gateways: string,
  options: { signal?: AbortSignal } = {},
): Promise<ViewerDataset> {
  // The page is the app, so zarrita's registry is ours: zstd chunks decode with zstddec's WebAssembly
  // build, and zarrita's own zstd module (numcodecs' WASM) is fetched only for a frame that needs it.
  registerZstdCodec()
  const dataset = await openDataset(root.trim(), {
    gateways: gateways.split(/[\s,]+/).filter((url) => url !== ''),
    gatewayOptions: { timeoutMs: GATEWAY_TIMEOUT_MS },
    signal: options.signal,
  })
  return viewerDatasetOf(dataset)
}

/** The viewer's view of a dataset opened from any source (`openDataset` with a store, gateways or Helia). */
export function viewerDatasetOf(dataset: Dataset): ViewerDataset {
  const coordinates = new Map<string, Coordinate>()
  // Every array that is not a data variable is a dimension's coordinate.
  const dataVars = new Set(dataset.dataVars)
  for (const name of dataset.variables.filter((name) => !dataVars.has(name))) {
    coordinates.set(name, coordinateOf(dataset.variable(name)))
  }
  const variables = dataset.dataVars
    .map((name) => dataset.variable(name))
    .filter((variable) => variable.dims.length >= 2)
    .map(
      (variable): VariableInfo => ({
        name: variable.name,
        shape: variable.shape,
        dims: variable.dims,
        dtype: variable.dtype,
        units: text(variable.attrs.units),
        longName: text(variable.attrs.long_name),
        attributes: variable.attrs,
        encoding: variable.encoding,
      }),
    )

  const info = (name: string): VariableInfo => {
    const found = variables.find((v) => v.name === name)
    if (found === undefined)
      throw new InvalidArgumentError(`no drawable variable named ${JSON.stringify(name)}`)
    return found
  }
  /** The variable at `positions` (one per dimension; undefined keeps that dimension whole). */
  const at = (variable: VariableInfo, positions: readonly (number | undefined)[]): Variable => {
    const indexers: Record<string, PositionIndexer> = {}
    variable.dims.forEach((dim, d) => {
      const position = positions[d]
      if (position !== undefined) indexers[dim] = position
    })
    return dataset.variable(variable.name).isel(indexers)
  }

  return {
    layout: dataset.layout.kind,
    root: dataset.root,
    title: text(dataset.attrs.title),
    attributes: dataset.attrs,
    variables,
    coordinate: (dim) => coordinates.get(dim),
    async slice(name, leading, options) {
      const variable = info(name)
      const selected = await at(variable, leadingIndices(variable, leading)).load(options)
      const [height, width] = variable.shape.slice(-2) as [number, number]
      return { width, height, values: selected.values }
    },
    async series(name, y, x, leading = 0, options) {
      const variable = info(name)
      const { shape } = variable
      if (shape.length < 3) throw new InvalidArgumentError(`${name} has no time dimension`)
      const [height, width] = shape.slice(-2) as [number, number]
      const middle = leadingIndices(variable, leading).slice(1)
      const positions = [undefined, ...middle, checkIndex(y, height, 'y'), checkIndex(x, width, 'x')]
      return at(variable, positions).load(options)
    },
  }
}

/** A coordinate's numbers and labels; a CF time's are made when asked for. */
function coordinateOf(variable: Variable): Coordinate {
  const { name, attrs: attributes } = variable
  const { units, calendar = 'standard' } = variable.encoding
  const time = units === undefined ? undefined : timeUnitsOf(units, calendar)
  if (units === undefined || time === undefined) {
    const values = Float64Array.from(variable.coords[name] as CoordinateValues, (value) =>
      typeof value === 'number' ? value : Number.NaN,
    )
    const unitsText = units ?? text(attributes.units)
    const label = (index: number): string =>
      index in values ? `${formatValue(values[index] as number)} ${unitsText}`.trim() : `#${index}`
    return { name, units: unitsText, values, label, attributes }
  }
  const size = variable.shape[0] as number
  let values: Float64Array | undefined
  return {
    name,
    units,
    calendar,
    attributes,
    get values() {
      // Decoded times back in their units, as `encodeTime` does with the units parsed once.
      values ??= Float64Array.from(variable.coords[name] as CoordinateValues, (date) =>
        date instanceof CFDatetime
          ? Number(date.microsecondsSince(time.epoch)) / time.microseconds
          : Number.NaN,
      )
      return values
    },
    label(index) {
      if (!(Number.isInteger(index) && index >= 0 && index < size)) return `#${index}`
      const date = variable.isel({ [name]: index }).coords[name]
      return date instanceof CFDatetime ? timeText(date) : 'NaT'
    },
  }
}

/** CF time units, or undefined where the library leaves the values numbers (units it cannot decode). */
function timeUnitsOf(units: string, calendar: string): ReturnType<typeof parseTimeUnits> {
  try {
    return parseTimeUnits(units, calendar)
  } catch {
    return undefined
  }
}

/** One checked index per dimension before the last two; the first is called the time step. */
function leadingIndices(variable: VariableInfo, leading: Leading): number[] {
  const given = typeof leading === 'number' ? [leading] : leading
  return variable.shape
    .slice(0, -2)
    .map((size, i) => checkIndex(given[i] ?? 0, size, i === 0 ? 'time step' : `${variable.dims[i]} index`))
}

function checkIndex(index: number, size: number, what: string): number {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new InvalidArgumentError(`${what} must be an integer in 0..${size - 1}, got ${index}`)
  }
  return index
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '')
