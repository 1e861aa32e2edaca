// The viewer page: open a root CID through a gateway (from the URL query `?gateway=…&root=…` or the
// form), pick a variable, a time step and any other leading dimension (level), and click the map for
// a point's time series. The colour range stays fixed across steps until the user changes it.
import { renderAttributes } from './attributes.js'
import { renderTicks } from './axes.js'
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
import { type Grid, openViewerDataset, type VariableInfo, type ViewerDataset } from './dataset.js'
import { download, fileNamePart, mapPng } from './downloads.js'
import { describeQuantity, formatValue } from './format.js'
import { mapLayout } from './map-layout.js'
import { clearPoint, downloadSeries, labelPoint, showPoint } from './point.js'
import {
  type ChosenRange,
  leadingIndices,
  nextReading,
  overtaken,
  selectedVariable,
  setStatus,
  showError,
  timeIndex,
  ui,
  view,
} from './state.js'

const DEFAULT_GATEWAY = 'http://127.0.0.1:8080'

type Initial = { variable?: string; time?: number; at?: Record<string, number>; range?: ValueRange }

async function open(gateway: string, root: string, initial: Initial): Promise<void> {
  const { generation, signal } = nextReading()
  setStatus('loading', `Opening ${root}…`)
  ui.viewer.hidden = true
  let dataset: ViewerDataset
  try {
    dataset = await openViewerDataset(root, gateway, { signal })
  } catch (error) {
    if (overtaken(generation)) return
    throw error
  }
  if (overtaken(generation)) return
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
    for (let k = 0; k < size; k++) select.append(new Option(coordinate?.label(k) ?? `#${k}`, String(k)))
    select.value = String(clampIndex(wantedAt[dim] ?? 0, size))
    select.addEventListener('change', guarded(render))
    const label = document.createElement('label')
    label.append(`${dim} `, select)
    return label
  })
  ui.extraDims.replaceChildren(...selectors)
  showAttributes(variable)
}

/** The index chosen in each level-like selector, by dimension name (kept when the variable changes). */
function selectedAt(): Record<string, number> {
  const at: Record<string, number> = {}
  for (const select of ui.extraDims.querySelectorAll('select'))
    at[select.dataset.dim ?? ''] = Number(select.value)
  return at
}

function showAttributes(variable: VariableInfo): void {
  const dataset = view.dataset
  if (dataset === undefined) return
  renderAttributes(ui.attributes, [
    { title: `Dataset${dataset.title === '' ? '' : `: ${dataset.title}`}`, attributes: dataset.attributes },
    { title: `Variable ${variable.name} (${variable.dims.join(', ')})`, attributes: variable.attributes },
    {
      title: `Encoding of ${variable.name} (how the values shown were decoded)`,
      attributes: encodingAttributes(variable),
    },
  ])
}

/** The CF encoding the values were decoded with, under its attribute names, fill values as numbers. */
function encodingAttributes({ dtype, encoding }: VariableInfo): Record<string, unknown> {
  const entries: [string, unknown][] = [
    ['dtype', dtype],
    ['_FillValue', encoding.fillValue],
    ['missing_value', encoding.missingValues],
    ['scale_factor', encoding.scaleFactor],
    ['add_offset', encoding.addOffset],
  ]
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined))
}

const clampIndex = (wanted: number, size: number): number =>
  Math.min(Math.max(0, Math.trunc(wanted) || 0), size - 1)

/** Calendars whose dates read as everyday (Gregorian) dates; any other is named beside the date. */
const GREGORIAN = new Set(['standard', 'gregorian', 'proleptic_gregorian'])

