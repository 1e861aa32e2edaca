// The viewer's map geometry and exports in Node, without a browser: where cells, ticks and
// coastlines go (recentred longitudes, north up), the colour range from attributes, time labels.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { tickLabel, ticks } from '../examples/viewer/src/axes.js'
import { coastPieces } from '../examples/viewer/src/coastlines.js'
import { attributeRange, valueColour } from '../examples/viewer/src/colour-map.js'
import type { Coordinate } from '../examples/viewer/src/dataset.js'
import { timeText } from '../examples/viewer/src/format.js'
import { axisPosition, dataCell, mapLayout, screenCell } from '../examples/viewer/src/map-layout.js'
import { CFDatetime } from '../src/dataset.js'

const coordinate = (name: string, units: string, values: number[]): Coordinate => ({
  name,
  units,
  values: Float64Array.from(values),
  label: (index) => String(values[index]),
  attributes: { units },
})
const range = (from: number, step: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => from + i * step)

function layoutOf(lons: number[], lats: number[], recentre = true) {
  return mapLayout(
    { width: lons.length, height: lats.length },
    { dim: 'lon', coordinate: coordinate('lon', 'degrees_east', lons) },
    { dim: 'lat', coordinate: coordinate('lat', 'degrees_north', lats) },
    recentre,
  )
}

describe('viewer map layout', () => {
  it('shows a global 0–360 grid from −180°, 180° itself at the left edge', () => {
    const layout = layoutOf(range(0, 10, 36), range(-85, 10, 18))
    assert.equal(layout.recentred, true)
    assert.deepEqual(Array.from(layout.x.values), range(-180, 10, 36))
    assert.deepEqual(Array.from(layout.columns), [...range(18, 1, 18), ...range(0, 1, 18)])
    // North up: the last (northernmost) row on top.
    assert.deepEqual(Array.from(layout.rows), range(17, -1, 18))
    assert.deepEqual(dataCell(layout, 0, 0), { x: 18, y: 17 })
    assert.deepEqual(screenCell(layout, { x: 3, y: 12 }), { column: 21, row: 5 })
  })

  it('keeps the stored order when asked, for −180–180 grids, and where recentring would open a gap', () => {
    assert.equal(layoutOf(range(0, 10, 36), [0, 1], false).recentred, false)
    const already = layoutOf(range(-180, 10, 36), [0, 1])
    assert.equal(already.recentred, false)
    assert.deepEqual(Array.from(already.columns), range(0, 1, 36))
    // 100..300°E is a regional grid: as −180..−60 and 100..180 it would have a hole in the middle.
    assert.equal(layoutOf(range(100, 10, 21), [0, 1]).recentred, false)
    // 0..60 and 300..350 (a grid across Greenwich stored 0–360) becomes one run, −60..60.
    const across = layoutOf([...range(0, 10, 7), ...range(300, 10, 6)], [0, 1])
    assert.deepEqual(Array.from(across.x.values), range(-60, 10, 13))
  })

  it('keeps rows stored north to south in their order', () => {
    assert.deepEqual(Array.from(layoutOf([0, 1], range(80, -20, 9)).rows), range(0, 1, 9))
  })

  it('places values along an axis linearly between centres, past the ends too', () => {
    const axis = { values: Float64Array.from(range(-180, 10, 36)) }
    assert.equal(axisPosition(axis, -180), 0.5)
    assert.equal(axisPosition(axis, -185), 0)
    assert.equal(axisPosition(axis, 175), 36)
    assert.equal(axisPosition(axis, 3), 18.8)
    const descending = { values: Float64Array.from([85, 75, 65]) }
    assert.equal(axisPosition(descending, 90), 0)
    assert.equal(axisPosition(descending, 70), 2)
  })

  it('puts ticks at round degrees with E/W and N/S names', () => {
    const layout = layoutOf(range(0, 10, 36), range(-85, 10, 18))
    const x = ticks(layout.x, 8)
    assert.deepEqual(
      x.map((t) => t.label),
      ['180°', '135°W', '90°W', '45°W', '0°', '45°E', '90°E', '135°E'],
    )
    for (const tick of x) assert.ok(Math.abs(tick.fraction - (tick.value + 185) / 360) < 1e-9)
    assert.deepEqual(
      ticks(layout.y, 6).map((t) => t.label),
      ['90°N', '60°N', '30°N', '0°', '30°S', '60°S', '90°S'],
    )
    assert.equal(tickLabel('longitude', 270), '90°W')
    assert.equal(tickLabel('longitude', 180), '180°')
    assert.equal(tickLabel('latitude', -37.5), '37.5°S')
    assert.equal(tickLabel('other', 850), '850')
  })
})

