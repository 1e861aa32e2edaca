// End to end, the viewer's map tools in headless Chromium: a fixed colour range across steps, the
// level selector of a 4-D variable, 0–360 longitudes shown −180–180 with ticks, Natural Earth
// coastlines, the attributes panel, and the CSV and PNG downloads. The dataset is generated here
// with zarrita on a ts-hamt HAMT and served from memory by a loopback trustless gateway.
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import type { Page } from 'playwright-core'
import * as zarr from 'zarrita'
import { type Rgba, type ValueRange, valueColour } from '../examples/viewer/src/colour-map.js'
import { HAMT, openZarrRoot, TrustlessGatewayStore, ZarrHAMTStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { serve } from './helpers/loopback.js'
import { openViewerPage, type ViewerPage } from './helpers/viewer-page.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const artifacts = join(repo, 'test-artifacts')
const WAIT_MS = 30_000
const SETUP = { timeout: 15 * 60_000 }
const TEST = { timeout: 120_000 }
const COLOUR_TOLERANCE = 2

// The grid: 10° cells, longitudes 0..350 east (0–360), latitudes -85..85 (south to north).
const [NT, NZ, NY, NX] = [5, 3, 18, 36]
const LONS = Array.from({ length: NX }, (_, i) => i * 10)
const LATS = Array.from({ length: NY }, (_, i) => -85 + i * 10)
const TIMES = [0, 31, 60, 91, 121]
const LEVELS = [1000, 850, 500]
/** ramp: steps with different ranges (step t spans 0..10(t+1)); no range attributes. */
const ramp = (t: number, y: number, x: number): number => ((y * NX + x) % 11) * (t + 1)
/** ta: each level its own band, inside valid_min/valid_max 190..300. */
const ta = (t: number, z: number, y: number, x: number): number => 200 + 40 * z + ((x + y) % 10) + t
const TA_RANGE = { min: 190, max: 300 }
/** Attributes are the dataset writer's text: shown as text, never as markup. */
const HOSTILE_TEXT = '<img src="x" onerror="document.body.dataset.pwned = 1">'
/** west: 1 on the western hemisphere (longitude past 180°E), 0 on the eastern. */
const west = (_y: number, x: number): number => ((LONS[x] as number) > 180 ? 1 : 0)

/**
 * Where the viewer must draw each data cell, worked out here rather than taken from it: recentred,
 * screen column i shows longitude -180 + 10i, stored at column (i + 18) % 36; north up, screen row r
 * shows data row 17 - r.
 */
const dataColumn = (column: number, recentred: boolean): number =>
  recentred ? (column + NX / 2) % NX : column
const dataRow = (row: number): number => NY - 1 - row

async function writeDataset(store: CidMemoryStore): Promise<string> {
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const root = zarr.root(new ZarrHAMTStore(map))
  const group = await zarr.create(root, {
    attributes: {
      title: 'viewer features',
      Conventions: 'CF-1.8',
      history: HOSTILE_TEXT,
      source: 'test/viewer.features.e2e',
    },
  })
  const put = async (
    name: string,
    dims: string[],
    fill: (index: number[]) => number,
    attributes: Record<string, unknown>,
  ): Promise<void> => {
    const sizes: Record<string, number> = { time: NT, level: NZ, lat: NY, lon: NX }
    const shape = dims.map((dim) => sizes[dim] as number)
    const array = await zarr.create(group.resolve(name), {
      shape,
      chunkShape: shape.map((size, i) => (i < dims.length - 2 ? 1 : size)),
      dtype: 'float64',
      dimensionNames: dims,
      attributes,
      fillValue: Number.NaN as never,
      codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    })
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1))
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    data.forEach((_, flat) => {
      data[flat] = fill(stride.map((s, i) => Math.floor(flat / s) % (shape[i] as number)))
    })
    await zarr.set(array, null, { data, shape, stride } as never)
  }
  await put('time', ['time'], ([t]) => TIMES[t!]!, { units: 'days since 2000-01-01', calendar: 'standard' })
  await put('level', ['level'], ([z]) => LEVELS[z!]!, { units: 'hPa', positive: 'down' })
  await put('lat', ['lat'], ([y]) => LATS[y!]!, { units: 'degrees_north' })
  await put('lon', ['lon'], ([x]) => LONS[x!]!, { units: 'degrees_east' })
  await put('ramp', ['time', 'lat', 'lon'], ([t, y, x]) => ramp(t!, y!, x!), { units: '1' })
  await put('ta', ['time', 'level', 'lat', 'lon'], ([t, z, y, x]) => ta(t!, z!, y!, x!), {
    units: 'K',
    long_name: 'air temperature',
    valid_min: TA_RANGE.min,
    valid_max: TA_RANGE.max,
  })
  await put('west', ['lat', 'lon'], ([y, x]) => west(y!, x!), { units: '1', valid_range: [0, 1] })
  return String(await map.flush())
}

