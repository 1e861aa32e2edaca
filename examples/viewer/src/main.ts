// The viewer page: open a root CID through a gateway (from the URL query `?gateway=…&root=…` or the
// form), pick a variable and a time step, and click the map for a point's time series.
import { isHamtError } from '../../../src/index.js'
import { drawSeriesChart } from './chart.js'
import { cellAt, drawColourMap, drawScaleBar, NAN_COLOUR, valueRange } from './colour-map.js'
import { type Dataset, type Grid, openDataset, type VariableInfo } from './dataset.js'
import { describeQuantity, formatTime, formatValue } from './format.js'

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
  map: element('map', HTMLCanvasElement),
  scale: element('scale', HTMLCanvasElement),
  legendMin: element('legend-min', HTMLElement),
  legendMax: element('legend-max', HTMLElement),
  legendUnits: element('legend-units', HTMLElement),
  nanSwatch: element('nan-swatch', HTMLElement),
  point: element('point', HTMLElement),
  marker: element('marker', HTMLElement),
  chart: element('chart', HTMLCanvasElement),
}

/** What is on screen; `generation` drops the answers of reads a newer selection has overtaken. */
const view: {
  dataset?: Dataset
  grid?: Grid
  cell?: { x: number; y: number }
  generation: number
} = { generation: 0 }

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
/** The y coordinate grows with the row index (latitude south to north): draw row 0 at the bottom. */
const rowsGoNorth = (variable: VariableInfo): boolean => {
  const ys = view.dataset?.coordinate(variable.dims.at(-2) ?? '')?.values
  return ys !== undefined && ys.length > 1 && (ys.at(-1) as number) > (ys[0] as number)
}

async function open(
  gateway: string,
  root: string,
  initial: { variable?: string; time?: number },
): Promise<void> {
  const generation = ++view.generation
  setStatus('loading', `Opening ${root}…`)
  ui.viewer.hidden = true
  const dataset = await openDataset(root, gateway)
  if (generation !== view.generation) return
  if (dataset.variables.length === 0) throw new Error(`${root} holds no variable with two or more dimensions`)
  view.dataset = dataset
  delete view.cell
  ui.variable.replaceChildren(
    ...dataset.variables.map((v) => new Option(describeQuantity(v.name, v.longName, v.units), v.name)),
  )
  if (dataset.variables.some((v) => v.name === initial.variable))
    ui.variable.value = initial.variable as string
  ui.point.textContent = 'Click the map for the time series of a point.'
  ui.chart.hidden = true
  ui.marker.hidden = true
  ui.viewer.hidden = false
  configureTime(initial.time ?? 0)
  await render()
}

/** The slider runs over the first dimension of 3-D and higher variables; 2-D ones have no time. */
function configureTime(wanted: number): void {
  const variable = selectedVariable()
  const steps = variable.shape.length >= 3 ? (variable.shape[0] as number) : 1
  ui.time.max = String(steps - 1)
  ui.time.value = String(Math.min(Math.max(0, Math.trunc(wanted) || 0), steps - 1))
  ui.time.disabled = steps === 1
}

function timeText(variable: VariableInfo, index: number): string {
  if (variable.shape.length < 3) return 'no time dimension'
  const time = view.dataset?.coordinate(variable.dims[0] as string)
  const value = time?.values[index]
  return value === undefined ? `step ${index}` : formatTime(value, time?.units ?? '')
}

async function render(): Promise<void> {
  const dataset = view.dataset
  if (dataset === undefined) return
  const generation = ++view.generation
  const variable = selectedVariable()
  const t = timeIndex()
  ui.timeLabel.value = timeText(variable, t)
  setStatus('loading', `Reading ${variable.name} at ${ui.timeLabel.value}…`)
  const grid = await dataset.slice(variable.name, t)
  if (generation !== view.generation) return
  const range = valueRange(grid.values)
  drawColourMap(ui.map, grid, range, rowsGoNorth(variable))
  view.grid = grid
  ui.legendMin.textContent = range === undefined ? 'no data' : formatValue(range.min)
  ui.legendMax.textContent = range === undefined ? '' : formatValue(range.max)
  ui.legendUnits.textContent = variable.units
  ui.map.dataset.rendered = `${variable.name}@${t}`
  history.replaceState(null, '', `?${new URLSearchParams(queryOf(dataset, variable, t))}`)
  setStatus('ready', `${dataset.title || dataset.root}: ${variable.name} at ${ui.timeLabel.value}`)
  // A point picked on another variable's grid may not exist on this one.
  if (view.cell !== undefined && (view.cell.x >= grid.width || view.cell.y >= grid.height)) {
    delete view.cell
    ui.marker.hidden = true
    ui.chart.hidden = true
  }
  if (view.cell !== undefined) await showPoint(view.cell)
}