describe('viewer coastlines', () => {
  it('drops Natural Earth’s cut edges and unwraps lines across ±180°', () => {
    const pieces = coastPieces([
      [
        [179, -16],
        [-180, -16.5],
        [-179, -17],
      ],
      // Along the antimeridian cut, then along the pole: neither is a coast.
      [
        [170, -80],
        [180, -81],
        [180, -89.999],
        [100, -89.999],
        [90, -85],
      ],
    ])
    assert.deepEqual(pieces, [
      [
        [179, -16],
        [180, -16.5],
        [181, -17],
      ],
      [
        [170, -80],
        [180, -81],
      ],
      [
        [100, -89.999],
        [90, -85],
      ],
    ])
  })
})

describe('viewer colour range and CSV', () => {
  it('takes the colour range from valid_min/valid_max, valid_range or actual_range', () => {
    assert.deepEqual(attributeRange({ valid_min: 190, valid_max: 300 }), { min: 190, max: 300 })
    assert.deepEqual(attributeRange({ valid_range: [0, 1], actual_range: [5, 6] }), { min: 0, max: 1 })
    assert.deepEqual(attributeRange({ actual_range: [5, 6] }), { min: 5, max: 6 })
    assert.equal(attributeRange({ valid_min: 5 }), undefined)
    assert.equal(attributeRange({ valid_range: [2, 1] }), undefined)
    assert.equal(attributeRange({ valid_range: ['0', '1'] }), undefined)
  })

  it('unpacks the attribute range of a packed variable as its values are', () => {
    // CF gives valid_min/valid_max in the stored (packed) units.
    const packed = { valid_min: -200, valid_max: 200 }
    assert.deepEqual(attributeRange(packed, { scaleFactor: 0.5, addOffset: 10 }), { min: -90, max: 110 })
    assert.deepEqual(attributeRange(packed, { scaleFactor: -0.5, addOffset: undefined }), {
      min: -100,
      max: 100,
    })
    assert.deepEqual(attributeRange(packed, { scaleFactor: undefined, addOffset: undefined }), {
      min: -200,
      max: 200,
    })
  })

  it('leaves no-data cells transparent, draws values opaque', () => {
    assert.deepEqual(valueColour(Number.NaN, { min: 0, max: 1 }), [0, 0, 0, 0])
    assert.deepEqual(valueColour(1, undefined), [0, 0, 0, 0])
    assert.deepEqual(valueColour(0, { min: 0, max: 1 }), [68, 1, 84, 255])
    assert.deepEqual(valueColour(1, { min: 0, max: 1 }), [253, 231, 37, 255])
  })

  it('names times by their own calendar’s date, never through JS Date', () => {
    assert.equal(timeText(new CFDatetime(2001, 2, 30, 0, 0, 0, 0, '360_day')), '2001-02-30')
    assert.equal(timeText(new CFDatetime(2001, 2, 30, 6, 0, 0, 0, '360_day')), '2001-02-30 06:00')
    assert.equal(timeText(new CFDatetime(1900, 2, 28, 23, 59, 30, 0, 'noleap')), '1900-02-28 23:59:30')
    assert.equal(timeText(new CFDatetime(-500, 3, 1, 0, 0, 0, 0, 'julian')), '-0500-03-01')
  })
})