describe('browser viewer map tools, end to end (Vite build, Chromium, loopback gateway)', () => {
  let viewer: ViewerPage | undefined
  let gatewayUrl: string
  let root: string
  let page: Page
  let pageErrors: string[]
  /** Every URL the page asked for. */
  let requested: string[]

  before(async () => {
    const store = await CidMemoryStore.create()
    root = await writeDataset(store)
    // A trustless gateway: raw blocks by CID, readable cross-origin as Kubo's are.
    const gateway = await serve((req, res) => {
      const match = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')
      const cors = { 'access-control-allow-origin': '*' }
      if (match === null) return void res.writeHead(404, cors).end()
      store.load(CID.parse(match[1]!)).then(
        (bytes) => res.writeHead(200, { ...cors, 'content-type': 'application/vnd.ipld.raw' }).end(bytes),
        () => res.writeHead(404, cors).end(),
      )
    })
    gatewayUrl = gateway.url
    viewer = await openViewerPage(WAIT_MS)
    ;({ page, pageErrors, requested } = viewer)
  }, SETUP)

  after(() => viewer?.close())

  const open = async (query: Record<string, string>, rendered: string, extra = ''): Promise<void> => {
    const search = new URLSearchParams({ gateway: gatewayUrl, root, ...query })
    await page.goto(`${viewer?.url}/?${search}`, { timeout: WAIT_MS })
    await renderedAs(rendered, extra)
  }
  const renderedAs = async (rendered: string, extra = ''): Promise<void> => {
    await page.waitForSelector(`#map[data-rendered="${rendered}"]${extra}`, { timeout: WAIT_MS })
    assert.deepEqual(pageErrors, [], 'the page logged errors')
  }

  /** Every screen cell's colour against the colour of the value the layout above puts there. */
  const assertMap = async (value: (y: number, x: number) => number, range: ValueRange, recentred = true) => {
    const cells = await sampleCells(page)
    const wrong: string[] = []
    for (let row = 0; row < NY; row++) {
      for (let column = 0; column < NX; column++) {
        const [y, x] = [dataRow(row), dataColumn(column, recentred)]
        const want = valueColour(value(y, x), range)
        const got = cells[row * NX + column]!
        if (!want.every((c, k) => Math.abs(c - got[k]!) <= COLOUR_TOLERANCE)) {
          wrong.push(`screen ${column},${row} (data ${x},${y} = ${value(y, x)}): want ${want}, got ${got}`)
        }
      }
    }
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} cells in the wrong colour`)
  }

  it('keeps the first step’s colour range at every step, and a range the user sets', TEST, async () => {
    await open({ var: 'ramp' }, 'ramp@0')
    const first = { min: 0, max: 10 }
    assert.equal(await page.getAttribute('#map', 'data-range'), '0,10')
    assert.match((await page.textContent('#range-source')) ?? '', /first step/)
    await assertMap((y, x) => ramp(0, y, x), first)
    const before = await sampleCells(page)

    await page.locator('#time').fill('1')
    await renderedAs('ramp@1')
    await assertMap((y, x) => ramp(1, y, x), first)
    // A value present at both steps (6 = 6 x 1 = 3 x 2) has one colour, though step 1 spans 0..20.
    const later = await sampleCells(page)
    const colourOf6 = (cells: Rgba[], t: number): Set<string> => {
      const found = new Set<string>()
      for (let i = 0; i < cells.length; i++) {
        const [row, column] = [Math.floor(i / NX), i % NX]
        if (ramp(t, dataRow(row), dataColumn(column, true)) === 6) found.add(String(cells[i]))
      }
      return found
    }
    assert.deepEqual([...colourOf6(before, 0)], [...colourOf6(later, 1)])
    assert.equal(await page.textContent('#legend-max'), '10')

    await page.locator('#range-min').fill('0')
    await page.locator('#range-max').fill('20')
    await page.click('#range-form button[type="submit"]')
    await renderedAs('ramp@1', '[data-range="0,20"]')
    await assertMap((y, x) => ramp(1, y, x), { min: 0, max: 20 })
    await page.locator('#time').fill('2')
    await renderedAs('ramp@2', '[data-range="0,20"]')
    await assertMap((y, x) => ramp(2, y, x), { min: 0, max: 20 })
    assert.match(page.url(), /vmin=0&vmax=20/)

    await page.click('#range-reset')
    await renderedAs('ramp@2', '[data-range="0,10"]')
    await assertMap((y, x) => ramp(2, y, x), first)
  })

  it('selects the level of a 4-D variable, colours on its valid_min/valid_max', TEST, async () => {
    await open({ var: 'ta', t: '1' }, 'ta@1,0')
    await assertMap((y, x) => ta(1, 0, y, x), TA_RANGE)
    const level = page.locator('#extra-dims select[data-dim="level"]')
    assert.deepEqual(await level.locator('option').allTextContents(), ['1000 hPa', '850 hPa', '500 hPa'])
    await level.selectOption('2')
    await renderedAs('ta@1,2')
    await assertMap((y, x) => ta(1, 2, y, x), TA_RANGE)
    assert.equal(await page.getAttribute('#map', 'data-range'), '190,300')
    assert.match(page.url(), /at\.level=2/)
    // The level stays while the time step moves.
    await page.locator('#time').fill('4')
    await renderedAs('ta@4,2')
    await assertMap((y, x) => ta(4, 2, y, x), TA_RANGE)
  })

  it('shows 0–360 longitudes as −180–180, the western hemisphere on the left, with ticks', TEST, async () => {
    await open({ var: 'west' }, 'west@', '')
    assert.equal(await page.getAttribute('#map', 'data-recentred'), 'true')
    await assertMap(west, { min: 0, max: 1 })
    // Ticks where the degrees fall: screen edges are -185° and 175° (E), 90°N and 90°S.
    const xTicks = await tickPositions(page, 'x-ticks')
    for (const [label, lon] of [
      ['90°W', -90],
      ['0°', 0],
      ['90°E', 90],
    ] as const) {
      assert.ok(Math.abs(xTicks[label]! - (lon + 185) / 360) < 0.002, `${label} at ${xTicks[label]}`)
    }
    const yTicks = await tickPositions(page, 'y-ticks')
    assert.ok(Math.abs(yTicks['60°N']! - 30 / 180) < 0.002, `60°N at ${yTicks['60°N']}`)
    assert.ok(Math.abs(yTicks['30°S']! - 120 / 180) < 0.002, `30°S at ${yTicks['30°S']}`)

    await page.uncheck('#recentre')
    await renderedAs('west@', '[data-recentred="false"]')
    await assertMap(west, { min: 0, max: 1 }, false)
    const stored = await tickPositions(page, 'x-ticks')
    assert.ok(Math.abs(stored['90°W']! - (270 + 5) / 360) < 0.002, `90°W at ${stored['90°W']}`)
    await page.check('#recentre')
    await renderedAs('west@', '[data-recentred="true"]')
  })

  it('draws Natural Earth coastlines where the coasts are', TEST, async () => {
    await open({ var: 'west' }, 'west@', '[data-coast="110m"]')
    // At 20°S the coast is at 70.2°W (Chile) and 40.1°W (Brazil), with nothing in between.
    const along20S = await coastRuns(page, -20, -80, -30)
    const at = (lon: number) => (run: [number, number]) => run[0] >= lon - 1.5 && run[1] <= lon + 1.5
    assert.deepEqual(
      [along20S.filter(at(-70.2)).length, along20S.filter(at(-40.1)).length, along20S.length],
      [1, 1, 2],
      `coast pixels at 20°S: ${JSON.stringify(along20S)}`,
    )
    assert.deepEqual(await coastRuns(page, -40, -170, -80), [], 'the South Pacific at 40°S has no coast')
    // Natural Earth's cuts at ±180° are not coasts: no line across the map at Fiji (16.5°S) either.
    for (const lat of [-16, -16.5, -17])
      assert.deepEqual(await coastRuns(page, lat, -175, -80), [], `${lat}°`)
    // The map underneath keeps its data colours.
    await assertMap(west, { min: 0, max: 1 })

    // The outlines came from the viewer's own build (a chunk of their own), nothing from elsewhere.
    assert.ok(
      requested.some((url) => /\/assets\/land-110m-[\w-]+\.js$/.test(url) && url.startsWith(viewer!.url)),
      'the 1:110m outlines were loaded from the build',
    )
    assert.deepEqual(
      requested.filter((url) => !url.startsWith(viewer!.url) && !url.startsWith(gatewayUrl)),
      [],
    )

    await page.uncheck('#coastlines')
    await renderedAs('west@', '[data-coast=""]')
    assert.deepEqual(await coastRuns(page, -20, -80, -30), [])
    await page.check('#coastlines')
    await renderedAs('west@', '[data-coast="110m"]')
  })

  it('lists the global and the variable’s attributes', TEST, async () => {
    await open({ var: 'ta' }, 'ta@0,0')
    await page.click('#attributes-panel summary')
    const rows = await page.$$eval('#attributes section', (sections) =>
      sections.map((section) => ({
        title: section.querySelector('h3')?.textContent,
        rows: [...section.querySelectorAll('tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
      })),
    )
    assert.equal(rows[0]?.title, 'Dataset: viewer features')
    assert.deepEqual(rows[0]?.rows, [
      ['Conventions', 'CF-1.8'],
      ['history', HOSTILE_TEXT],
      ['source', 'test/viewer.features.e2e'],
      ['title', 'viewer features'],
    ])
    assert.equal(await page.$$eval('#attributes img', (images) => images.length), 0)
    assert.equal(await page.getAttribute('body', 'data-pwned'), null)
    assert.equal(rows[1]?.title, 'Variable ta (time, level, lat, lon)')
    assert.deepEqual(rows[1]?.rows, [
      ['long_name', 'air temperature'],
      ['units', 'K'],
      ['valid_max', '300'],
      ['valid_min', '190'],
    ])
  })

  it('downloads the clicked point’s series as CSV, equal to what the library reads', TEST, async () => {
    await open({ var: 'ta', 'at.level': '2' }, 'ta@0,2')
    const [x, y] = [3, 12]
    // Longitude 30°E is screen column 21; latitude 35°N (data row 12) is screen row 5.
    const [column, row] = [21, 5]
    assert.equal(dataColumn(column, true), x)
    const box = (await page.locator('#map').boundingBox())!
    await page.locator('#map').click({
      position: { x: ((column + 0.5) * box.width) / NX, y: ((row + 0.5) * box.height) / NY },
    })
    await page.waitForSelector(`#chart[data-variable="ta"][data-x="${x}"][data-y="${dataRow(row)}"]`)
    // The point's coordinates as the selectors show them (time decoded, the level with its units).
    assert.equal(
      await page.textContent('#point'),
      `time 2000-01-01, level 500 hPa, lat 35, lon 30: ${ta(0, 2, y, x)} K`,
    )
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')])
    const csv = await readFile((await file.path())!, 'utf8')
    assert.equal(file.suggestedFilename(), 'ta_level500_lat35_lon30.csv')

    // The library's read of the same point, through the same gateway.
    const store = new TrustlessGatewayStore({ gateways: gatewayUrl })
    const { store: zarrStore } = await openZarrRoot(root, { store })
    const array = await zarr.open(zarr.root(zarrStore).resolve('ta'), { kind: 'array' })
    const { data } = await zarr.get(array, [null, 2, y, x])
    const series = Array.from(data as Float64Array)
    assert.deepEqual(
      series,
      TIMES.map((_, t) => ta(t, 2, y, x)),
    )
    // Times as cftime's isoformat writes them (the library's CSV), computed here with JS Date (standard calendar).
    const day = (days: number): string => new Date(Date.UTC(2000, 0, 1 + days)).toISOString().slice(0, 19)
    const expected = [
      'time,level,lat,lon,ta',
      ...series.map((value, t) => `${day(TIMES[t]!)},500,35,30,${value}`),
    ]
    assert.equal(csv, `${expected.join('\n')}\n`)

    // Shown in stored order (0–360), the marker follows the point to screen column 3.
    await page.uncheck('#recentre')
    await renderedAs('ta@0,2', '[data-recentred="false"]')
    const marker = await page.$eval('#marker', (m) => Number.parseFloat((m as HTMLElement).style.left))
    assert.ok(Math.abs(marker - (3.5 / NX) * (box.width - 2)) < 1, `marker at ${marker}px`)
    assert.match(
      (await page.textContent('#point')) ?? '',
      /^time 2000-01-01, level 500 hPa, lat 35, lon 30: /,
    )
    await page.check('#recentre')
    await renderedAs('ta@0,2', '[data-recentred="true"]')

    await mkdir(artifacts, { recursive: true })
    const screenshot = join(artifacts, 'viewer-features.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    console.log(`viewer screenshot: ${screenshot}`)
  })

  it('downloads the map with its coastlines as a PNG of the map’s size', TEST, async () => {
    await open({ var: 'ta', t: '2' }, 'ta@2,0', '[data-coast="110m"]')
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-png')])
    const png = await readFile((await file.path())!)
    assert.equal(file.suggestedFilename(), 'ta_2_0.png')
    const size = await page.$eval('#map', (c) => [
      (c as HTMLCanvasElement).width,
      (c as HTMLCanvasElement).height,
    ])
    assert.deepEqual(
      [...png.subarray(0, 8)],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      'PNG signature',
    )
    assert.equal(png.toString('latin1', 12, 16), 'IHDR')
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], size)
    // Decoded by the browser, it is the map with the coastlines over it, pixel for pixel.
    const differing = await page.evaluate(async (base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
      const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }))
      const map = document.getElementById('map') as HTMLCanvasElement
      const pixels: Uint8ClampedArray[] = []
      // No named functions in here: the test's transpiler would wrap them in a helper the page lacks.
      for (const layers of [[image], [map, document.getElementById('coast') as HTMLCanvasElement]]) {
        const canvas = document.createElement('canvas')
        canvas.width = map.width
        canvas.height = map.height
        const context = canvas.getContext('2d')!
        for (const layer of layers) context.drawImage(layer, 0, 0)
        pixels.push(context.getImageData(0, 0, canvas.width, canvas.height).data)
      }
      const [saved, shown] = pixels as [Uint8ClampedArray, Uint8ClampedArray]
      let count = 0
      for (let i = 0; i < saved.length; i++) if (Math.abs(saved[i]! - shown[i]!) > 1) count++
      return count
    }, png.toString('base64'))
    assert.equal(differing, 0)
  })
})

