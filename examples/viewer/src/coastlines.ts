// Coastlines from Natural Earth (the `world-atlas` package's land outlines, bundled by Vite and
// loaded on first use, never fetched from elsewhere), drawn over the map on a canvas of their own so
// the map keeps only data colours.
import { mesh } from 'topojson-client'
import type { GeometryObject, Topology } from 'topojson-specification'
import { axisPosition, type MapLayout } from './map-layout.js'

export const COAST_COLOUR = 'rgba(0, 0, 0, 0.85)'

type Lines = readonly (readonly (readonly number[])[])[]
const loaded = new Map<string, Promise<Lines>>()

/** Outlines at 1:110m for wide maps, 1:50m when the map spans less than 60° of longitude. */
function outlines(scale: '110m' | '50m'): Promise<Lines> {
  let lines = loaded.get(scale)
  if (lines === undefined) {
    const topology =
      scale === '110m' ? import('world-atlas/land-110m.json') : import('world-atlas/land-50m.json')
    lines = topology.then(({ default: land }: { default: Topology }) =>
      coastPieces(mesh(land, land.objects.land as GeometryObject).coordinates),
    )
    loaded.set(scale, lines)
  }
  return lines
}

/**
 * The outlines as drawable pieces. Natural Earth cuts land at the antimeridian and the South Pole:
 * the cut edges (along ±180°, along −90°) are not coasts and are dropped, and a line that steps
 * across ±180° is unwrapped (179° then 181°) instead of crossing the whole map.
 */
export function coastPieces(lines: Lines): number[][][] {
  const pieces: number[][][] = []
  for (const line of lines) {
    let piece: number[][] = []
    line.forEach(([lon = 0, lat = 0], i) => {
      const [rawLon = 0, rawLat = 0] = line[i - 1] ?? []
      const cutEdge =
        i > 0 && ((Math.abs(lon) === 180 && Math.abs(rawLon) === 180) || (lat < -89.9 && rawLat < -89.9))
      const last = piece.at(-1)
      if (last === undefined || cutEdge) {
        if (piece.length > 1) pieces.push(piece)
        piece = [[lon, lat]]
        return
      }
      const lastLon = last[0] as number
      piece.push([lon - 360 * Math.round((lon - lastLon) / 360), lat])
    })
    if (piece.length > 1) pieces.push(piece)
  }
  return pieces
}

/** Whether `layout` is a longitude/latitude grid, the only kind coastlines can be drawn on. */
export const isGeographic = (layout: MapLayout): boolean =>
  layout.x.kind === 'longitude' && layout.y.kind === 'latitude'

/**
 * Sizes `canvas` like `map` and draws the coastlines of `layout`'s area on it (clears it when the grid
 * is not longitude/latitude or `show` is false). Resolves with the outline scale drawn.
 */
export async function drawCoastlines(
  canvas: HTMLCanvasElement,
  map: HTMLCanvasElement,
  layout: MapLayout,
  show: boolean,
): Promise<string | undefined> {
  const draw = show && isGeographic(layout)
  const span = Math.abs((layout.x.values.at(-1) as number) - (layout.x.values[0] as number))
  const scale = span < 60 ? '50m' : '110m'
  const lines = draw ? await outlines(scale) : []
  canvas.width = map.width
  canvas.height = map.height
  const context = canvas.getContext('2d')
  if (context === null) throw new Error('this browser gives no 2-D canvas context')
  context.clearRect(0, 0, canvas.width, canvas.height)
  if (!draw) return undefined
  const toX = canvas.width / layout.width
  const toY = canvas.height / layout.height
  context.strokeStyle = COAST_COLOUR
  context.lineWidth = 1
  context.beginPath()
  // Natural Earth is in −180–180: drawn once a turn either way too, so a 0–360 map gets its east side.
  for (const turn of [-360, 0, 360]) {
    for (const line of lines) {
      line.forEach(([lon, lat], i) => {
        const px = axisPosition(layout.x, (lon as number) + turn) * toX
        const py = axisPosition(layout.y, lat as number) * toY
        if (i === 0) context.moveTo(px, py)
        else context.lineTo(px, py)
      })
    }
  }
  context.stroke()
  return scale
}
