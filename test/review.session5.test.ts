// Session 5 review: what an outsider reading a published dataset met first. Each test failed
// before its fix.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { blockDigest } from '../src/cas/id.js'
import { parseSel } from '../src/cli/commands/zarr-dataset.js'
import { openDataset } from '../src/dataset.js'
import {
  type ContentAddressedStore,
  HAMT,
  isHamtError,
  MemoryStore,
  TrustlessGatewayStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { instrument } from '../src/telemetry/index.js'
import { writeClimate } from './helpers/climate.js'
import { withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'
import { otel, startOtel } from './helpers/otel.js'

await loadBlake3()

const harness = startOtel()

// writeClimate: time 0..3 days since 2020-01-01, lat -50..50 step 20, lon 0..315 step 45.
async function climate() {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  await writeClimate(new ZarrHAMTStore(map))
  return openDataset(await map.flush(), { store })
}

describe('Variable.point and sel', async () => {
  const temp = (await climate()).variable('temp')

  it('point with a tolerance but no method stays nearest, as its TSDoc says', async () => {
    const near = temp.point({ lat: -31, lon: 44 }, { tolerance: 2 })
    assert.deepEqual(near.dims, ['time'])
    const expected = await temp.sel({ lat: -30, lon: 45 }).load()
    assert.deepEqual([...(await near.load()).values], [...expected.values])
    assert.throws(
      () => temp.point({ lat: -35, lon: 45 }, { tolerance: 2 }),
      (err) => isHamtError(err, 'ERR_LABEL_NOT_FOUND'),
    )
  })

  it('a coordinate read as a variable: one column, its times as ISO (not the raw number under a repeated header)', async () => {
    const ds = await climate()
    const time = await ds
      .variable('time')
      .isel({ time: [0, 2] })
      .load()
    assert.equal(time.toCSV(), 'time\n2020-01-01T00:00:00\n2020-01-03T00:00:00\n')
    assert.deepEqual(time.toRecords(), [{ time: '2020-01-01T00:00:00' }, { time: '2020-01-03T00:00:00' }])
    const one = await ds.variable('time').isel({ time: 1 }).load()
    assert.deepEqual(one.toRecords(), [{ time: '2020-01-02T00:00:00' }])
    let csv = ''
    for await (const text of ds.variable('lat').toCSV()) csv += text
    assert.equal(csv.split('\n')[0], 'lat')
    assert.equal(csv.split('\n')[1], '-50')
  })

  it('a NaN slice bound is refused, not read as an absent end', () => {
    for (const slice of [
      { start: Number.NaN, stop: 0 },
      { start: -10, stop: Number.NaN },
    ]) {
      assert.throws(
        () => temp.sel({ lat: slice }),
        (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /NaN/.test(err.message),
      )
    }
  })
})

describe('instrument', () => {
  it('refuses what is not the API module with ERR_INVALID_ARGUMENT, as every other option check', () => {
    assert.throws(
      () => instrument({} as never),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'),
    )
  })

  it('called twice with the same API, counts each read once; each stop ends its own call', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    await map.set('a', 1)
    const root = await map.flush()
    harness.reset()
    const stopFirst = instrument(otel)
    const stopSecond = instrument(otel)
    const loads = () => harness.spans().filter((s) => s.name === 'py_hamt.cas.load').length
    await (await HAMT.open<number>(root, { store })).get('a')
    const once = loads()
    assert.ok(once > 0)
    stopFirst()
    harness.reset()
    await (await HAMT.open<number>(root, { store })).get('a')
    assert.equal(loads(), once, 'still instrumented by the second call')
    stopFirst() // a repeated stop changes nothing
    await (await HAMT.open<number>(root, { store })).get('a')
    assert.equal(loads(), 2 * once)
    stopSecond()
    harness.reset()
    await (await HAMT.open<number>(root, { store })).get('a')
    assert.equal(loads(), 0)
  })
})

describe('gateways', () => {
  it('a gateway asking to be retried in a year is passed over for the next one, not waited for', async () => {
    const bytes = Uint8Array.of(1, 2, 3)
    const cid = CID.createV1(RAW, await blockDigest('blake3', bytes))
    const busy = await serve((_req, res) => res.writeHead(429, { 'retry-after': '31536000' }).end())
    const good = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(bytes),
    )
    const store = new TrustlessGatewayStore({ gateways: [busy.url, good.url] })
    const read = await withinBudget('Retry-After: a year', () =>
      store.load(cid, { signal: AbortSignal.timeout(5_000) }),
    )
    assert.deepEqual(read.value, bytes)
    assert.equal(busy.seen.length, 1)
    // The last gateway's Retry-After is still honoured (capped by maxRetryDelayMs).
    let n = 0
    const once = await serve((_req, res) =>
      ++n === 1
        ? res.writeHead(503, { 'retry-after': '3600' }).end()
        : res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(bytes),
    )
    const last = new TrustlessGatewayStore({ gateways: [busy.url, once.url], maxRetryDelayMs: 20 })
    assert.deepEqual(await last.load(cid), bytes)
    assert.equal(n, 2)
  })
})

describe('openDataset options', () => {
  it('a group that is neither a name nor a chooser is refused, not read as the root group', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await writeClimate(new ZarrHAMTStore(map))
    const root = await map.flush()
    for (const group of [5, null, {}]) {
      await assert.rejects(
        openDataset(root, { store, group: group as never }),
        (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /group/.test(err.message),
      )
    }
  })
})

describe('abort', () => {
  it("aborting at any store load of openDataset then load() rejects with the caller's own reason", async () => {
    const base = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: base, valuesAreBytes: true })
    await writeClimate(new ZarrHAMTStore(map))
    const root = await map.flush()
    for (let n = 1; ; n++) {
      const controller = new AbortController()
      const reason = new Error(`stopped at load ${n}`)
      let loads = 0
      const store: ContentAddressedStore = {
        save: (data, codec) => base.save(data, codec),
        load: (id, options) => {
          if (++loads === n) controller.abort(reason)
          return base.load(id, options)
        },
      }
      const { signal } = controller
      const read = async () =>
        (await openDataset(root, { store, signal })).variable('temp').sel({ lat: 10 }).load({ signal })
      if (n > 100) assert.fail('the read never finished')
      try {
        await read()
        if (signal.aborted) assert.fail(`finished after an abort at load ${n}`)
        break // fewer than n loads in all
      } catch (err) {
        assert.equal(err, reason, `abort at load ${n}: ${(err as Error).message}`)
      }
    }
  })
})