/** The colour at the centre of every screen cell of the map, row by row from the top. */
async function sampleCells(page: Page): Promise<Rgba[]> {
  const cells = await page.evaluate(
    ([nx, ny]) => {
      const canvas = document.getElementById('map') as HTMLCanvasElement
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const found: number[][] = []
      for (let row = 0; row < ny; row++) {
        for (let col = 0; col < nx; col++) {
          const px = Math.floor(((col + 0.5) * canvas.width) / nx)
          const py = Math.floor(((row + 0.5) * canvas.height) / ny)
          const at = (py * canvas.width + px) * 4
          found.push([data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!])
        }
      }
      return found
    },
    [NX, NY] as const,
  )
  return cells as unknown as Rgba[]
}

/** Each tick label of an axis with its place along the side (0 = left or top edge, 1 = the other). */
async function tickPositions(page: Page, id: string): Promise<Record<string, number>> {
  const ticks = await page.$$eval(`#${id} .tick`, (spans) =>
    spans.map((span) => [
      span.textContent,
      (span as HTMLElement).style.left || (span as HTMLElement).style.top,
    ]),
  )
  return Object.fromEntries(ticks.map(([label, at]) => [label, Number.parseFloat(at!) / 100]))
}

/**
 * The runs of neighbouring drawn pixels of the coastline layer along latitude `lat` (recentred map:
 * screen edges at -185° and 175°) that reach into `from`..`to` longitudes, each as [west, east] ends.
 */
async function coastRuns(page: Page, lat: number, from: number, to: number): Promise<[number, number][]> {
  const row = await page.evaluate((latitude) => {
    const canvas = document.getElementById('coast') as HTMLCanvasElement
    const y = Math.floor(((90 - latitude) / 180) * canvas.height)
    const { data } = canvas.getContext('2d')!.getImageData(0, y, canvas.width, 1)
    return { width: canvas.width, alpha: Array.from({ length: canvas.width }, (_, x) => data[x * 4 + 3]!) }
  }, lat)
  const lonOf = (px: number): number => Number((((px + 0.5) / row.width) * 360 - 185).toFixed(1))
  const runs: [number, number][] = []
  let start: number | undefined
  row.alpha.forEach((alpha, px) => {
    if (alpha > 40) start ??= px
    if ((alpha <= 40 || px === row.width - 1) && start !== undefined) {
      runs.push([lonOf(start), lonOf(alpha > 40 ? px : px - 1)])
      start = undefined
    }
  })
  return runs.filter(([west, east]) => east >= from && west <= to)
}
