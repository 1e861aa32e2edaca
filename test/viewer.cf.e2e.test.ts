// End to end, CF decoding in the browser viewer: a dataset written by the real py-hamt 3.6.0 with
// xarray into a real Kubo (test/interop/dataset_driver.py: a 360_day or noleap time axis, an int16
// variable with scale_factor/add_offset/_FillValue, latitude stored north to south), read by the
// viewer through Kubo's gateway and checked against xarray's own decoding of the same cells.
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { type Rgba, type ValueRange, valueColour, valueRange } from '../examples/viewer/src/colour-map.js'
import { formatValue } from '../examples/viewer/src/format.js'
import { type KuboDaemon, startKubo } from './helpers/kubo.js'
import { datasetDriver } from './helpers/python.js'
import { openViewerPage, type ViewerPage } from './helpers/viewer-page.js'

const artifacts = fileURLToPath(new URL('../test-artifacts', import.meta.url))
const WAIT_MS = 30_000
/** The set-up may build Kubo and install Chromium on a first run; each test then takes seconds. */
const SETUP = { timeout: 30 * 60_000 }
const TEST = { timeout: 180_000 }
const COLOUR_TOLERANCE = 2
/** With this origin, day 33 of the fixture's time axis is February 30 in 360_day, March 1 in noleap (2000 is a leap year). */
const UNITS = 'days since 2000-01-27'
/** The fixture's packed variable has a fill value at time 1, lat index 15, lon index 9 (dataset_driver.py). */
const [FILL_T, FILL_Y, FILL_X] = [1, 15, 9]

/** xarray's answer to one selection (dataset_driver.py `select`): values NaN as null, times as fields. */
type PyResult = {
  ok: boolean
  dims: string[]
  shape: number[]
  values: (number | null)[]
  coords: Record<string, (number | number[] | null)[]>
}

/** A cftime date's fields [y, m, d, H, M, S, us] as the calendar writes the day ('2000-02-30'). */
function dayOf(fields: number[]): string {
  const [year, month, day, ...time] = fields as [number, number, number, ...number[]]
  assert.ok(
    time.every((v) => v === 0),
    `the fixture's times are midnights, got ${fields}`,
  )
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`
}

const numbers = (values: (number | null)[]): number[] => values.map((v) => v ?? Number.NaN)

describe('browser viewer on CF-encoded data (py-hamt + xarray writer, Kubo gateway, Chromium)', () => {
  let kubo: KuboDaemon | undefined
  let viewer: ViewerPage | undefined
  let page: Page

  before(async () => {
    kubo = await startKubo()
    viewer = await openViewerPage(WAIT_MS)
    page = viewer.page
  }, SETUP)
  after(async () => {
    await viewer?.close()
    await kubo?.stop()
  })

  const rendered = async (selector: string): Promise<void> => {
    await page.waitForSelector(`#map[data-rendered="${selector}"]`, { timeout: WAIT_MS })
    assert.deepEqual(viewer?.pageErrors, [], 'the page logged errors')
  }

  for (const calendar of ['360_day', 'noleap'] as const) {
    it(
      `shows ${calendar} dates, unpacked values and transparent fill cells as xarray decodes them`,
      TEST,
      async () => {
        const daemon = kubo as KuboDaemon
        const request = {
          rpcUrl: daemon.rpcUrl,
          gatewayUrl: daemon.gatewayUrl,
          layout: 'hamt',
          calendar,
          timeUnits: UNITS,
        }
        const { root } = await datasetDriver<{ root: string }>('write', request)
        const [first, atFill, series] = (
          await datasetDriver<{ results: PyResult[] }>('select', {
            ...request,
            root,
            selections: [
              { op: 'isel', var: 'packed', indexers: { time: 0 } },
              { op: 'isel', var: 'packed', indexers: { time: FILL_T } },
              { op: 'isel', var: 'packed', indexers: { lat: FILL_Y, lon: FILL_X } },
            ],
          })
        ).results as [PyResult, PyResult, PyResult]
        for (const result of [first, atFill, series]) assert.ok(result.ok, JSON.stringify(result))
        const days = (series.coords.time as number[][]).map(dayOf)
        const lats = numbers(first.coords.lat as (number | null)[])
        const lons = numbers(first.coords.lon as (number | null)[])
        assert.ok(lats[0]! > lats.at(-1)!, 'latitude is stored north to south')
        const febThirty = days.indexOf('2000-02-30')
        if (calendar === '360_day') assert.ok(febThirty > 0, `a February 30 among ${days}`)
        else assert.ok(days.includes('2000-03-01') && febThirty < 0, `noleap skips Feb 29: ${days}`)

        // Every time step is labelled with xarray's date for it, in its own calendar.
        const query = new URLSearchParams({ gateway: daemon.gatewayUrl, root, var: 'packed', t: '0' })
        await page.goto(`${viewer?.url}/?${query}`, { timeout: WAIT_MS })
        await rendered('packed@0')
        assert.equal(await page.textContent('#calendar'), `${calendar} calendar`)
        for (const [t, day] of days.entries()) {
          await page.locator('#time').fill(String(t))
          await rendered(`packed@${t}`)
          assert.equal(await page.textContent('#time-label'), day, `time step ${t}`)
          assert.equal(await page.getAttribute('#time', 'aria-valuetext'), `${day} ${calendar} calendar`)
        }

        // Colours: on the first step's range of xarray's decoded values; fill cells transparent.
        const gatewayRequests = (): number =>
          viewer!.requested.filter((url) => url.startsWith(daemon.gatewayUrl)).length
        await page.locator('#time').fill('0')
        await rendered('packed@0')
        let before = gatewayRequests()
        await page.locator('#time').fill(String(FILL_T))
        await rendered(`packed@${FILL_T}`)
        // Steps 0 and 1 share their chunks (7 steps a chunk): the same blocks are read for either.
        const perStep = gatewayRequests() - before
        const range = valueRange(numbers(first.values))!
        assert.equal(await page.textContent('#legend-min'), formatValue(range.min))
        assert.equal(await page.textContent('#legend-max'), formatValue(range.max))
        const [height, width] = atFill.shape as [number, number]
        assert.equal(atFill.values[FILL_Y * width + FILL_X], null, 'xarray masks the fill value')
        await assertMap(page, numbers(atFill.values), { width, height, lons }, range)

        // A click on the cell names its decoded coordinates and xarray's value there.
        await clickCell(page, { width, height, lons }, FILL_Y, FILL_X)
        await page.waitForSelector(`#chart[data-variable="packed"][data-x="${FILL_X}"][data-y="${FILL_Y}"]`)
        const shownLon = lons[FILL_X]! >= 180 ? lons[FILL_X]! - 360 : lons[FILL_X]!
        const where = `lat ${formatValue(lats[FILL_Y]!)}, lon ${formatValue(shownLon)}`
        assert.equal(await page.textContent('#point'), `time ${days[FILL_T]}, ${where}: no data`)
        assert.equal(await page.getAttribute('#point', 'data-value'), 'NaN')
        before = gatewayRequests()
        await page.locator('#time').fill('0')
        await rendered('packed@0')
        await page.waitForSelector('#chart[data-current="0"]')
        // The point's series is along time: a new step moves the chart's marker without reading it again.
        assert.equal(gatewayRequests() - before, perStep, 'requests for a time step with a point shown')
        const value = series.values[0]!
        assert.equal(typeof value, 'number')
        assert.equal(Number(await page.getAttribute('#point', 'data-value')), value)
        assert.equal(await page.textContent('#point'), `time ${days[0]}, ${where}: ${formatValue(value)} mm`)

        // The CSV of the series: xarray's dates, the point's stored coordinates, xarray's values.
        const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')])
        const csv = await readFile((await file.path())!, 'utf8')
        const rows = days.map(
          (day, t) => `${day}T00:00:00,${lats[FILL_Y]},${lons[FILL_X]},${series.values[t] ?? ''}`,
        )
        assert.equal(csv, `time,lat,lon,packed\n${rows.join('\n')}\n`)
        assert.equal(file.suggestedFilename(), `packed_lat${lats[FILL_Y]}_lon${lons[FILL_X]}.csv`)

        // The encoding the values were decoded with, the fill value as a number.
        await page.click('#attributes-panel summary')
        const encoding = await page.$$eval('#attributes section:nth-of-type(3) tr', (trs) =>
          trs.map((tr) => [...tr.children].map((c) => c.textContent)),
        )
        assert.deepEqual(encoding, [
          ['_FillValue', '-32767'],
          ['add_offset', '10'],
          ['dtype', 'int16'],
          ['scale_factor', '0.5'],
        ])
        if (calendar === '360_day') {
          await page.locator('#time').fill(String(FILL_T))
          await rendered(`packed@${FILL_T}`)
          await mkdir(artifacts, { recursive: true })
          await page.screenshot({ path: join(artifacts, 'viewer-cf.png'), fullPage: true })
          console.log(`viewer screenshot: ${join(artifacts, 'viewer-cf.png')}`)
        }
        await page.click('#attributes-panel summary')
      },
    )
  }
})

