// The clicked point: its value, its time series as a chart, and that series as a CSV download.
import { drawSeriesChart } from './chart.js'
import { valueRange } from './colour-map.js'
import { download, fileNamePart, seriesCsv } from './downloads.js'
import { describeQuantity, formatTime, formatValue, isoTime } from './format.js'
import { type MapLayout, screenCell } from './map-layout.js'
import { leadingIndices, selectedVariable, timeIndex, ui, view } from './state.js'

export function clearPoint(): void {
  delete view.cell
  delete view.series
  ui.point.textContent = 'Click the map for the time series of a point.'
  ui.marker.hidden = true
  ui.chart.hidden = true
  ui.downloadCsv.disabled = true
}

/**
 * Marks `cell` on the map and names it with its coordinates as shown (recentred longitudes too) and
 * its value; returns the place's name.
 */
export function labelPoint(cell: { x: number; y: number }): string {
  const { grid, layout } = view
  if (grid === undefined || layout === undefined) return ''
  const variable = selectedVariable()
  const [yDim, xDim] = variable.dims.slice(-2) as [string, string]
  const { column, row } = screenCell(layout, cell)
  const where = [
    coordinateText(yDim, layout.y.values[row], cell.y),
    coordinateText(xDim, layout.x.values[column], cell.x),
  ].join(', ')
  placeMarker(cell, layout)
  const value = grid.values[cell.y * grid.width + cell.x] as number
  ui.point.textContent = `${where}: ${formatValue(value)} ${variable.units}`.trim()
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
  const series = await dataset.series(variable.name, cell.y, cell.x, leading)
  if (generation !== view.generation) return
  view.series = { variable, cell, leading, values: series }
  const timeDim = variable.dims[0] as string
  const time = dataset.coordinate(timeDim)
  const times = time?.values ?? Float64Array.from(series, (_, i) => i)
  ui.chart.hidden = false
  drawSeriesChart(ui.chart, {
    times,
    values: series,
    xLabel: time === undefined ? `${timeDim} (step)` : timeDim,
    yLabel: describeQuantity(variable.name, variable.longName, variable.units),
    formatTime: (v) => formatTime(v, time?.units ?? '', time?.attributes.calendar),
    currentIndex: timeIndex(),
  })
  const finite = valueRange(series)
  const span = finite === undefined ? 'no data' : `${formatValue(finite.min)} to ${formatValue(finite.max)}`
  ui.chart.setAttribute('aria-label', `${variable.name} at ${where}: ${series.length} values, ${span}`)
  Object.assign(ui.chart.dataset, { variable: variable.name, x: String(cell.x), y: String(cell.y) })
  ui.downloadCsv.disabled = false
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

/** The clicked series as CSV: time, the point's other coordinates as stored, the values. */
export function downloadSeries(): void {
  const { dataset, series } = view
  if (dataset === undefined || series === undefined) return
  const { variable, cell, leading, values } = series
  const timeDim = variable.dims[0] as string
  const time = dataset.coordinate(timeDim)
  const times = Array.from(values, (_, i) => {
    const t = time?.values[i]
    return t === undefined
      ? String(i)
      : (isoTime(t, time?.units ?? '', time?.attributes.calendar) ?? String(t))
  })
  const fixedIndex = [...leading.slice(1), cell.y, cell.x]
  const fixed = variable.dims.slice(1).map((dim, i) => {
    const index = fixedIndex[i] as number
    const coordinate = dataset.coordinate(dim)
    return { name: dim, value: coordinate?.values[index] ?? index }
  })
  const csv = seriesCsv({ timeName: timeDim, times, fixed, name: variable.name, values })
  const place = fixed.map((c) => `${c.name}${c.value}`).join('_')
  download(new Blob([csv], { type: 'text/csv' }), `${fileNamePart(`${variable.name}_${place}`)}.csv`)
}
