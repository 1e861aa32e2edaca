// End to end: the browser viewer (examples/viewer, built by Vite) in a real headless Chromium reads a
// dataset that the real py-hamt 3.6.0 wrote into a real Kubo, straight from Kubo's gateway (which
// answers cross-origin GETs with `Access-Control-Allow-Origin: *`, so no proxy is needed).
import assert from 'node:assert/strict'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { LINE_COLOUR } from '../examples/viewer/src/chart.js'
import { type Rgba, valueColour, valueRange } from '../examples/viewer/src/colour-map.js'
import { formatValue } from '../examples/viewer/src/format.js'
import { type KuboDaemon, startKubo } from './helpers/kubo.js'
import { shardedDriver, type ZarrWritten as Written, zarrDriver } from './helpers/python.js'
import { openViewerPage, type ViewerPage } from './helpers/viewer-page.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const artifacts = join(repo, 'test-artifacts')
/** Bound of every wait on the page: reading a slice through the gateway takes well under a second. */
const WAIT_MS = 30_000
/** The set-up may build Kubo and install Chromium on a first run; each test then takes seconds. */
const SETUP = { timeout: 30 * 60_000 }
const TEST = { timeout: 120_000 }
/** Canvas colours may differ by rounding only. */
const COLOUR_TOLERANCE = 2