type Layout = { width: number; height: number; lons: number[] }

/**
 * The data column of each screen column: longitudes 0–360 shown from −180°. Latitude runs north to
 * south, so screen row = data row.
 */
function screenColumns({ lons }: Layout): number[] {
  const shown = lons.map((lon) => (lon >= 180 ? lon - 360 : lon))
  return shown.map((_, i) => i).sort((a, b) => shown[a]! - shown[b]!)
}

async function clickCell(page: Page, layout: Layout, y: number, x: number): Promise<void> {
  const box = (await page.locator('#map').boundingBox())!
  const column = screenColumns(layout).indexOf(x)
  await page.locator('#map').click({
    position: {
      x: ((column + 0.5) * box.width) / layout.width,
      y: ((y + 0.5) * box.height) / layout.height,
    },
  })
}

/** Every cell's pixel against the colour of xarray's value there (transparent where it is NaN). */
async function assertMap(page: Page, values: number[], layout: Layout, range: ValueRange): Promise<void> {
  const { width, height } = layout
  const cells = (await page.evaluate(
    ([nx, ny]) => {
      const canvas = document.getElementById('map') as HTMLCanvasElement
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const found: number[][] = []
      for (let row = 0; row < ny; row++) {
        for (let col = 0; col < nx; col++) {
          const at =
            (Math.floor(((row + 0.5) * canvas.height) / ny) * canvas.width +
              Math.floor(((col + 0.5) * canvas.width) / nx)) *
            4
          found.push([data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!])
        }
      }
      return found
    },
    [width, height] as const,
  )) as unknown as Rgba[]
  const columns = screenColumns(layout)
  const wrong: string[] = []
  let transparent = 0
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      const value = values[row * width + columns[column]!]!
      const want = valueColour(value, range)
      const got = cells[row * width + column]!
      if (got[3] === 0) transparent++
      if (!want.every((c, k) => Math.abs(c - got[k]!) <= COLOUR_TOLERANCE))
        wrong.push(`cell ${columns[column]},${row} = ${value}: want ${want}, got ${got}`)
    }
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} cells in the wrong colour`)
  assert.equal(transparent, values.filter(Number.isNaN).length, 'transparent cells = fill cells')
}
