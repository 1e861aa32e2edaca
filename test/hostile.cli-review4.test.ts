// An outsider's CLI cases: `zarr get --sel` on a string coordinate whose labels look like numbers
// (station ids such as 72503) selects by the text, as xarray's `sel(station='72503')` does.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type CliRun, ensureCliBuilt, runCli } from './helpers/cli.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-review4-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)
await loadBlake3()

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** numcodecs' vlen-utf8: a count, then each value's byte length and bytes (little-endian int32s). */
function vlenUtf8(values: readonly string[]): Uint8Array {
  const parts = values.map((v) => new TextEncoder().encode(v))
  const out = new Uint8Array(4 + parts.reduce((n, p) => n + 4 + p.length, 0))
  const view = new DataView(out.buffer)
  view.setInt32(0, values.length, true)
  let at = 4
  for (const part of parts) {
    view.setInt32(at, part.length, true)
    out.set(part, at + 4)
    at += 4 + part.length
  }
  return out
}

function zarray(dtype: string, shape: number[], filters: unknown = null): Uint8Array {
  return json({
    zarr_format: 2,
    shape,
    chunks: shape,
    dtype,
    fill_value: null,
    order: 'C',
    filters,
    compressor: null,
    dimension_separator: '.',
  })
}

/** A Zarr v2 dataset as xarray writes it: t(station) over a string coordinate of station ids. */
async function stations(ids: readonly string[]): Promise<{ store: string; root: string }> {
  const store = await mkdtemp(join(scratch, 'store-'))
  const map = await HAMT.create<Uint8Array>({ store: await DiskStore.open(store), valuesAreBytes: true })
  const files: Record<string, Uint8Array> = {
    '.zgroup': json({ zarr_format: 2 }),
    '.zattrs': json({}),
    'station/.zarray': zarray('<U5', [ids.length], [{ id: 'vlen-utf8' }]),
    'station/.zattrs': json({ _ARRAY_DIMENSIONS: ['station'] }),
    'station/0': vlenUtf8(ids),
    't/.zarray': zarray('<f8', [ids.length]),
    't/.zattrs': json({ _ARRAY_DIMENSIONS: ['station'] }),
    't/0': new Uint8Array(Float64Array.from(ids, (_, i) => 10 + i).buffer),
  }
  for (const [key, value] of Object.entries(files)) await map.set(key, value)
  return { store, root: String(await map.flush()) }
}

describe('zarr get --sel on a string coordinate of numeric-looking ids', () => {
  it('a label, a list and a slice select by the text', async () => {
    const { store, root } = await stations(['00', '72503', '72503b', 'A'])
    const get = async (sel: string): Promise<{ values: number[]; coords: Record<string, unknown> }> => {
      const run = await cli('zarr', 'get', root, 't', '--sel', sel, '--store', store, '--json')
      assert.equal(run.code, 0, `--sel ${sel}: ${run.stderr}`)
      return JSON.parse(run.stdout)
    }
    const one = await get('station=72503')
    assert.deepEqual([one.values, one.coords.station], [[11], '72503'])
    assert.deepEqual((await get('station=00,72503')).values, [10, 11])
    assert.deepEqual((await get('station=00..72503')).values, [10, 11])
    assert.deepEqual((await get('station=72503..')).values, [11, 12, 13])
  })
  it('a slice with a step, backwards below 0, as xarray; a step of 0 or no integer is a usage error', async () => {
    const { store, root } = await stations(['00', '72503', '72503b', 'A'])
    const get = (sel: string): Promise<CliRun> =>
      cli('zarr', 'get', root, 't', '--sel', sel, '--store', store, '--json')
    for (const [sel, values] of [
      ['station=00..A..2', [10, 12]],
      ['station=A..00..-1', [13, 12, 11, 10]],
      ['station=..72503..-2', [13, 11]],
      ['station=72503....2', [11, 13]],
    ] as const) {
      const run = await get(sel)
      assert.equal(run.code, 0, `--sel ${sel}: ${run.stderr}`)
      assert.deepEqual(JSON.parse(run.stdout).values, values, sel)
    }
    for (const sel of ['station=00..A..0', 'station=00..A..x', 'station=00..A..1.5']) {
      const run = await get(sel)
      assert.equal(run.code, 2, `--sel ${sel}: ${run.stdout}`)
      assert.match(run.stderr, /--sel station=00\.\.A\.\.\S+: the step \S+ is not a nonzero integer/)
    }
  })
})