describe('browser viewer, end to end (Vite build, Chromium, Kubo gateway, dataset by py-hamt)', () => {
  let kubo: KuboDaemon | undefined
  let viewer: ViewerPage | undefined
  let written: Written
  let page: Page
  let pageErrors: string[]
  /** Every URL the page asked for. */
  let requested: string[]

  // A first run may build Kubo (minutes) and install Chromium; after that this takes seconds.
  before(async () => {
    kubo = await startKubo()
    written = await zarrDriver<Written>('write', {
      store: 'kubo',
      rpcUrl: kubo.rpcUrl,
      gatewayUrl: kubo.gatewayUrl,
      dataset: 'climate',
    })
    viewer = await openViewerPage(WAIT_MS)
    ;({ page, pageErrors, requested } = viewer)
  }, SETUP)

  after(async () => {
    await viewer?.close()
    await kubo?.stop()
  })

  const viewerUrl = (root: string): string =>
    `${viewer?.url}/?${new URLSearchParams({ gateway: kubo?.gatewayUrl ?? '', root })}`

  /** Waits until the map shows `variable` at time step `t` ('' for a variable without time). */
  const rendered = async (variable: string, t: number | ''): Promise<void> => {
    await page.waitForSelector(`#map[data-rendered="${variable}@${t}"]`, { timeout: WAIT_MS })
    assert.deepEqual(pageErrors, [], 'the page logged errors')
  }

  it('lists every variable of two or more dimensions that py-hamt wrote', TEST, async () => {
    await page.goto(viewerUrl(written.root), { timeout: WAIT_MS })
    const drawable = Object.entries(written.expected)
      .filter(([, v]) => v.shape.length >= 2)
      .map(([name]) => name)
      .sort()
    assert.ok(drawable.length >= 2, 'the fixture has at least two variables to switch between')
    await rendered(drawable[0]!, written.expected[drawable[0]!]!.shape.length > 2 ? 0 : '')
    const options = await page.$$eval('#variable option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    )
    assert.deepEqual(options, drawable)
  })

  it('draws each cell in the colour of its value on the legend scale, NaN distinctly', TEST, async () => {
    await page.selectOption('#variable', 'temp')
    await rendered('temp', 0)
    const slice = expectedSlice(written, 'temp', 0)
    assert.ok(slice.values.some(Number.isNaN), 'the fixture has NaN cells in temp at time 0')
    await assertMapShows(page, written, slice)
    // The fixture's longitudes are 0..342 east: shown from 180°W, so 0° is not the left edge.
    assert.ok(gridOf(written, 'temp').columns[0] !== 0, 'the fixture is recentred')
    assert.equal(await page.getAttribute('#map', 'data-recentred'), 'true')
  })

  it('redraws when the time step and the variable change', TEST, async () => {
    const before = await sampleCells(page, written, 'temp')
    await page.locator('#time').fill('3')
    await rendered('temp', 3)
    const later = await sampleCells(page, written, 'temp')
    // Step 3 is warmer than all of step 0, whose range the map keeps: every cell at the top colour.
    await assertMapShows(page, written, expectedSlice(written, 'temp', 3), { flat: true })
    assert.ok(changedCells(before, later) > before.length / 2, 'most cells change colour with the time step')

    const time = written.expected.time!
    const [, origin] = /since (.+)$/.exec(String(time.attrs.units))!
    const days = time.values[3]!
    const date = new Date(Date.parse(`${origin}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
    assert.equal(await page.textContent('#time-label'), date)

    await page.selectOption('#variable', 'precip')
    await rendered('precip', 3)
    await assertMapShows(page, written, expectedSlice(written, 'precip', 3))
    const precip = await sampleCells(page, written, 'precip')
    assert.ok(changedCells(later, precip) > later.length / 2, 'most cells change colour with the variable')
  })

  it("shows a clicked point's value and its time series as a line chart", TEST, async () => {
    // Time step 0: the screenshot then also shows NaN cells (bottom left).
    await page.selectOption('#variable', 'temp')
    await page.locator('#time').fill('0')
    await rendered('temp', 0)
    const { width, height, rowsGoNorth, columns: screenColumns } = gridOf(written, 'temp')
    const [x, y] = [13, 4]
    const box = (await page.locator('#map').boundingBox())!
    const screenRow = rowsGoNorth ? height - 1 - y : y
    const screenColumn = screenColumns.indexOf(x)
    await page.locator('#map').click({
      position: {
        x: ((screenColumn + 0.5) * box.width) / width,
        y: ((screenRow + 0.5) * box.height) / height,
      },
    })
    await page.waitForSelector(`#chart[data-variable="temp"][data-x="${x}"][data-y="${y}"]`, {
      timeout: WAIT_MS,
    })

    const temp = written.expected.temp!
    const series = Array.from({ length: temp.shape[0]! }, (_, t) => temp.values[(t * height + y) * width + x])
    const value = series[0] ?? Number.NaN
    assert.equal(await page.getAttribute('#point', 'data-value'), String(value))
    const finite = valueRange(series.map((v) => v ?? Number.NaN))!
    const label = await page.getAttribute('#chart', 'aria-label')
    assert.match(
      label ?? '',
      new RegExp(`${series.length} values, ${formatValue(finite.min)} to ${formatValue(finite.max)}$`),
    )

    // The line is drawn across the plot: its colour appears in most columns between the axes.
    const columns = await page.evaluate((colour) => {
      const canvas = document.getElementById('chart') as HTMLCanvasElement
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const hit = new Set<number>()
      for (let i = 0; i < data.length; i += 4) {
        const close = [0, 1, 2].every((c) => Math.abs(data[i + c]! - colour[c]!) <= 8)
        if (close && data[i + 3]! > 200) hit.add((i / 4) % canvas.width)
      }
      return { hit: hit.size, width: canvas.width }
    }, parseRgb(LINE_COLOUR))
    assert.ok(columns.hit > columns.width / 2, `line colour in ${columns.hit} of ${columns.width} columns`)

    await mkdir(artifacts, { recursive: true })
    const screenshot = join(artifacts, 'viewer-e2e.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    console.log(`viewer screenshot: ${screenshot}`)
  })

  it(
    "decoded the zstd chunks without downloading zarrita's own zstd decoder (numcodecs' WASM)",
    TEST,
    async () => {
      // Vite splits zarrita's `import('numcodecs/zstd')` into its own file: it must exist, and not be fetched.
      const assets = await readdir(join(viewer?.buildDir ?? '', 'assets'))
      const reference = assets.filter((name) => /^zstd-.*\.js$/.test(name))
      assert.equal(reference.length, 1, `zarrita's zstd module in the build: ${assets.join(', ')}`)
      assert.ok(
        requested.some((path) => /\/assets\/index-.*\.js$/.test(path)),
        requested.join(', '),
      )
      assert.deepEqual(
        requested.filter((path) => path.endsWith(`/${reference[0]}`)),
        [],
      )
    },
  )

  it('says clearly what is wrong with a root it cannot open', TEST, async () => {
    await page.goto(viewerUrl('not-a-cid'), { timeout: WAIT_MS })
    await page.waitForSelector('body[data-state="error"]', { timeout: WAIT_MS })
    assert.match(
      (await page.textContent('#status')) ?? '',
      /ERR_INVALID_ARGUMENT: root must be a CID, got "not-a-cid"/,
    )
    pageErrors.length = 0
  })

  it(
    'draws the same dataset in py-hamt’s sharded layout (converted by py-hamt) cell for cell',
    TEST,
    async () => {
      const sharded = await shardedDriver<{ root: string }>('convert', {
        rpcUrl: kubo?.rpcUrl,
        gatewayUrl: kubo?.gatewayUrl,
        hamtRoot: written.root,
        chunksPerShard: 64,
      })
      await page.goto(`${viewerUrl(sharded.root)}&var=precip&t=2`, { timeout: WAIT_MS })
      await rendered('precip', 2)
      await assertMapShows(page, written, expectedSlice(written, 'precip', 2))
      assert.equal(await page.getAttribute('body', 'data-state'), 'ready')
    },
  )
})

type Grid = { width: number; height: number; rowsGoNorth: boolean; columns: number[] }
type Slice = Grid & { name: string; values: number[] }

/**
 * The y/x grid of a variable, whether its rows go south to north (then row 0 is drawn at the bottom),
 * and the data column of each screen column: longitudes past 180° are shown west of 0°, from -180°.
 */
function gridOf(written: Written, name: string): Grid {
  const variable = written.expected[name]!
  const [height, width] = variable.shape.slice(-2) as [number, number]
  const ys = written.expected[variable.dims.at(-2)!]!.values as number[]
  const lons = (written.expected[variable.dims.at(-1)!]!.values as number[]).map((lon) =>
    lon >= 180 ? lon - 360 : lon,
  )
  const columns = lons.map((_, i) => i).sort((a, b) => lons[a]! - lons[b]!)
  return { width, height, rowsGoNorth: ys.at(-1)! > ys[0]!, columns }
}

/** py-hamt's values of `name` at time step `t`, NaN for missing. */
function expectedSlice(written: Written, name: string, t: number): Slice {
  const grid = gridOf(written, name)
  const size = grid.width * grid.height
  const values = written.expected[name]!.values.slice(t * size, (t + 1) * size).map((v) => v ?? Number.NaN)
  return { name, ...grid, values }
}

/** The colour at the centre of every cell of the map, in data order (`[y * width + x]`). */
async function sampleCells(page: Page, written: Written, name: string): Promise<Rgba[]> {
  const { width, height, rowsGoNorth, columns } = gridOf(written, name)
  const screen = await page.evaluate(
    ([nx, ny]) => {
      const canvas = document.getElementById('map') as HTMLCanvasElement
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const cells: number[][] = []
      for (let row = 0; row < ny; row++) {
        for (let col = 0; col < nx; col++) {
          const px = Math.floor(((col + 0.5) * canvas.width) / nx)
          const py = Math.floor(((row + 0.5) * canvas.height) / ny)
          const at = (py * canvas.width + px) * 4
          cells.push([data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!])
        }
      }
      return cells
    },
    [width, height] as const,
  )
  return Array.from({ length: width * height }, (_, i) => {
    const [y, x] = [Math.floor(i / width), i % width]
    const row = rowsGoNorth ? height - 1 - y : y
    return screen[row * width + columns.indexOf(x)] as unknown as Rgba
  })
}

/**
 * Every cell has its value's colour on the variable's range, which is the range of its first time
 * step (the fixture has no valid_min/valid_max); the legend names that range. Unless `flat` (every
 * value beyond the range), the map shows many colours.
 */
async function assertMapShows(
  page: Page,
  written: Written,
  slice: Slice,
  { flat = false } = {},
): Promise<void> {
  const cells = await sampleCells(page, written, slice.name)
  const range = valueRange(expectedSlice(written, slice.name, 0).values)
  const wrong = slice.values.flatMap((value, i) => {
    const want = valueColour(value, range)
    const got = cells[i]!
    const ok = want.every((c, k) => Math.abs(c - got[k]!) <= COLOUR_TOLERANCE)
    return ok ? [] : [`cell ${i} (value ${value}): want rgb(${want}), got rgb(${got})`]
  })
  assert.deepEqual(wrong, [], `${slice.name}: cells drawn in the wrong colour`)
  if (!flat) assert.ok(new Set(cells.map(String)).size > 10, 'the map is not blank or flat')
  assert.equal(await page.textContent('#legend-min'), formatValue(range!.min))
  assert.equal(await page.textContent('#legend-max'), formatValue(range!.max))
}

function changedCells(a: readonly Rgba[], b: readonly Rgba[]): number {
  return a.filter((colour, i) => String(colour) !== String(b[i])).length
}

function parseRgb(css: string): [number, number, number] {
  const [r, g, b] = (css.match(/\d+/g) ?? []).map(Number)
  return [r!, g!, b!]
}