function queryOf(dataset: Dataset, variable: VariableInfo, t: number): Record<string, string> {
  return { gateway: ui.gateway.value, root: dataset.root, var: variable.name, t: String(t) }
}

/** The value at a cell and, for variables with time, its time series as a chart. */
async function showPoint(cell: { x: number; y: number }): Promise<void> {
  const { dataset, grid } = view
  if (dataset === undefined || grid === undefined) return
  const generation = view.generation
  const variable = selectedVariable()
  const [yDim, xDim] = variable.dims.slice(-2) as [string, string]
  const where = [coordinateText(yDim, cell.y, dataset), coordinateText(xDim, cell.x, dataset)].join(', ')
  placeMarker(cell, grid, rowsGoNorth(variable))
  const value = grid.values[cell.y * grid.width + cell.x] as number
  ui.point.textContent = `${where}: ${formatValue(value)} ${variable.units}`.trim()
  Object.assign(ui.point.dataset, { x: String(cell.x), y: String(cell.y), value: String(value) })
  if (variable.shape.length < 3) {
    ui.chart.hidden = true
    return
  }
  const series = await dataset.series(variable.name, cell.y, cell.x)
  if (generation !== view.generation) return
  const timeDim = variable.dims[0] as string
  const time = dataset.coordinate(timeDim)
  const times = time?.values ?? Float64Array.from(series, (_, i) => i)
  ui.chart.hidden = false
  drawSeriesChart(ui.chart, {
    times,
    values: series,
    xLabel: time === undefined ? `${timeDim} (step)` : timeDim,
    yLabel: describeQuantity(variable.name, variable.longName, variable.units),
    formatTime: (v) => formatTime(v, time?.units ?? ''),
    currentIndex: timeIndex(),
  })
  const finite = valueRange(series)
  const span = finite === undefined ? 'no data' : `${formatValue(finite.min)} to ${formatValue(finite.max)}`
  ui.chart.setAttribute('aria-label', `${variable.name} at ${where}: ${series.length} values, ${span}`)
  Object.assign(ui.chart.dataset, { variable: variable.name, x: String(cell.x), y: String(cell.y) })
}

function placeMarker(cell: { x: number; y: number }, grid: Grid, northUp: boolean): void {
  const screenRow = northUp ? grid.height - 1 - cell.y : cell.y
  ui.marker.style.left = `${((cell.x + 0.5) / grid.width) * ui.map.clientWidth}px`
  ui.marker.style.top = `${((screenRow + 0.5) / grid.height) * ui.map.clientHeight}px`
  ui.marker.hidden = false
}

function coordinateText(dim: string, index: number, dataset: Dataset): string {
  const coordinate = dataset.coordinate(dim)
  const value = coordinate?.values[index]
  return value === undefined ? `${dim} #${index}` : `${dim} ${formatValue(value)}`
}

// --- wiring --------------------------------------------------------------------------------

/** Runs an async handler, showing its failure in the status line instead of losing it. */
const guarded =
  <A extends unknown[]>(handler: (...args: A) => Promise<void>) =>
  (...args: A): void => {
    handler(...args).catch(showError)
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
    configureTime(timeIndex())
    await render()
  }),
)
ui.time.addEventListener('input', guarded(render))
ui.map.addEventListener(
  'click',
  guarded(async (event: MouseEvent) => {
    const grid = view.grid
    if (grid === undefined) return
    view.cell = cellAt(ui.map, grid, event.offsetX, event.offsetY, rowsGoNorth(selectedVariable()))
    await showPoint(view.cell)
  }),
)

drawScaleBar(ui.scale)
ui.nanSwatch.style.background = `rgb(${NAN_COLOUR.join(',')})`
const query = new URLSearchParams(location.search)
ui.gateway.value = query.get('gateway') ?? DEFAULT_GATEWAY
ui.root.value = query.get('root') ?? ''
if (ui.root.value !== '') {
  guarded(open)(ui.gateway.value, ui.root.value, {
    variable: query.get('var') ?? undefined,
    time: Number(query.get('t') ?? 0),
  })
} else {
  setStatus('idle', 'Enter a gateway and the root CID of a Zarr v3 dataset written by py-hamt or ts-hamt.')
}
