// The viewer's read path (examples/viewer/src/dataset.ts) in Node, against datasets the real py-hamt
// 3.6.0 wrote into a real Kubo: what it lists and reads must equal what py-hamt wrote, and every bad
// root or selection must be a typed error that says what is wrong.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import * as zarr from 'zarrita'
import { openViewerDataset as openDataset, viewerDatasetOf } from '../examples/viewer/src/dataset.js'
import { formatId } from '../src/blocks.js'
import { openDataset as openLibraryDataset } from '../src/dataset.js'
import { HAMT, isHamtError, KuboStore, MemoryStore, type StoreId, ZarrHAMTStore } from '../src/index.js'
import { type KuboDaemon, startKubo } from './helpers/kubo.js'
import { serve } from './helpers/loopback.js'
import { datasetDriver, shardedDriver, type ZarrWritten as Written, zarrDriver } from './helpers/python.js'

/** xarray's answer to one selection (test/interop/dataset_driver.py): values NaN as null, times as fields. */
type XarrayResult = { ok: boolean; values: (number | null)[]; coords: Record<string, unknown[]> }

/** Bounds: the set-up may build Kubo on a first run; each test then takes seconds. */
const SETUP = { timeout: 30 * 60_000 }
const TEST = { timeout: 120_000 }

const nanAware = (values: ArrayLike<number>): Array<number | null> =>
  Array.from(values, (v) => (Number.isNaN(v) ? null : v))

/** Rejects with a ts-hamt error of `code` whose message matches `message`. */
async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isHamtError(error), `not a HamtError: ${error}`)
    assert.equal(error.code, code)
    assert.match(error.message, message)
    return true
  })
}

