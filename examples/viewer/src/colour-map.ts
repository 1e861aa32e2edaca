// The colour map: values to colours on a perceptual scale (viridis), drawn cell by cell onto a
// canvas, north up. NaN cells (fill values, missing values) are transparent: the map's background,
// a grey that the scale never uses, shows through, and a saved PNG keeps them empty.
import type { VariableEncoding } from '../../../src/dataset.js'
import type { Grid } from './dataset.js'
import { dataCell, type MapLayout } from './map-layout.js'

export type Rgb = readonly [number, number, number]
/** A colour with its opacity (0 = transparent, 255 = opaque), as a canvas stores a pixel. */
export type Rgba = readonly [number, number, number, number]

/** Behind the map, seen through NaN (no data) cells: a neutral grey, far from every viridis colour. */
export const NAN_COLOUR: Rgb = [200, 200, 200]
/** A NaN cell's pixel. */
export const NO_DATA: Rgba = [0, 0, 0, 0]

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

/** The values at the two ends of the scale. */
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

/** The pixel `value` gets on `range`, opaque; a flat slice sits mid-scale; NaN is transparent. */
export function valueColour(value: number, range: ValueRange | undefined): Rgba {
  if (!Number.isFinite(value) || range === undefined) return NO_DATA
  const span = range.max - range.min
  return [...scaleColour(span === 0 ? 0.5 : (value - range.min) / span), 255]
}

/** Largest size of the map on screen; small grids are scaled up to it, large ones down. */
const MAX_WIDTH = 640
const MAX_HEIGHT = 480

/**
 * The range fixed by the variable's attributes, CF's `valid_min`/`valid_max` or `valid_range`, else
 * `actual_range`, in the units the map shows: CF gives them in the packed (stored) units, so a
 * variable with `scale_factor`/`add_offset` has them unpacked the same way.
 */
export function attributeRange(
  attributes: Readonly<Record<string, unknown>>,
  encoding?: Pick<VariableEncoding, 'scaleFactor' | 'addOffset'>,
): ValueRange | undefined {
  const pair = (value: unknown): ValueRange | undefined =>
    Array.isArray(value) && value.length === 2 ? orderedRange(value[0], value[1]) : undefined
  const stored =
    orderedRange(attributes.valid_min, attributes.valid_max) ??
    pair(attributes.valid_range) ??
    pair(attributes.actual_range)
  const { scaleFactor = 1, addOffset = 0 } = encoding ?? {}
  if (stored === undefined || (scaleFactor === 1 && addOffset === 0)) return stored
  const [a, b] = [stored.min * scaleFactor + addOffset, stored.max * scaleFactor + addOffset]
  // A negative scale_factor turns the range around.
  return orderedRange(Math.min(a, b), Math.max(a, b))
}

function orderedRange(min: unknown, max: unknown): ValueRange | undefined {
  if (typeof min !== 'number' || typeof max !== 'number') return undefined
  return Number.isFinite(min) && Number.isFinite(max) && min <= max ? { min, max } : undefined
}

/** Draws `grid` onto `canvas` filling it, each cell where `layout` puts it. */
export function drawColourMap(
  canvas: HTMLCanvasElement,
  grid: Grid,
  range: ValueRange | undefined,
  layout: MapLayout,
): void {
  const zoom = Math.min(MAX_WIDTH / grid.width, MAX_HEIGHT / grid.height)
  canvas.width = Math.max(1, Math.round(grid.width * zoom))
  canvas.height = Math.max(1, Math.round(grid.height * zoom))

  // One pixel per cell off screen, then scaled without smoothing so every cell keeps its colour.
  const cells = document.createElement('canvas')
  cells.width = grid.width
  cells.height = grid.height
  const image = new ImageData(grid.width, grid.height)
  for (let screenRow = 0; screenRow < grid.height; screenRow++) {
    const row = layout.rows[screenRow] as number
    for (let screenColumn = 0; screenColumn < grid.width; screenColumn++) {
      const col = layout.columns[screenColumn] as number
      image.data.set(
        valueColour(grid.values[row * grid.width + col] as number, range),
        (screenRow * grid.width + screenColumn) * 4,
      )
    }
  }
  cells.getContext('2d')?.putImageData(image, 0, 0)
  const context = canvas.getContext('2d')
  if (context === null) throw new Error('this browser gives no 2-D canvas context')
  context.imageSmoothingEnabled = false
  context.drawImage(cells, 0, 0, canvas.width, canvas.height)
}

/** The data cell under a point of the canvas (CSS pixels relative to its top-left corner). */
export function cellAt(
  canvas: HTMLCanvasElement,
  layout: MapLayout,
  offsetX: number,
  offsetY: number,
): { x: number; y: number } {
  const rect = canvas.getBoundingClientRect()
  const clamp = (v: number, size: number): number => Math.min(size - 1, Math.max(0, Math.floor(v)))
  const column = clamp((offsetX / rect.width) * layout.width, layout.width)
  return dataCell(layout, column, clamp((offsetY / rect.height) * layout.height, layout.height))
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
