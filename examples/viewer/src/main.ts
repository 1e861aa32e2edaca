// The viewer page: open a root CID through a gateway (from the URL query `?gateway=…&root=…` or the
// form), pick a variable, a time step and any other leading dimension (level), and click the map for
// a point's time series. The colour range stays fixed across steps until the user changes it.
import { isHamtError } from '../../../src/index.js'
import { renderAttributes } from './attributes.js'
import { renderTicks } from './axes.js'
import { drawSeriesChart } from './chart.js'
import { drawCoastlines } from './coastlines.js'
import {
  attributeRange,
  cellAt,
  drawColourMap,
  drawScaleBar,
  NAN_COLOUR,
  type ValueRange,
  valueRange,
} from './colour-map.js'
import { type Dataset, type Grid, openDataset, type VariableInfo } from './dataset.js'
import { download, fileNamePart, mapPng, seriesCsv } from './downloads.js'
import { describeQuantity, formatTime, formatValue, isoTime } from './format.js'
import { type MapLayout, mapLayout, screenCell } from './map-layout.js'

const DEFAULT_GATEWAY = 'http://127.0.0.1:8080'

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no <${type.name}> #${id}`)
  return found
}

const ui = {
  form: element('open-form', HTMLFormElement),
  gateway: element('gateway', HTMLInputElement),
  root: element('root', HTMLInputElement),
  status: element('status', HTMLElement),
  viewer: element('viewer', HTMLElement),
  variable: element('variable', HTMLSelectElement),
  time: element('time', HTMLInputElement),
  timeLabel: element('time-label', HTMLOutputElement),
  extraDims: element('extra-dims', HTMLElement),
  recentre: element('recentre', HTMLInputElement),
  coastlines: element('coastlines', HTMLInputElement),
  map: element('map', HTMLCanvasElement),
  coast: element('coast', HTMLCanvasElement),
  xTicks: element('x-ticks', HTMLElement),
  yTicks: element('y-ticks', HTMLElement),
  scale: element('scale', HTMLCanvasElement),
  legendMin: element('legend-min', HTMLElement),
  legendMax: element('legend-max', HTMLElement),
  legendUnits: element('legend-units', HTMLElement),
  nanSwatch: element('nan-swatch', HTMLElement),
  rangeForm: element('range-form', HTMLFormElement),
  rangeMin: element('range-min', HTMLInputElement),
  rangeMax: element('range-max', HTMLInputElement),
  rangeReset: element('range-reset', HTMLButtonElement),
  rangeSource: element('range-source', HTMLElement),
  point: element('point', HTMLElement),
  marker: element('marker', HTMLElement),
  chart: element('chart', HTMLCanvasElement),
  downloadCsv: element('download-csv', HTMLButtonElement),
  downloadPng: element('download-png', HTMLButtonElement),
  attributes: element('attributes', HTMLElement),
}

/** The colour range of a variable and where it came from. */
type ChosenRange = { range: ValueRange | undefined; source: string }

/** What is on screen; `generation` drops the answers of reads a newer selection has overtaken. */
const view: {
  dataset?: Dataset
  grid?: Grid
  layout?: MapLayout
  cell?: { x: number; y: number }
  series?: { variable: VariableInfo; cell: { x: number; y: number }; leading: number[]; values: Float64Array }
  /** Per variable, kept across time steps and levels until the user sets another. */
  ranges: Map<string, ChosenRange>
  generation: number
} = { ranges: new Map(), generation: 0 }

function setStatus(state: 'idle' | 'loading' | 'ready' | 'error', message: string): void {
  document.body.dataset.state = state
  ui.status.textContent = message
}

function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  setStatus('error', isHamtError(error) ? `${error.code}: ${message}` : message)
}