describe('viewer read path (openDataset) on datasets written by py-hamt 3.6.0 into Kubo', () => {
  let kubo: KuboDaemon
  const written: Record<'plain' | 'consolidated' | 'sharded', Written> = {} as never

  // A first run may build Kubo (minutes); after that this takes seconds.
  before(async () => {
    kubo = await startKubo()
    for (const consolidated of [false, true]) {
      written[consolidated ? 'consolidated' : 'plain'] = await zarrDriver<Written>('write', {
        store: 'kubo',
        rpcUrl: kubo.rpcUrl,
        gatewayUrl: kubo.gatewayUrl,
        dataset: 'climate',
        consolidated,
      })
    }
    // The same dataset in py-hamt's sharded layout, by py-hamt's own converter.
    const sharded = await shardedDriver<{ root: string }>('convert', {
      rpcUrl: kubo.rpcUrl,
      gatewayUrl: kubo.gatewayUrl,
      hamtRoot: written.plain.root,
      chunksPerShard: 64,
    })
    written.sharded = { root: sharded.root, expected: written.plain.expected }
  }, SETUP)
  after(() => kubo?.stop())

  for (const kind of ['plain', 'consolidated', 'sharded'] as const) {
    it(`lists and reads every variable as py-hamt wrote it (${kind})`, TEST, async () => {
      const { root, expected } = written[kind]
      const dataset = await openDataset(root, kubo.gatewayUrl)
      assert.equal(dataset.layout, kind === 'sharded' ? 'sharded' : 'hamt')
      const drawable = Object.keys(expected).filter((name) => expected[name]!.shape.length >= 2)
      assert.deepEqual(dataset.variables.map((v) => v.name).sort(), drawable.sort())

      for (const variable of dataset.variables) {
        const want = expected[variable.name]!
        assert.deepEqual(variable.shape, want.shape, `${variable.name} shape`)
        assert.deepEqual(variable.dims, want.dims, `${variable.name} dims`)
        assert.equal(variable.units, want.attrs.units, `${variable.name} units`)
        for (const [key, value] of Object.entries(want.attrs)) {
          assert.deepEqual(variable.attributes[key], value, `${variable.name} attribute ${key}`)
        }
        const [height, width] = want.shape.slice(-2) as [number, number]
        const steps = want.shape.length >= 3 ? want.shape[0]! : 1
        for (let t = 0; t < steps; t++) {
          const grid = await dataset.slice(variable.name, t % 2 === 0 ? t : [t])
          assert.deepEqual([grid.height, grid.width], [height, width])
          const plane = want.values.slice(t * width * height, (t + 1) * width * height)
          assert.deepEqual(nanAware(grid.values), plane, `${variable.name} at time step ${t}`)
        }
        if (steps > 1) {
          const [y, x] = [height - 1, 1]
          const series = want.values.filter((_, i) => i % (width * height) === y * width + x)
          assert.deepEqual(
            nanAware((await dataset.series(variable.name, y, x)).values),
            series,
            `${variable.name} series`,
          )
        }
      }
      assert.equal(dataset.attributes.title, 'ts-hamt interop climate fixture')
      assert.equal(dataset.attributes.institution, 'ts-hamt')
      for (const dim of ['time', 'lat', 'lon']) {
        const coordinate = dataset.coordinate(dim)
        assert.deepEqual(nanAware(coordinate?.values ?? []), expected[dim]!.values, `${dim} values`)
        assert.equal(coordinate?.units, expected[dim]!.attrs.units, `${dim} units`)
      }
      // Times are labelled with their dates (standard calendar here: JS Date can check them).
      const time = dataset.coordinate('time')!
      const origin = /since (\S+)$/.exec(time.units)![1]!
      assert.deepEqual(
        expected.time!.values.map((_, index) => time.label(index)),
        expected.time!.values.map((days) =>
          new Date(Date.parse(`${origin}T00:00:00Z`) + days! * 86_400_000).toISOString().slice(0, 10),
        ),
      )
      assert.equal(time.calendar, 'standard')
      assert.equal(time.label(expected.time!.values.length), `#${expected.time!.values.length}`)
    })
  }

  it(
    'opens py-hamt’s sharded v2 layout (the dataset in a group), packed values and julian dates as xarray decodes them',
    TEST,
    async () => {
      const request = {
        rpcUrl: kubo.rpcUrl,
        gatewayUrl: kubo.gatewayUrl,
        layout: 'sharded-v2',
        calendar: 'julian',
      }
      const { root, group } = await datasetDriver<{ root: string; group: string }>('write', request)
      assert.equal(group, '0')
      const [slice, series] = (
        await datasetDriver<{ results: XarrayResult[] }>('select', {
          ...request,
          root,
          group,
          selections: [
            { op: 'isel', var: 'packed', indexers: { time: 2 } },
            { op: 'isel', var: 'packed', indexers: { lat: 4, lon: 9 } },
          ],
        })
      ).results as [XarrayResult, XarrayResult]
      const dataset = await openDataset(root, kubo.gatewayUrl)
      assert.equal(dataset.layout, 'sharded')
      assert.deepEqual(
        dataset.variables.map((v) => v.name),
        ['elevation', 'packed', 'temp'],
      )
      const packed = dataset.variables.find((v) => v.name === 'packed')!
      assert.deepEqual(
        { dtype: packed.dtype, fill: packed.encoding.fillValue, scale: packed.encoding.scaleFactor },
        { dtype: 'int16', fill: -32767, scale: 0.5 },
      )
      assert.deepEqual(nanAware((await dataset.slice('packed', 2)).values), slice.values)
      assert.deepEqual(nanAware((await dataset.series('packed', 4, 9)).values), series.values)
      const time = dataset.coordinate('time')!
      assert.equal(time.calendar, 'julian')
      const days = (series.coords.time as number[][]).map(([y, m, d]) =>
        [String(y).padStart(4, '0'), String(m).padStart(2, '0'), String(d).padStart(2, '0')].join('-'),
      )
      assert.deepEqual(
        days.map((_, t) => time.label(t)),
        days,
      )
    },
  )

  it('reads through the next gateway of a list (spaces or commas) when one has no block', TEST, async () => {
    const missing = await serve((_req, res) => void res.writeHead(404).end())
    const { root, expected } = written.plain
    const dataset = await openDataset(root, ` ${missing.url}/, ${kubo.gatewayUrl}  `)
    const [height, width] = expected.temp!.shape.slice(-2) as [number, number]
    const grid = await dataset.slice('temp', 1)
    assert.deepEqual(nanAware(grid.values), expected.temp!.values.slice(width * height, 2 * width * height))
    assert.ok(missing.seen.length > 0, 'the first gateway was asked')
  })

  it('says what is wrong with a bad root, gateway or selection', TEST, async () => {
    const { root } = written.plain
    await rejectsWith(
      openDataset('nope', kubo.gatewayUrl),
      'ERR_INVALID_ARGUMENT',
      /root must be a CID, got "nope"/,
    )
    await rejectsWith(
      openDataset(root, 'ftp://x'),
      'ERR_INVALID_ARGUMENT',
      /gateways must be an http\(s\) URL, got "ftp:\/\/x"/,
    )

    // A DAG-CBOR block that is neither layout.
    const store = new KuboStore({ rpcUrl: kubo.rpcUrl, gateways: kubo.gatewayUrl })
    const other = formatId(await store.save(dagCbor.encode({ hello: 'world' }), 'dag-cbor'))
    await store.flush()
    await rejectsWith(
      openDataset(other, kubo.gatewayUrl),
      'ERR_INVALID_ARGUMENT',
      /is neither a HAMT node nor a sharded Zarr manifest/,
    )

    const dataset = await openDataset(root, kubo.gatewayUrl)
    await rejectsWith(
      dataset.slice('temp', 6),
      'ERR_INVALID_ARGUMENT',
      /time step must be an integer in 0\.\.5, got 6/,
    )
    await rejectsWith(
      dataset.slice('temp', [-1]),
      'ERR_INVALID_ARGUMENT',
      /time step must be an integer in 0\.\.5, got -1/,
    )
    await rejectsWith(dataset.slice('station_count', 0), 'ERR_INVALID_ARGUMENT', /no drawable variable named/)
    await rejectsWith(dataset.series('mask', 0, 0), 'ERR_INVALID_ARGUMENT', /mask has no time dimension/)
    await rejectsWith(
      dataset.series('temp', 0, 20),
      'ERR_INVALID_ARGUMENT',
      /x must be an integer in 0\.\.19/,
    )
  })
})