/** The time step as its calendar's date ('2001-02-30' in a 360_day calendar), or its index. */
function showTime(variable: VariableInfo, index: number): void {
  const time = variable.shape.length < 3 ? undefined : view.dataset?.coordinate(variable.dims[0] as string)
  ui.timeLabel.value =
    variable.shape.length < 3 ? 'no time dimension' : (time?.label(index) ?? `step ${index}`)
  const calendar = time?.calendar
  ui.calendar.textContent = calendar === undefined || GREGORIAN.has(calendar) ? '' : `${calendar} calendar`
  // Screen readers announce the date, not the step number.
  ui.time.setAttribute('aria-valuetext', `${ui.timeLabel.value} ${ui.calendar.textContent}`.trim())
}

/**
 * The colour range of `variable`: the one already chosen, else its attributes' (valid_min/valid_max,
 * valid_range, actual_range, unpacked), else the range of its first step (every leading index 0).
 */
async function rangeOf(
  dataset: ViewerDataset,
  variable: VariableInfo,
  shown: Grid,
  leading: number[],
  signal: AbortSignal,
): Promise<ChosenRange> {
  const chosen = view.ranges.get(variable.name)
  if (chosen !== undefined) return chosen
  const fromAttributes = attributeRange(variable.attributes, variable.encoding)
  let result: ChosenRange
  if (fromAttributes !== undefined)
    result = { range: fromAttributes, source: 'from the variable’s attributes' }
  else {
    const first = leading.every((i) => i === 0) ? shown : await dataset.slice(variable.name, [], { signal })
    result = { range: valueRange(first.values), source: 'from the first step' }
  }
  view.ranges.set(variable.name, result)
  return result
}

async function render(): Promise<void> {
  const dataset = view.dataset
  if (dataset === undefined) return
  const { generation, signal } = nextReading()
  const variable = selectedVariable()
  const leading = leadingIndices(variable)
  showTime(variable, timeIndex())
  setStatus('loading', `Reading ${variable.name} at ${ui.timeLabel.value}…`)
  let grid: Grid
  try {
    grid = await dataset.slice(variable.name, leading, { signal })
    await rangeOf(dataset, variable, grid, leading, signal)
  } catch (error) {
    if (overtaken(generation)) return
    throw error
  }
  if (overtaken(generation)) return
  view.grid = grid
  await draw()
  if (overtaken(generation)) return
  history.replaceState(null, '', `?${new URLSearchParams(queryOf(dataset, variable, leading))}`)
  setStatus('ready', `${dataset.title || dataset.root}: ${variable.name} at ${ui.timeLabel.value}`)
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
  if (overtaken(generation)) return
  ui.coastCredit.hidden = coast === undefined
  renderTicks(ui.xTicks, layout.x, 'x')
  renderTicks(ui.yTicks, layout.y, 'y')
  ui.legendMin.textContent = range === undefined ? 'no data' : formatValue(range.min)
  ui.legendMax.textContent = range === undefined ? '' : formatValue(range.max)
  ui.legendUnits.textContent = variable.units
  ui.rangeMin.value = range === undefined ? '' : String(range.min)
  ui.rangeMax.value = range === undefined ? '' : String(range.max)
  ui.rangeSource.textContent = source
  // A point picked on another variable's grid may not exist on this one.
  if (view.cell !== undefined && (view.cell.x >= grid.width || view.cell.y >= grid.height)) clearPoint()
  if (view.cell !== undefined) labelPoint(view.cell)
  Object.assign(ui.map.dataset, {
    range: range === undefined ? '' : `${range.min},${range.max}`,
    recentred: String(layout.recentred),
    coast: coast ?? '',
    // Last: tests wait for this one.
    rendered: `${variable.name}@${leading.join(',')}`,
  })
}

function queryOf(dataset: ViewerDataset, variable: VariableInfo, leading: number[]): Record<string, string> {
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
    configureDimensions(timeIndex(), selectedAt())
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
// No-data cells are transparent: the map's background shows through them, the swatch's colour.
ui.nanSwatch.style.background = ui.map.style.background = `rgb(${NAN_COLOUR.join(',')})`
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
  setStatus('idle', 'Enter gateways and the root CID of a Zarr dataset written by py-hamt or ts-hamt.')
}
