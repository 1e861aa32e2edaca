// The clicked point: its coordinates and value, its time series as a chart, and that series as a
// CSV download (the library's `toCSV()`: decoded times, the point's coordinates, decoded values).
import { CFDatetime } from '../../../src/dataset.js'
import { drawSeriesChart } from './chart.js'
import { valueRange } from './colour-map.js'
import type { VariableInfo } from './dataset.js'
import { download, fileNamePart } from './downloads.js'
import { describeQuantity, formatValue } from './format.js'
import { type MapLayout, screenCell } from './map-layout.js'
import { leadingIndices, overtaken, selectedVariable, timeIndex, ui, view } from './state.js'

export function clearPoint(): void {
  delete view.cell
  delete view.series
  ui.point.textContent = 'Click the map for the time series of a point.'
  ui.marker.hidden = true
  ui.chart.hidden = true
  ui.downloadCsv.disabled = true
}

/**
 * Marks `cell` on the map and names it with its coordinates (the leading ones as their selectors
 * show them: a time as its calendar's date; lat/lon as on the map, recentred longitudes too) and its
 * value in physical units; returns the place's name (lat/lon only).
 */
export function labelPoint(cell: { x: number; y: number }): string {
  const { dataset, grid, layout } = view
  if (dataset === undefined || grid === undefined || layout === undefined) return ''
  const variable = selectedVariable()
  const [yDim, xDim] = variable.dims.slice(-2) as [string, string]
  const { column, row } = screenCell(layout, cell)
  const where = [
    coordinateText(yDim, layout.y.values[row], cell.y),
    coordinateText(xDim, layout.x.values[column], cell.x),
  ].join(', ')
  const leading = leadingIndices(variable)
  const when = variable.dims.slice(0, -2).map((dim, d) => {
    const index = leading[d] as number
    return `${dim} ${dataset.coordinate(dim)?.label(index) ?? `#${index}`}`
  })
  placeMarker(cell, layout)
  const value = grid.values[cell.y * grid.width + cell.x] as number
  const shown = Number.isNaN(value) ? 'no data' : `${formatValue(value)} ${variable.units}`.trim()
  ui.point.textContent = `${[...when, where].join(', ')}: ${shown}`
  Object.assign(ui.point.dataset, { x: String(cell.x), y: String(cell.y), value: String(value) })
  return where
}

/** The value at a cell and, for variables with time, its time series as a chart. */
export async function showPoint(cell: { x: number; y: number }): Promise<void> {
  const { dataset } = view
  if (dataset === undefined) return
  const generation = view.generation
  const variable = selectedVariable()
  const leading = leadingIndices(variable)
  const where = labelPoint(cell)
  if (variable.shape.length < 3) {
    ui.chart.hidden = true
    ui.downloadCsv.disabled = true
    return
  }
  // The series runs along time: a new time step alone moves the chart's marker, without a read.
  let data = sameSeries(view.series, variable, cell, leading) ? view.series?.data : undefined
  try {
    data ??= await dataset.series(variable.name, cell.y, cell.x, leading, { signal: view.reading?.signal })
  } catch (error) {
    if (overtaken(generation)) return
    throw error
  }
  if (overtaken(generation)) return
  view.series = { variable, cell, leading, data }
  const series = data.values
  const timeDim = variable.dims[0] as string
  const time = dataset.coordinate(timeDim)
  const times = time?.values ?? Float64Array.from(series, (_, i) => i)
  ui.chart.hidden = false
  drawSeriesChart(ui.chart, {
    times,
    values: series,
    xLabel: time === undefined ? `${timeDim} (step)` : timeDim,
    yLabel: describeQuantity(variable.name, variable.longName, variable.units),
    // The axis is labelled at its two ends, which are time steps: each shown as its selector shows it.
    formatTime: (t) => time?.label(times.indexOf(t)) ?? formatValue(t),
    currentIndex: timeIndex(),
  })
  const finite = valueRange(series)
  const span = finite === undefined ? 'no data' : `${formatValue(finite.min)} to ${formatValue(finite.max)}`
  ui.chart.setAttribute('aria-label', `${variable.name} at ${where}: ${series.length} values, ${span}`)
  Object.assign(ui.chart.dataset, {
    variable: variable.name,
    x: String(cell.x),
    y: String(cell.y),
    current: String(timeIndex()),
  })
  ui.downloadCsv.disabled = false
}

function sameSeries(
  shown: typeof view.series,
  variable: VariableInfo,
  cell: { x: number; y: number },
  leading: readonly number[],
): boolean {
  return (
    shown?.variable === variable &&
    shown.cell.x === cell.x &&
    shown.cell.y === cell.y &&
    shown.leading.slice(1).every((index, d) => index === leading[d + 1])
  )
}

function placeMarker(cell: { x: number; y: number }, layout: MapLayout): void {
  const { column, row } = screenCell(layout, cell)
  ui.marker.style.left = `${((column + 0.5) / layout.width) * ui.map.clientWidth}px`
  ui.marker.style.top = `${((row + 0.5) / layout.height) * ui.map.clientHeight}px`
  ui.marker.hidden = false
}

function coordinateText(dim: string, shown: number | undefined, index: number): string {
  return view.dataset?.coordinate(dim) === undefined || shown === undefined
    ? `${dim} #${index}`
    : `${dim} ${formatValue(shown)}`
}

/**
 * The clicked series as CSV, as the library writes it (`DataArray.toCSV()`): the time column,
 * the point's coordinates as stored, the values; named after the variable and the point.
 */
export function downloadSeries(): void {
  const { series } = view
  if (series === undefined) return
  const { variable, cell, leading, data } = series
  const positions = [...leading.slice(1), cell.y, cell.x]
  const place = variable.dims.slice(1).map((dim, d) => {
    const value = data.coords[dim]
    const shown = value instanceof CFDatetime ? value.toISOString() : (value ?? positions[d])
    return `${dim}${String(shown)}`
  })
  download(
    new Blob([data.toCSV()], { type: 'text/csv' }),
    `${fileNamePart([variable.name, ...place].join('_'))}.csv`,
  )
}