describe('viewer coordinates (in memory, written with zarrita)', () => {
  /** A 4-D variable over a noleap time with a NaT, a "months since" axis in the standard calendar, lat, lon. */
  async function writeDataset(store: MemoryStore): Promise<StoreId> {
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)))
    const put = async (name: string, dims: string[], values: number[], attributes: object): Promise<void> => {
      const shape = dims.map((dim) => ({ time: 3, month: 2, lat: 2, lon: 2 })[dim] as number)
      const array = await zarr.create(group.resolve(name), {
        shape,
        chunkShape: shape,
        dtype: 'float64',
        dimensionNames: dims,
        attributes: attributes as Record<string, unknown>,
        codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
      })
      await zarr.set(array, null, { data: Float64Array.from(values), shape, stride: strides(shape) } as never)
    }
    await put('time', ['time'], [0, Number.NaN, 59], { units: 'days since 2001-01-01', calendar: 'noleap' })
    // cftime refuses 'months since' outside 360_day: xarray (and the library) leave these numbers.
    await put('month', ['month'], [0, 1], { units: 'months since 2000-01-01', calendar: 'standard' })
    await put('lat', ['lat'], [10, -10], { units: 'degrees_north' })
    await put('lon', ['lon'], [0, 90], { units: 'degrees_east' })
    await put(
      'v',
      ['time', 'month', 'lat', 'lon'],
      Array.from({ length: 24 }, (_, i) => i),
      { units: '1' },
    )
    return map.flush()
  }

  it('labels a decodable time by its calendar (NaT as NaT) and leaves an undecodable one numbers', async () => {
    const store = await MemoryStore.create()
    const view = viewerDatasetOf(await openLibraryDataset(await writeDataset(store), { store }))
    const time = view.coordinate('time')!
    assert.equal(time.calendar, 'noleap')
    assert.deepEqual(
      [0, 1, 2].map((i) => time.label(i)),
      ['2001-01-01', 'NaT', '2001-03-01'],
    )
    assert.deepEqual(nanAware(time.values), [0, null, 59])
    const month = view.coordinate('month')!
    assert.equal(month.calendar, undefined)
    assert.deepEqual(
      [0, 1].map((i) => month.label(i)),
      ['0 months since 2000-01-01', '1 months since 2000-01-01'],
    )
    assert.deepEqual(Array.from(month.values), [0, 1])
    assert.deepEqual(Array.from((await view.slice('v', [2, 1])).values), [20, 21, 22, 23])
    assert.deepEqual(Array.from((await view.series('v', 1, 0, [0, 1])).values), [6, 14, 22])
  })
})

function strides(shape: readonly number[]): number[] {
  return shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
}
