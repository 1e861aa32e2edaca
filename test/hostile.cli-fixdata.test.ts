// `zarr get --isel` (and `--select`) on slices a user may type: a step of 0 or below 0, empty parts, too many parts,
// numbers past 2^53. A malformed one is a usage error (exit 2) naming the argument; a slice bound
// past the end selects to the end, as Python's slices do.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type CliRun, ensureCliBuilt, runCli } from './helpers/cli.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-fixdata-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)
await loadBlake3()

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** A Zarr v3 dataset on disk: t(x) = 0..9, float64, one chunk, no coordinate. */
async function dataset(): Promise<{ store: string; root: string }> {
  const store = await mkdtemp(join(scratch, 'store-'))
  const map = await HAMT.create<Uint8Array>({ store: await DiskStore.open(store), valuesAreBytes: true })
  await map.set('zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
  await map.set(
    't/zarr.json',
    json({
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
    }),
  )
  await map.set('t/c/0', new Uint8Array(Float64Array.from({ length: 10 }, (_, i) => i).buffer))
  return { store, root: String(await map.flush()) }
}

describe('zarr get --isel', () => {
  it('a malformed position or slice exits 2 naming --isel and the dimension; bounds past the end clamp', async () => {
    const { store, root } = await dataset()
    const get = (isel: string): Promise<CliRun> =>
      cli('zarr', 'get', root, 't', '--isel', isel, '--store', store, '--json')
    const refused = [
      'x=0:10:0',
      'x=::0',
      'x=',
      'x=1,,2',
      'x=1,',
      'x=1:2:3:4',
      'x=1.5',
      'x=0:1e3',
      'x=99999999999999999999',
      'x=1,99999999999999999999',
    ]
    for (const isel of refused) {
      const run = await get(isel)
      assert.equal(run.code, 2, `--isel ${isel}: exit ${run.code}, ${run.stderr}`)
      assert.match(run.stderr, /--isel x/, `--isel ${isel}: ${run.stderr}`)
    }
    const selected: Array<[string, number[] | number]> = [
      ['x=0:99999999999999999999', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['x=-99999999999999999999:2', [0, 1]],
      ['x=1:9:99999999999999999999', [1]],
      ['x=7:', [7, 8, 9]],
      ['x=:', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['x=::4', [0, 4, 8]],
      ['x=-1', 9],
      ['x=3,-1,0', [3, 9, 0]],
      ['x=5:2', []],
      // A step below 0 runs backwards, as NumPy's (and the library's isel).
      ['x=9:0:-1', [9, 8, 7, 6, 5, 4, 3, 2, 1]],
      ['x=0:10:-1', []],
      ['x=::-4', [9, 5, 1]],
      ['x=99999999999999999999::-99999999999999999999', [9]],
    ]
    for (const [isel, values] of selected) {
      const run = await get(isel)
      assert.equal(run.code, 0, `--isel ${isel}: ${run.stderr}`)
      const got = JSON.parse(run.stdout).values
      assert.deepEqual(Array.isArray(values) ? got : got[0], values, `--isel ${isel}`)
    }
    // --select (raw positions) takes the same slices: zarrita's own refusal of a step was exit 1.
    for (const select of ['0:10:0', '::0', '9:0:-1']) {
      const run = await cli('zarr', 'get', root, 't', '--select', select, '--store', store, '--json')
      assert.equal(run.code, 2, `--select ${select}: exit ${run.code}, ${run.stderr}`)
      assert.match(run.stderr, /--select item 1/, `--select ${select}: ${run.stderr}`)
    }
    // Out of bounds for this array (the data decides, not the syntax): a failed command, exit 1.
    const beyond = await get('x=10')
    assert.equal(beyond.code, 1, beyond.stderr)
    assert.match(beyond.stderr, /out of bounds/)
  })
})
