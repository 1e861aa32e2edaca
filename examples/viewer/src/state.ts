// The page's elements and what it shows, shared by the modules that draw and the one that wires.

import type { DataArray } from '../../../src/dataset.js'
import { isHamtError } from '../../../src/index.js'
import type { ValueRange } from './colour-map.js'
import type { Grid, VariableInfo, ViewerDataset } from './dataset.js'
import type { MapLayout } from './map-layout.js'

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no <${type.name}> #${id}`)
  return found
}

export const ui = {
  form: element('open-form', HTMLFormElement),
  gateway: element('gateway', HTMLInputElement),
  root: element('root', HTMLInputElement),
  status: element('status', HTMLElement),
  viewer: element('viewer', HTMLElement),
  variable: element('variable', HTMLSelectElement),
  time: element('time', HTMLInputElement),
  timeLabel: element('time-label', HTMLOutputElement),
  calendar: element('calendar', HTMLElement),
  extraDims: element('extra-dims', HTMLElement),
  recentre: element('recentre', HTMLInputElement),
  coastlines: element('coastlines', HTMLInputElement),
  map: element('map', HTMLCanvasElement),
  coast: element('coast', HTMLCanvasElement),
  coastCredit: element('coast-credit', HTMLElement),
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
export type ChosenRange = { range: ValueRange | undefined; source: string }

/**
 * What is on screen; `generation` drops the answers of reads a newer selection has overtaken, and
 * `reading` aborts them (a dragged slider starts many).
 */
export const view: {
  dataset?: ViewerDataset
  grid?: Grid
  layout?: MapLayout
  cell?: { x: number; y: number }
  /** The clicked point's series, with its coordinates (for the CSV). */
  series?: { variable: VariableInfo; cell: { x: number; y: number }; leading: number[]; data: DataArray }
  reading?: AbortController
  /** Per variable, kept across time steps and levels until the user sets another. */
  ranges: Map<string, ChosenRange>
  generation: number
} = { ranges: new Map(), generation: 0 }

export function setStatus(state: 'idle' | 'loading' | 'ready' | 'error', message: string): void {
  document.body.dataset.state = state
  ui.status.textContent = message
}

export function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  setStatus('error', isHamtError(error) ? `${error.code}: ${message}` : message)
}

export const selectedVariable = (): VariableInfo => {
  const found = view.dataset?.variables.find((v) => v.name === ui.variable.value)
  if (found === undefined) throw new Error(`no variable ${ui.variable.value} is open`)
  return found
}
export const timeIndex = (): number => Number(ui.time.value)
/** The index along every dimension before the last two: the time slider, then the selectors. */
export const leadingIndices = (variable: VariableInfo): number[] =>
  variable.dims.slice(0, -2).map((dim, i) => {
    if (i === 0) return timeIndex()
    const select = ui.extraDims.querySelector<HTMLSelectElement>(`select[data-dim="${CSS.escape(dim)}"]`)
    return Number(select?.value ?? 0)
  })

/** A new selection: the reads of the one before are aborted and their answers will be dropped. */
export function nextReading(): { generation: number; signal: AbortSignal } {
  view.reading?.abort(new DOMException('a newer selection overtook this read', 'AbortError'))
  const controller = new AbortController()
  view.reading = controller
  return { generation: ++view.generation, signal: controller.signal }
}

/** Whether a read started at `generation` was overtaken (then its answer, or its failure, is dropped). */
export const overtaken = (generation: number): boolean => generation !== view.generation
