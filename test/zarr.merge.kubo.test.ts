// Parallel writers (issue 16): three OS processes open one base Zarr root in one real Kubo, each
// writes its own chunks of one array and prints its root; the merge of their roots is the root of
// one writer writing every chunk, and the real py-hamt 3.6.0 + xarray read it with the right values.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { KuboStore, mergeZarrRoots, type StoreId } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { GRID, valueAt, writeBase, writeRows } from './helpers/merge-zarr.js'
import { type ZarrVariable, zarrDriver } from './helpers/python.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const writer = fileURLToPath(new URL('helpers/merge-writer.ts', import.meta.url))

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }

/** Runs one writer process; resolves to the root it printed. */
async function writeInProcess(base: StoreId, rows: number[]): Promise<{ pid: number; root: string }> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', writer, urls.rpcUrl, urls.gatewayUrl, base.toString(), JSON.stringify(rows)],
    { cwd: repo, timeout: 120_000, maxBuffer: 1 << 20 },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1) as string)
}

describe('parallel writers on one Kubo, merged', () => {
  it('3 processes write disjoint chunks of one array; the merge equals one writer and py-hamt reads it', async () => {
    const store = new KuboStore(kuboOptions(urls))
    const base = await writeBase(store)
    const parts = [
      [0, 3],
      [1, 4],
      [2, 5],
    ]
    const written = await Promise.all(parts.map((rows) => writeInProcess(base, rows)))
    assert.equal(new Set(written.map((w) => w.pid)).size, 3, 'three processes')
    assert.ok(written.every((w) => w.pid !== process.pid))
    const roots = written.map((w) => w.root)
    assert.equal(new Set(roots).size, 3, 'each writer made its own root')

    let merged: StoreId | string = roots[0] as string
    for (const root of roots.slice(1)) merged = await mergeZarrRoots(base, merged, root, { store })
    const single = await writeRows(store, base, [0, 1, 2, 3, 4, 5])
    assert.equal(merged.toString(), single.toString(), 'the merged root is the one-writer root')

    const read = await zarrDriver<{ variables: Record<string, ZarrVariable> }>('read', {
      store: 'kubo',
      ...urls,
      root: merged.toString(),
    })
    const temp = read.variables.temp as ZarrVariable
    assert.deepEqual(temp.shape, [...GRID.shape])
    assert.deepEqual(temp.dims, ['y', 'x'])
    const expected = Array.from({ length: GRID.shape[0] * GRID.shape[1] }, (_, i) =>
      valueAt(Math.floor(i / GRID.shape[1]), i % GRID.shape[1]),
    )
    assert.deepEqual(temp.values, expected)
  })
})
