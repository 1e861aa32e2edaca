// Tick marks and labels along the map's bottom (x) and left (y) sides, at round coordinate values:
// degrees E/W and N/S for longitude and latitude, plain numbers otherwise.
import { formatValue } from './format.js'
import { axisPosition, type ScreenAxis } from './map-layout.js'

export interface Tick {
  readonly value: number
  /** Along the side, 0 = left (top) edge of the map, 1 = right (bottom) edge. */
  readonly fraction: number
  readonly label: string
}

const DEGREE_STEPS = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 20, 30, 45, 60, 90]

/** Round values along `axis`, about `wanted` of them, each where it falls on the map, in screen order. */
export function ticks(axis: ScreenAxis, wanted = 6): Tick[] {
  const n = axis.values.length
  if (n === 0 || !axis.values.every(Number.isFinite)) return []
  // The values at the map's two edges, half a cell beyond the outer centres.
  const edge = (fraction: number): number => valueAt(axis, fraction * n)
  const [low, high] = [edge(0), edge(1)].sort((a, b) => a - b) as [number, number]
  const step = roundStep((high - low) / wanted, axis.kind !== 'other')
  if (!(step > 0)) return []
  const found: Tick[] = []
  for (let k = Math.ceil(low / step); k * step <= high && found.length < 100; k++) {
    const value = Number((k * step).toPrecision(12))
    const fraction = axisPosition(axis, value) / n
    if (fraction >= 0 && fraction <= 1) found.push({ value, fraction, label: tickLabel(axis.kind, value) })
  }
  return found.sort((a, b) => a.fraction - b.fraction)
}

/** The coordinate value `position` cells from the leading edge (linear between the end centres). */
function valueAt(axis: ScreenAxis, position: number): number {
  const values = axis.values
  const n = values.length
  if (n === 1) return values[0] as number
  const [first, last] = [values[0] as number, values[n - 1] as number]
  return first + ((position - 0.5) * (last - first)) / (n - 1)
}

function roundStep(rough: number, degrees: boolean): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return Number.NaN
  if (degrees && rough <= 90) return DEGREE_STEPS.find((step) => step >= rough) ?? 90
  const power = 10 ** Math.floor(Math.log10(rough))
  return ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power
}

/** 90°W, 0°, 180°, 30°S; longitudes past 180° (a 0–360 axis) are named west. */
export function tickLabel(kind: ScreenAxis['kind'], value: number): string {
  const number = (v: number): string => String(Number(v.toPrecision(6)))
  if (kind === 'longitude') {
    const lon = ((((value + 180) % 360) + 360) % 360) - 180
    if (lon === 0 || lon === -180) return `${lon === 0 ? 0 : 180}°`
    return `${number(Math.abs(lon))}°${lon < 0 ? 'W' : 'E'}`
  }
  if (kind === 'latitude') return value === 0 ? '0°' : `${number(Math.abs(value))}°${value < 0 ? 'S' : 'N'}`
  return formatValue(value)
}

/** Fills `container` with one positioned label per tick (CSS puts x ticks below, y ticks left). */
export function renderTicks(container: HTMLElement, axis: ScreenAxis, side: 'x' | 'y'): void {
  container.replaceChildren(
    ...ticks(axis, side === 'x' ? 8 : 6).map((tick) => {
      const span = document.createElement('span')
      span.className = 'tick'
      span.textContent = tick.label
      span.dataset.value = String(tick.value)
      span.style[side === 'x' ? 'left' : 'top'] = `${(tick.fraction * 100).toFixed(3)}%`
      return span
    }),
  )
  container.dataset.axis = axis.name
}