const selectedVariable = (): VariableInfo => {
  const found = view.dataset?.variables.find((v) => v.name === ui.variable.value)
  if (found === undefined) throw new Error(`no variable ${ui.variable.value} is open`)
  return found
}
const timeIndex = (): number => Number(ui.time.value)
/** The index along every dimension before the last two: the time slider, then the selectors. */
const leadingIndices = (variable: VariableInfo): number[] =>
  variable.dims.slice(0, -2).map((dim, i) => {
    if (i === 0) return timeIndex()
    const select = ui.extraDims.querySelector<HTMLSelectElement>(`select[data-dim="${CSS.escape(dim)}"]`)
    return Number(select?.value ?? 0)
  })

type Initial = { variable?: string; time?: number; at?: Record<string, number>; range?: ValueRange }

async function open(gateway: string, root: string, initial: Initial): Promise<void> {
  const generation = ++view.generation
  setStatus('loading', `Opening ${root}…`)
  ui.viewer.hidden = true
  const dataset = await openDataset(root, gateway)
  if (generation !== view.generation) return
  if (dataset.variables.length === 0) throw new Error(`${root} holds no variable with two or more dimensions`)
  view.dataset = dataset
  view.ranges.clear()
  delete view.cell
  ui.variable.replaceChildren(
    ...dataset.variables.map((v) => new Option(describeQuantity(v.name, v.longName, v.units), v.name)),
  )
  if (dataset.variables.some((v) => v.name === initial.variable))
    ui.variable.value = initial.variable as string
  if (initial.range !== undefined)
    view.ranges.set(ui.variable.value, { range: initial.range, source: 'set by you' })
  clearPoint()
  ui.viewer.hidden = false
  configureDimensions(initial.time ?? 0, initial.at ?? {})
  await render()
}

/**
 * The slider runs over the first dimension of 3-D and higher variables; each dimension between it
 * and the last two (a level) gets a selector labelled with its coordinate values.
 */
function configureDimensions(wantedTime: number, wantedAt: Record<string, number>): void {
  const variable = selectedVariable()
  const steps = variable.shape.length >= 3 ? (variable.shape[0] as number) : 1
  ui.time.max = String(steps - 1)
  ui.time.value = String(clampIndex(wantedTime, steps))
  ui.time.disabled = steps === 1
  const selectors = variable.dims.slice(1, -2).map((dim, i) => {
    const size = variable.shape[i + 1] as number
    const coordinate = view.dataset?.coordinate(dim)
    const select = document.createElement('select')
    select.dataset.dim = dim
    for (let k = 0; k < size; k++) {
      const value = coordinate?.values[k]
      const text = value === undefined ? `#${k}` : `${formatValue(value)} ${coordinate?.units ?? ''}`.trim()
      select.append(new Option(text, String(k)))
    }
    select.value = String(clampIndex(wantedAt[dim] ?? 0, size))
    select.addEventListener('change', guarded(render))
    const label = document.createElement('label')
    label.append(`${dim} `, select)
    return label
  })
  ui.extraDims.replaceChildren(...selectors)
  const dataset = view.dataset
  if (dataset !== undefined) {
    renderAttributes(ui.attributes, [
      { title: `Dataset${dataset.title === '' ? '' : `: ${dataset.title}`}`, attributes: dataset.attributes },
      { title: `Variable ${variable.name} (${variable.dims.join(', ')})`, attributes: variable.attributes },
    ])
  }
}

const clampIndex = (wanted: number, size: number): number =>
  Math.min(Math.max(0, Math.trunc(wanted) || 0), size - 1)

function timeText(variable: VariableInfo, index: number): string {
  if (variable.shape.length < 3) return 'no time dimension'
  const time = view.dataset?.coordinate(variable.dims[0] as string)
  const value = time?.values[index]
  return value === undefined
    ? `step ${index}`
    : formatTime(value, time?.units ?? '', time?.attributes.calendar)
}

/**
 * The colour range of `variable`: the one already chosen, else its attributes' (valid_min/valid_max,
 * valid_range, actual_range), else the range of its first step (every leading index 0).
 */