/** A Zarr v3 dataset on disk whose arrays (float64, 10 values, one chunk) each carry `overrides` and a chunk of `bytes`. */
async function hostileArrays(
  arrays: Record<string, { overrides: Record<string, unknown>; chunk?: Uint8Array }>,
): Promise<{ store: string; root: string }> {
  const store = await mkdtemp(join(scratch, 'store-'))
  const map = await HAMT.create<Uint8Array>({ store: await DiskStore.open(store), valuesAreBytes: true })
  await map.set('zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
  for (const [name, { overrides, chunk }] of Object.entries(arrays)) {
    const meta = {
      zarr_format: 3,
      node_type: 'array',
      shape: [10],
      data_type: 'float64',
      chunk_grid: { name: 'regular', configuration: { chunk_shape: [10] } },
      chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
      fill_value: 0,
      codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
      attributes: {},
      dimension_names: ['x'],
    }
    await map.set(`${name}/zarr.json`, json({ ...meta, ...overrides }))
    if (chunk !== undefined) await map.set(`${name}/c/0`, chunk)
  }
  return { store, root: String(await map.flush()) }
}

describe("zarr get (by position) on a stranger's arrays", () => {
  it('ends in a typed error, never a crash, zeros for a short chunk, or an allocation a few bytes claim', async () => {
    const ones = new Uint8Array(Float64Array.from({ length: 10 }, () => 1).buffer)
    const { store, root } = await hostileArrays({
      codecs: {
        overrides: {
          codecs: [
            { name: 'bytes', configuration: { endian: 'little' } },
            { name: 'evil1' },
            { name: 'evil2' },
          ],
        },
        chunk: ones,
      },
      short: { overrides: {}, chunk: ones.slice(0, 16) },
      bigchunk: {
        overrides: { chunk_grid: { name: 'regular', configuration: { chunk_shape: [1e9] } } },
        chunk: ones,
      },
      huge: {
        overrides: { shape: [2 ** 40], chunk_grid: { name: 'regular', configuration: { chunk_shape: [1] } } },
      },
      fine: { overrides: {}, chunk: ones },
    })
    const fine = await cli('zarr', 'get', root, 'fine', '--store', store, '--json')
    assert.equal(fine.code, 0, fine.stderr)
    assert.deepEqual(JSON.parse(fine.stdout).values, Array(10).fill(1))
    const expected: Record<string, string> = {
      codecs: 'ERR_INVALID_VALUE',
      short: 'ERR_INVALID_VALUE',
      bigchunk: 'ERR_INVALID_VALUE',
      huge: 'ERR_INVALID_ARGUMENT',
    }
    for (const [name, code] of Object.entries(expected)) {
      const run = await cli('zarr', 'get', root, name, '--store', store, '--json')
      assert.equal(run.code, 1, `${name}: ${run.stdout} ${run.stderr}`)
      assert.equal(run.stdout, '', name)
      assert.deepEqual(
        run.stderr
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).error?.code),
        [code],
        `${name}: ${run.stderr}`,
      )
    }
    const huge = await cli('zarr', 'get', root, 'huge', '--select', '5:8', '--store', store, '--json')
    assert.equal(huge.code, 0, huge.stderr)
    assert.deepEqual(JSON.parse(huge.stdout).values, [0, 0, 0])
  })
})

describe("zarr info on a stranger's time coordinate", () => {
  it('unknown codecs or a chunk claiming 10^8 values: listed with a timeError, no crash and no allocation', async () => {
    const time = { attributes: { units: 'days since 2000-01-01' }, dimension_names: ['time'] }
    const { store, root } = await hostileArrays({
      codecs: {
        overrides: {
          ...time,
          codecs: [
            { name: 'bytes', configuration: { endian: 'little' } },
            { name: 'evil1' },
            { name: 'evil2' },
          ],
        },
        chunk: new Uint8Array(80),
      },
      // No chunk stored: zarrita would fill 10^8 values (800 MB) to read the first one.
      bigchunk: {
        overrides: { ...time, chunk_grid: { name: 'regular', configuration: { chunk_shape: [1e8] } } },
      },
      fine: { overrides: time, chunk: new Uint8Array(Float64Array.from({ length: 10 }, (_, i) => i).buffer) },
    })
    const run = await cli('zarr', 'info', root, '--store', store, '--json')
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stderr, '')
    const nodes = JSON.parse(run.stdout).nodes as Array<Record<string, unknown>>
    const node = (path: string) => (nodes.find((n) => n.path === path) as { cf: Record<string, unknown> }).cf
    assert.deepEqual(node('/fine').timeRange, ['2000-01-01T00:00:00', '2000-01-10T00:00:00'])
    assert.match(String(node('/codecs').timeError), /codec "evil1"/)
    assert.match(String(node('/bigchunk').timeError), /chunks \[100000000\]/)
  })
})
