// `ts-hamt zarr get ROOT VAR --sel …` and `zarr info` on a dataset py-hamt wrote on a real Kubo, read
// through its gateway, against xarray's answers to the same selections. Runs dist/ (built if stale).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ensureCliBuilt, runCli } from './helpers/cli.js'
import { startKubo } from './helpers/kubo.js'
import { datasetDriver } from './helpers/python.js'

type PyResult = {
  ok: boolean
  dims: string[]
  shape: number[]
  values: (number | null)[]
  coords: Record<string, unknown[]>
}

const iso = ([y, m, d, hh, mm, ss]: number[]): string =>
  `${String(y).padStart(4, '0')}-${[m, d].map((n) => String(n).padStart(2, '0')).join('-')}T${[hh, mm, ss].map((n) => String(n).padStart(2, '0')).join(':')}`

describe('ts-hamt zarr get --sel and zarr info on a py-hamt dataset', () => {
  const daemon = startKubo()
  let cwd: string
  let root: string
  let request: Record<string, unknown>
  before(async () => {
    await ensureCliBuilt()
    cwd = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-dataset-'))
    const { rpcUrl, gatewayUrl } = await daemon
    request = { rpcUrl, gatewayUrl, layout: 'hamt', calendar: 'noleap' }
    root = (await datasetDriver<{ root: string }>('write', request)).root
  })
  after(async () => {
    await (await daemon).stop()
    await rm(cwd, { recursive: true, force: true })
  })

  async function cli(...args: string[]): Promise<string> {
    const { gatewayUrl } = await daemon
    const run = await runCli(cwd, [...args, '--gateway', gatewayUrl])
    assert.equal(run.code, 0, run.stderr)
    return run.stdout
  }

  async function xarray(selection: Record<string, unknown>): Promise<PyResult> {
    const { results } = await datasetDriver<{ results: PyResult[] }>('select', {
      ...request,
      root,
      selections: [selection],
    })
    return results[0] as PyResult
  }

  it('a nearest point as JSON: value and coordinates as xarray .sel gives them', async () => {
    const got = JSON.parse(
      await cli(
        'zarr',
        'get',
        root,
        'packed',
        '--sel',
        'time=2000-02-03T05:00',
        '--sel',
        'lat=24',
        '--sel',
        'lon=100',
        '--method',
        'nearest',
        '--json',
      ),
    )
    const want = await xarray({
      op: 'sel',
      var: 'packed',
      indexers: { time: { time: [2000, 2, 3, 5, 0, 0] }, lat: 24, lon: 100 },
      method: 'nearest',
    })
    assert.deepEqual(got.values, want.values)
    assert.deepEqual(got.dims, [])
    assert.equal(got.coords.lat, (want.coords.lat as number[])[0])
    assert.equal(got.coords.lon, (want.coords.lon as number[])[0])
    assert.equal(got.coords.time, iso((want.coords.time as number[][])[0] as number[]))
  })

  it('--tolerance as a duration on a time, as xarray takes it (found within it, or exit 1 as xarray raises)', async () => {
    const { gatewayUrl } = await daemon
    // Day 33 of the time axis is 5 h from the first label; the second lies 13 days from any.
    const outcomes = new Set<boolean>()
    for (const [label, fields, tolerance] of [
      ['2000-02-03T05:00', [2000, 2, 3, 5, 0, 0], '12h'],
      ['2000-02-03T05:00', [2000, 2, 3, 5, 0, 0], '4h'],
      ['2000-02-20', [2000, 2, 20, 0, 0, 0], 'P1DT6H'],
    ] as const) {
      const run = await runCli(cwd, [
        ...['zarr', 'get', root, 'temp', '--sel', `time=${label}`, '--isel', 'lat=3', '--isel', 'lon=4'],
        ...['--method', 'nearest', '--tolerance', tolerance, '--json', '--gateway', gatewayUrl],
      ])
      const want = await xarray({
        op: 'sel',
        var: 'temp',
        indexers: { time: { time: fields } },
        method: 'nearest',
        tolerance: { duration: tolerance },
      })
      outcomes.add(want.ok)
      if (!want.ok) {
        assert.equal(run.code, 1, `${tolerance}: xarray raised, the CLI said ${run.stdout}`)
        assert.match(run.stderr, /ERR_LABEL_NOT_FOUND/)
        continue
      }
      assert.equal(run.code, 0, run.stderr)
      const got = JSON.parse(run.stdout)
      const time = (want.coords.time as number[][])[0] as number[]
      assert.equal(got.coords.time, iso(time), tolerance)
    }
    assert.deepEqual([...outcomes].sort(), [false, true], 'found within one tolerance, not within another')
  })

  it('a time range at a point as CSV, one line per value, times ISO and NaN empty', async () => {
    const csv = (
      await cli(
        'zarr',
        'get',
        root,
        'temp',
        '--sel',
        'time=2000-01-05..2000-03-01',
        '--sel',
        'lat=0',
        '--isel',
        'lon=0:3',
        '--csv',
      )
    )
      .trim()
      .split('\n')
    const want = await xarray({
      op: 'sel',
      var: 'temp',
      indexers: {
        time: { slice: [{ time: [2000, 1, 5, 0, 0, 0] }, { time: [2000, 3, 1, 0, 0, 0] }, null] },
        lat: 0,
        lon: [0, 15, 30],
      },
    })
    assert.equal(csv[0], 'time,lon,lat,temp')
    assert.equal(csv.length - 1, want.values.length)
    const [ntime, nlon] = want.shape as [number, number]
    for (let t = 0; t < ntime; t++) {
      for (let x = 0; x < nlon; x++) {
        const value = want.values[t * nlon + x]
        const time = iso((want.coords.time as number[][])[t] as number[])
        assert.equal(csv[1 + t * nlon + x], `${time},${(want.coords.lon as number[])[x]},0,${value ?? ''}`)
      }
    }
  })

  it('zarr info shows fill values as numbers, scale and offset, and the decoded time range', async () => {
    const info = JSON.parse(await cli('zarr', 'info', root, '--json'))
    const packed = info.nodes.find((n: { path: string }) => n.path === '/packed')
    assert.deepEqual(packed.cf, { fillValue: -32767, scaleFactor: 0.5, addOffset: 10 })
    const last = await xarray({ op: 'isel', var: 'temp', indexers: { time: -1, lat: 0, lon: 0 } })
    const time = info.nodes.find((n: { path: string }) => n.path === '/time')
    assert.deepEqual(time.cf.timeRange, [
      '2000-01-01T00:00:00',
      iso((last.coords.time as number[][])[0] as number[]),
    ])
    assert.match(await cli('zarr', 'info', root), /fill value -32767, scale 0\.5, offset 10/)
  })

  it('a label not found exits 1 naming the label and the coordinate', async () => {
    const { gatewayUrl } = await daemon
    const run = await runCli(cwd, ['zarr', 'get', root, 'temp', '--sel', 'lat=24', '--gateway', gatewayUrl])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /ERR_LABEL_NOT_FOUND|label 24 not found in coordinate "lat"/)
  })
})
