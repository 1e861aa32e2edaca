// A plain-canvas line chart of one cell's values over time: axes with their labels, the range of
// each axis at its ends, gaps where values are missing, and the current time step marked.
import { formatValue } from './format.js'

export interface SeriesChart {
  readonly times: ArrayLike<number>
  readonly values: ArrayLike<number>
  readonly xLabel: string
  readonly yLabel: string
  readonly formatTime: (time: number) => string
  /** The time step shown on the map, drawn as a vertical line. */
  readonly currentIndex: number
}

export const LINE_COLOUR = 'rgb(214, 51, 108)'
const AXIS_COLOUR = '#444'
const MARKER_COLOUR = '#aaa'
const MARGIN = { left: 72, right: 20, top: 14, bottom: 46 }

/** Draws `chart` over the whole of `canvas`. */
export function drawSeriesChart(canvas: HTMLCanvasElement, chart: SeriesChart): void {
  const context = canvas.getContext('2d')
  if (context === null) throw new Error('this browser gives no 2-D canvas context')
  const { width, height } = canvas
  context.clearRect(0, 0, width, height)
  context.font = '12px system-ui, sans-serif'
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  }
  const xs = Array.from(chart.times)
  const ys = Array.from(chart.values)
  const [xMin, xMax] = extent(xs)
  const [yMin, yMax] = extent(ys.filter(Number.isFinite))
  const toX = (t: number): number =>
    plot.left + (xMax === xMin ? 0.5 : (t - xMin) / (xMax - xMin)) * plot.width
  const toY = (v: number): number =>
    plot.top + plot.height - (yMax === yMin ? 0.5 : (v - yMin) / (yMax - yMin)) * plot.height

  drawAxes(context, plot, chart, { xMin, xMax, yMin, yMax })
  const current = xs[chart.currentIndex]
  if (current !== undefined) {
    context.strokeStyle = MARKER_COLOUR
    context.setLineDash([4, 4])
    line(context, toX(current), plot.top, toX(current), plot.top + plot.height)
    context.setLineDash([])
  }
  if (!Number.isFinite(yMin)) {
    context.fillStyle = AXIS_COLOUR
    context.textAlign = 'center'
    context.fillText('no data at this point', plot.left + plot.width / 2, plot.top + plot.height / 2)
    return
  }

  // The line breaks at missing values instead of bridging them.
  context.strokeStyle = LINE_COLOUR
  context.fillStyle = LINE_COLOUR
  context.lineWidth = 2
  context.beginPath()
  let drawing = false
  xs.forEach((t, i) => {
    const v = ys[i] as number
    if (!Number.isFinite(v)) {
      drawing = false
      return
    }
    if (drawing) context.lineTo(toX(t), toY(v))
    else context.moveTo(toX(t), toY(v))
    drawing = true
  })
  context.stroke()
  context.lineWidth = 1
  xs.forEach((t, i) => {
    const v = ys[i] as number
    if (!Number.isFinite(v)) return
    context.beginPath()
    context.arc(toX(t), toY(v), 3, 0, 2 * Math.PI)
    context.fill()
  })
}

type Plot = { left: number; top: number; width: number; height: number }
type Extent = { xMin: number; xMax: number; yMin: number; yMax: number }

function drawAxes(context: CanvasRenderingContext2D, plot: Plot, chart: SeriesChart, extent: Extent): void {
  const bottom = plot.top + plot.height
  context.strokeStyle = AXIS_COLOUR
  context.fillStyle = AXIS_COLOUR
  context.lineWidth = 1
  line(context, plot.left, plot.top, plot.left, bottom)
  line(context, plot.left, bottom, plot.left + plot.width, bottom)

  // Each axis is labelled with its two ends: the first and last time, the lowest and highest value.
  context.textBaseline = 'top'
  context.textAlign = 'left'
  context.fillText(chart.formatTime(extent.xMin), plot.left, bottom + 6)
  context.textAlign = 'right'
  context.fillText(chart.formatTime(extent.xMax), plot.left + plot.width, bottom + 6)
  context.textAlign = 'center'
  context.fillText(chart.xLabel, plot.left + plot.width / 2, bottom + 26)
  if (Number.isFinite(extent.yMin)) {
    context.textAlign = 'right'
    context.textBaseline = 'middle'
    context.fillText(formatValue(extent.yMax), plot.left - 6, plot.top + 6)
    context.fillText(formatValue(extent.yMin), plot.left - 6, bottom - 6)
  }
  context.save()
  context.translate(16, plot.top + plot.height / 2)
  context.rotate(-Math.PI / 2)
  context.textAlign = 'center'
  context.textBaseline = 'middle'
  context.fillText(chart.yLabel, 0, 0)
  context.restore()
}

function line(context: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number): void {
  context.beginPath()
  context.moveTo(x0, y0)
  context.lineTo(x1, y1)
  context.stroke()
}

/** Smallest and largest of `values` ([NaN, NaN] when empty). */
function extent(values: readonly number[]): [number, number] {
  if (values.length === 0) return [Number.NaN, Number.NaN]
  return [Math.min(...values), Math.max(...values)]
}
