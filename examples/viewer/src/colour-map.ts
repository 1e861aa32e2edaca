// The colour map: values to colours on a perceptual scale (viridis), drawn cell by cell onto a
// canvas, north up. NaN cells get a grey that the scale never uses, so missing data stands out.
import type { Grid } from './dataset.js'

export type Rgb = readonly [number, number, number]

/** Shown for NaN (no data): a neutral grey, far from every viridis colour. */
export const NAN_COLOUR: Rgb = [200, 200, 200]

// Matplotlib's viridis sampled at nine evenly spaced points; linear in between is close enough.
const VIRIDIS: readonly Rgb[] = [
  [68, 1, 84],
  [71, 45, 123],
  [59, 82, 139],
  [44, 114, 142],
  [33, 145, 140],
  [40, 174, 128],
  [94, 201, 98],
  [173, 220, 48],
  [253, 231, 37],
]

/** The colour at `fraction` (0 = minimum, 1 = maximum) of the scale. */
export function scaleColour(fraction: number): Rgb {
  const position = Math.min(1, Math.max(0, fraction)) * (VIRIDIS.length - 1)
  const below = Math.min(Math.floor(position), VIRIDIS.length - 2)
  const t = position - below
  const [a, b] = [VIRIDIS[below] as Rgb, VIRIDIS[below + 1] as Rgb]
  const mix = (from: number, to: number): number => Math.round(from + (to - from) * t)
  return [mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2])]
}

/** The range a slice is drawn with: its smallest and largest finite values. */
export interface ValueRange {
  readonly min: number
  readonly max: number
}

/** The finite range of `values`, or undefined when none is finite. */
export function valueRange(values: ArrayLike<number>): ValueRange | undefined {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (!Number.isFinite(v)) continue
    if (v < min) min = v
    if (v > max) max = v
  }
  return min <= max ? { min, max } : undefined
}

/** The colour `value` gets on `range`; a flat slice sits mid-scale. */
export function valueColour(value: number, range: ValueRange | undefined): Rgb {
  if (!Number.isFinite(value) || range === undefined) return NAN_COLOUR
  const span = range.max - range.min
  return scaleColour(span === 0 ? 0.5 : (value - range.min) / span)
}

/** Largest size of the map on screen; small grids are scaled up to it, large ones down. */
const MAX_WIDTH = 640
const MAX_HEIGHT = 480

/**
 * Draws `grid` onto `canvas` filling it, north up: with `rowsGoNorth` (the y coordinate grows with
 * the row index, as latitude usually does) row 0 is drawn at the bottom.
 */
export function drawColourMap(
  canvas: HTMLCanvasElement,
  grid: Grid,
  range: ValueRange | undefined,
  rowsGoNorth: boolean,
): void {
  const zoom = Math.min(MAX_WIDTH / grid.width, MAX_HEIGHT / grid.height)
  canvas.width = Math.max(1, Math.round(grid.width * zoom))
  canvas.height = Math.max(1, Math.round(grid.height * zoom))

  // One pixel per cell off screen, then scaled without smoothing so every cell keeps its colour.
  const cells = document.createElement('canvas')
  cells.width = grid.width
  cells.height = grid.height
  const image = new ImageData(grid.width, grid.height)
  for (let row = 0; row < grid.height; row++) {
    const screenRow = rowsGoNorth ? grid.height - 1 - row : row
    for (let col = 0; col < grid.width; col++) {
      const [r, g, b] = valueColour(grid.values[row * grid.width + col] as number, range)
      const at = (screenRow * grid.width + col) * 4
      image.data.set([r, g, b, 255], at)
    }
  }
  cells.getContext('2d')?.putImageData(image, 0, 0)
  const context = canvas.getContext('2d')
  if (context === null) throw new Error('this browser gives no 2-D canvas context')
  context.imageSmoothingEnabled = false
  context.drawImage(cells, 0, 0, canvas.width, canvas.height)
}

/** The grid cell under a point of the canvas (CSS pixels relative to its top-left corner). */
export function cellAt(
  canvas: HTMLCanvasElement,
  grid: Pick<Grid, 'width' | 'height'>,
  offsetX: number,
  offsetY: number,
  rowsGoNorth: boolean,
): { x: number; y: number } {
  const rect = canvas.getBoundingClientRect()
  const clamp = (v: number, size: number): number => Math.min(size - 1, Math.max(0, Math.floor(v)))
  const x = clamp((offsetX / rect.width) * grid.width, grid.width)
  const screenRow = clamp((offsetY / rect.height) * grid.height, grid.height)
  return { x, y: rowsGoNorth ? grid.height - 1 - screenRow : screenRow }
}

/** Paints the scale from minimum (left) to maximum (right) across `canvas`. */
export function drawScaleBar(canvas: HTMLCanvasElement): void {
  const context = canvas.getContext('2d')
  if (context === null) return
  for (let x = 0; x < canvas.width; x++) {
    context.fillStyle = `rgb(${scaleColour(x / Math.max(1, canvas.width - 1)).join(',')})`
    context.fillRect(x, 0, 1, canvas.height)
  }
}