async function rangeOf(
  dataset: Dataset,
  variable: VariableInfo,
  shown: Grid,
  leading: number[],
): Promise<ChosenRange> {
  const chosen = view.ranges.get(variable.name)
  if (chosen !== undefined) return chosen
  const fromAttributes = attributeRange(variable.attributes)
  let result: ChosenRange
  if (fromAttributes !== undefined)
    result = { range: fromAttributes, source: 'from the variable’s attributes' }
  else {
    const first = leading.every((i) => i === 0) ? shown : await dataset.slice(variable.name, [])
    result = { range: valueRange(first.values), source: 'from the first step' }
  }
  view.ranges.set(variable.name, result)
  return result
}

async function render(): Promise<void> {
  const dataset = view.dataset
  if (dataset === undefined) return
  const generation = ++view.generation
  const variable = selectedVariable()
  const leading = leadingIndices(variable)
  ui.timeLabel.value = timeText(variable, timeIndex())
  setStatus('loading', `Reading ${variable.name} at ${ui.timeLabel.value}…`)
  const grid = await dataset.slice(variable.name, leading)
  await rangeOf(dataset, variable, grid, leading)
  if (generation !== view.generation) return
  view.grid = grid
  await draw()
  if (generation !== view.generation) return
  history.replaceState(null, '', `?${new URLSearchParams(queryOf(dataset, variable, leading))}`)
  setStatus('ready', `${dataset.title || dataset.root}: ${variable.name} at ${ui.timeLabel.value}`)
  // A point picked on another variable's grid may not exist on this one.
  if (view.cell !== undefined && (view.cell.x >= grid.width || view.cell.y >= grid.height)) clearPoint()
  if (view.cell !== undefined) await showPoint(view.cell)
}

/** Draws the grid already read: map, coastlines, ticks, legend; no reading. */
async function draw(): Promise<void> {
  const { dataset, grid } = view
  if (dataset === undefined || grid === undefined) return
  const generation = view.generation
  const variable = selectedVariable()
  const leading = leadingIndices(variable)
  const [yDim, xDim] = variable.dims.slice(-2) as [string, string]
  const layout = mapLayout(
    grid,
    { dim: xDim, coordinate: dataset.coordinate(xDim) },
    { dim: yDim, coordinate: dataset.coordinate(yDim) },
    ui.recentre.checked,
  )
  const { range, source } = view.ranges.get(variable.name) ?? { range: undefined, source: '' }
  drawColourMap(ui.map, grid, range, layout)
  view.layout = layout
  const coast = await drawCoastlines(ui.coast, ui.map, layout, ui.coastlines.checked)
  if (generation !== view.generation) return
  renderTicks(ui.xTicks, layout.x, 'x')
  renderTicks(ui.yTicks, layout.y, 'y')
  ui.legendMin.textContent = range === undefined ? 'no data' : formatValue(range.min)
  ui.legendMax.textContent = range === undefined ? '' : formatValue(range.max)
  ui.legendUnits.textContent = variable.units
  ui.rangeMin.value = range === undefined ? '' : String(range.min)
  ui.rangeMax.value = range === undefined ? '' : String(range.max)
  ui.rangeSource.textContent = source
  if (view.cell !== undefined) placeMarker(view.cell, layout)
  Object.assign(ui.map.dataset, {
    range: range === undefined ? '' : `${range.min},${range.max}`,
    recentred: String(layout.recentred),
    coast: coast ?? '',
    // Last: tests wait for this one.
    rendered: `${variable.name}@${leading.join(',')}`,
  })
}

function queryOf(dataset: Dataset, variable: VariableInfo, leading: number[]): Record<string, string> {
  const query: Record<string, string> = {
    gateway: ui.gateway.value,
    root: dataset.root,
    var: variable.name,
    t: String(leading[0] ?? 0),
  }
  variable.dims.slice(1, -2).forEach((dim, i) => {
    query[`at.${dim}`] = String(leading[i + 1])
  })
  const chosen = view.ranges.get(variable.name)
  if (chosen?.source === 'set by you' && chosen.range !== undefined) {
    Object.assign(query, { vmin: String(chosen.range.min), vmax: String(chosen.range.max) })
  }
  if (!ui.recentre.checked) query.recentre = '0'
  if (!ui.coastlines.checked) query.coast = '0'
  return query
}