describe('a dimension of length 0', () => {
  it('opens (a dataset created empty, before its first append); reads give empty arrays', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    const array = (name: string, shape: number[], dims: string[], attributes = {}) =>
      zarr.create(group.resolve(name), {
        shape,
        chunkShape: shape.map((n) => Math.max(1, n)),
        dtype: 'float64',
        dimensionNames: dims,
        attributes,
        codecs,
      })
    await array('time', [0], ['time'], { units: 'days since 2000-01-01' })
    const x = await array('x', [3], ['x'])
    await zarr.set(x, null, { data: Float64Array.of(1, 2, 3), shape: [3], stride: [1] } as never)
    await array('v', [0, 3], ['time', 'x'])
    const ds = await openDataset(await map.flush(), { store })
    const v = ds.variable('v')
    assert.deepEqual(v.shape, [0, 3])
    const all = await v.load()
    assert.deepEqual([all.shape, all.values.length], [[0, 3], 0])
    assert.deepEqual((await v.sel({ x: 2 }).load()).shape, [0])
    assert.deepEqual((await v.timeRange('2000', '2001').load()).shape, [0, 3])
    assert.throws(
      () => v.sel({ time: '2000-01-01T00:00' }, { method: 'nearest' }),
      (err) => isHamtError(err, 'ERR_LABEL_NOT_FOUND'),
    )
  })
})

describe('zarr get --sel', () => {
  it("a year on a time dimension stays a time label, not a number in the file's units", () => {
    const isTime = (dim: string) => dim === 'time'
    assert.deepEqual(parseSel(['time=2024', 'lat=45', 'lon=1..2'], isTime), {
      time: '2024',
      lat: 45,
      lon: { start: 1, stop: 2 },
    })
    assert.deepEqual(parseSel(['time=2024..2025', 'time2=1,2'], isTime), {
      time: { start: '2024', stop: '2025' },
      time2: [1, 2],
    })
  })
})
