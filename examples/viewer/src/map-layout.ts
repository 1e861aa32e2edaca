// Where each grid cell goes on screen: north up, and longitudes stored 0–360 shown −180–180 (the
// western hemisphere on the left). The map, the click, the marker, the ticks and the coastlines all
// go through one `MapLayout`, so they cannot disagree.
import type { Coordinate } from './dataset.js'

/** A coordinate as shown along one side of the map, in screen order (left to right, top to bottom). */
export interface ScreenAxis {
  readonly name: string
  /** The coordinate value at the centre of each screen column (or row); indices when there is none. */
  readonly values: Float64Array
  /** Longitude or latitude (then ticks are in degrees E/W, N/S and coastlines can be drawn). */
  readonly kind: 'longitude' | 'latitude' | 'other'
}

export interface MapLayout {
  readonly width: number
  readonly height: number
  /** The data column shown in each screen column. */
  readonly columns: Int32Array
  /** The data row shown in each screen row (top first). */
  readonly rows: Int32Array
  readonly x: ScreenAxis
  readonly y: ScreenAxis
  /** Longitudes were moved from 0–360 to −180–180. */
  readonly recentred: boolean
}

const LONGITUDE = { names: /^(lon|long|longitude|x_lon|nav_lon)$/i, units: /^degrees?_?e(ast)?$/i }
const LATITUDE = { names: /^(lat|latitude|y_lat|nav_lat)$/i, units: /^degrees?_?n(orth)?$/i }

function kindOf(dim: string, coordinate: Coordinate | undefined): ScreenAxis['kind'] {
  const units = coordinate?.units ?? ''
  const standard = coordinate?.attributes.standard_name
  if (LONGITUDE.names.test(dim) || LONGITUDE.units.test(units) || standard === 'longitude') return 'longitude'
  if (LATITUDE.names.test(dim) || LATITUDE.units.test(units) || standard === 'latitude') return 'latitude'
  return 'other'
}

/**
 * The layout of a `width` x `height` grid whose x and y dimensions have these coordinates. With
 * `recentre`, a longitude axis reaching past 180° is shown from −180° when the result stays evenly
 * spaced (a regional grid that would get a gap keeps its own order).
 */
export function mapLayout(
  grid: { width: number; height: number },
  x: { dim: string; coordinate: Coordinate | undefined },
  y: { dim: string; coordinate: Coordinate | undefined },
  recentre: boolean,
): MapLayout {
  const xValues = valuesOf(x.coordinate, grid.width)
  const yValues = valuesOf(y.coordinate, grid.height)
  const xKind = kindOf(x.dim, x.coordinate)
  let columns: Int32Array = Int32Array.from(xValues, (_, i) => i)
  let shownX: Float64Array = xValues
  const moved = recentre && xKind === 'longitude' ? recentred(xValues) : undefined
  if (moved !== undefined) [columns, shownX] = [moved.columns, moved.values]

  // North up: rows whose coordinate grows with the index (south to north) are drawn bottom first.
  const northward = yValues.length > 1 && (yValues.at(-1) as number) > (yValues[0] as number)
  const rows = Int32Array.from(yValues, (_, i) => (northward ? grid.height - 1 - i : i))
  return {
    width: grid.width,
    height: grid.height,
    columns,
    rows,
    x: { name: x.dim, values: shownX, kind: xKind },
    y: {
      name: y.dim,
      values: Float64Array.from(rows, (row) => yValues[row] as number),
      kind: kindOf(y.dim, y.coordinate),
    },
    recentred: moved !== undefined,
  }
}

function valuesOf(coordinate: Coordinate | undefined, size: number): Float64Array {
  const values = coordinate?.values
  return values?.length === size ? values : Float64Array.from({ length: size }, (_, i) => i)
}

/**
 * Longitudes in [−180, 180) (180° itself drawn at the left edge, as `(lon + 180) % 360 − 180` puts
 * it), sorted; undefined when none is past 180° or a gap would open.
 */
function recentred(lons: Float64Array): { columns: Int32Array; values: Float64Array } | undefined {
  if (!lons.some((lon) => lon > 180)) return undefined
  const wrapped = Float64Array.from(lons, (lon) => (lon >= 180 ? lon - 360 : lon))
  const columns = Int32Array.from(wrapped, (_, i) => i).sort(
    (a, b) => (wrapped[a] as number) - (wrapped[b] as number),
  )
  const values = Float64Array.from(columns, (column) => wrapped[column] as number)
  return evenlySpaced(values) ? { columns, values } : undefined
}

function evenlySpaced(values: Float64Array): boolean {
  if (values.length < 3) return true
  const step = ((values.at(-1) as number) - (values[0] as number)) / (values.length - 1)
  return values.every((v, i) => Math.abs(v - ((values[0] as number) + i * step)) <= Math.abs(step) * 1e-3)
}

/** The screen cell of a data cell. */
export function screenCell(
  layout: MapLayout,
  cell: { x: number; y: number },
): { column: number; row: number } {
  return { column: layout.columns.indexOf(cell.x), row: layout.rows.indexOf(cell.y) }
}

/** The data cell under screen cell (`column`, `row`). */
export function dataCell(layout: MapLayout, column: number, row: number): { x: number; y: number } {
  return { x: layout.columns[column] as number, y: layout.rows[row] as number }
}

/**
 * Where `value` falls along `axis` in cells from its leading edge (0.5 = the first cell's centre):
 * linear between cell centres, extended past the ends with the end steps. The axis must be monotonic.
 */
export function axisPosition(axis: Pick<ScreenAxis, 'values'>, value: number): number {
  const values = axis.values
  const n = values.length
  if (n === 1) return 0.5
  const rising = (values[n - 1] as number) > (values[0] as number)
  // The first centre at or past `value` in the axis's own direction (binary search).
  let [low, high] = [0, n - 1]
  while (low < high) {
    const middle = (low + high) >> 1
    if (rising ? (values[middle] as number) < value : (values[middle] as number) > value) low = middle + 1
    else high = middle
  }
  const right = Math.max(1, low)
  const [a, b] = [values[right - 1] as number, values[right] as number]
  return right - 1 + 0.5 + (value - a) / (b - a)
}