function clearPoint(): void {
  delete view.cell
  delete view.series
  ui.point.textContent = 'Click the map for the time series of a point.'
  ui.marker.hidden = true
  ui.chart.hidden = true
  ui.downloadCsv.disabled = true
}

/** The value at a cell and, for variables with time, its time series as a chart. */
async function showPoint(cell: { x: number; y: number }): Promise<void> {
  const { dataset, grid, layout } = view
  if (dataset === undefined || grid === undefined || layout === undefined) return
  const generation = view.generation
  const variable = selectedVariable()
  const leading = leadingIndices(variable)
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
function downloadSeries(): void {
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

// --- wiring --------------------------------------------------------------------------------

/** Runs an async handler, showing its failure in the status line instead of losing it. */
function guarded<A extends unknown[]>(handler: (...args: A) => Promise<void>): (...args: A) => void {
  return (...args: A): void => {
    handler(...args).catch(showError)
  }
}

ui.form.addEventListener(
  'submit',
  guarded(async (event: SubmitEvent) => {
    event.preventDefault()
    await open(ui.gateway.value.trim(), ui.root.value.trim(), {})
  }),
)
ui.variable.addEventListener(
  'change',
  guarded(async () => {
    configureDimensions(timeIndex(), {})
    await render()
  }),
)
ui.time.addEventListener('input', guarded(render))
ui.recentre.addEventListener('change', guarded(draw))
ui.coastlines.addEventListener('change', guarded(draw))
ui.rangeForm.addEventListener(
  'submit',
  guarded(async (event: SubmitEvent) => {
    event.preventDefault()
    const [min, max] = [ui.rangeMin.valueAsNumber, ui.rangeMax.valueAsNumber]
    if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) {
      throw new Error(`the colour range needs a minimum below its maximum, got ${min} and ${max}`)
    }
    view.ranges.set(selectedVariable().name, { range: { min, max }, source: 'set by you' })
    await render()
  }),
)
ui.rangeReset.addEventListener(
  'click',
  guarded(async () => {
    view.ranges.delete(selectedVariable().name)
    await render()
  }),
)
ui.map.addEventListener(
  'click',
  guarded(async (event: MouseEvent) => {
    if (view.layout === undefined) return
    view.cell = cellAt(ui.map, view.layout, event.offsetX, event.offsetY)
    await showPoint(view.cell)
  }),
)
ui.downloadCsv.addEventListener('click', downloadSeries)
ui.downloadPng.addEventListener(
  'click',
  guarded(async () => {
    const png = await mapPng([ui.map, ui.coast])
    const name = ui.map.dataset.rendered ?? 'map'
    download(png, `${fileNamePart(name.replace('@', '_'))}.png`)
  }),
)

drawScaleBar(ui.scale)
ui.nanSwatch.style.background = `rgb(${NAN_COLOUR.join(',')})`
const query = new URLSearchParams(location.search)
ui.gateway.value = query.get('gateway') ?? DEFAULT_GATEWAY
ui.root.value = query.get('root') ?? ''
ui.recentre.checked = query.get('recentre') !== '0'
ui.coastlines.checked = query.get('coast') !== '0'
if (ui.root.value !== '') {
  const at: Record<string, number> = {}
  for (const [key, value] of query) if (key.startsWith('at.')) at[key.slice(3)] = Number(value)
  const [vmin, vmax] = [Number(query.get('vmin') ?? Number.NaN), Number(query.get('vmax') ?? Number.NaN)]
  guarded(open)(ui.gateway.value, ui.root.value, {
    variable: query.get('var') ?? undefined,
    time: Number(query.get('t') ?? 0),
    at,
    range: vmin < vmax ? { min: vmin, max: vmax } : undefined,
  })
} else {
  setStatus('idle', 'Enter a gateway and the root CID of a Zarr v3 dataset written by py-hamt or ts-hamt.')
}
