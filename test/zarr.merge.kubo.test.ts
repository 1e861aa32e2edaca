// Parallel writers (issue 16): three OS processes open one base Zarr root in one real Kubo, each
// writes its own chunks of one array and prints its root; the merge of their roots is the root of
// one writer writing every chunk, and the real py-hamt 3.6.0 + xarray read it with the right values.
// On a HAMT root, and on py-hamt's sharded roots (v1, v2), whose writers share shards.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { KuboStore, type ManifestVersion, mergeZarrRoots, type StoreId } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import {
  GRID,
  valueAt,
  writeBase,
  writeRows,
  writeShardedBase,
  writeShardedRows,
} from './helpers/merge-zarr.js'
import { shardedDriver, type ZarrVariable, zarrDriver } from './helpers/python.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const writer = fileURLToPath(new URL('helpers/merge-writer.ts', import.meta.url))

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }

/** Runs one writer process; resolves to the root it printed. */
async function writeInProcess(
  base: StoreId,
  rows: number[],
  layout: Layout,
): Promise<{ pid: number; root: string }> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', writer, urls.rpcUrl, urls.gatewayUrl, base.toString(), JSON.stringify(rows), layout],
    { cwd: repo, timeout: 120_000, maxBuffer: 1 << 20 },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1) as string)
}

type Layout = 'hamt' | ManifestVersion
type Read = { variables: Record<string, ZarrVariable> }

/** What the real py-hamt 3.6.0 + xarray read at `root`: HAMT through zarr_driver, sharded through sharded_driver. */
function readWithPyHamt(layout: Layout, root: string): Promise<Read> {
  if (layout === 'hamt') return zarrDriver<Read>('read', { store: 'kubo', ...urls, root })
  const group = layout === 'sharded_zarr_v2' ? { group: '0' } : {}
  return shardedDriver<Read>('read', { ...urls, root, ...group })
}

describe('parallel writers on one Kubo, merged', () => {
  for (const layout of ['hamt', 'sharded_zarr_v1', 'sharded_zarr_v2'] as const) {
    it(`3 processes write disjoint chunks of one array (${layout}); the merge equals one writer and py-hamt reads it`, async () => {
      const store = new KuboStore(kuboOptions(urls))
      const base = layout === 'hamt' ? await writeBase(store) : await writeShardedBase(store, layout)
      const parts = [
        [0, 3],
        [1, 4],
        [2, 5],
      ]
      const written = await Promise.all(parts.map((rows) => writeInProcess(base, rows, layout)))
      assert.equal(new Set(written.map((w) => w.pid)).size, 3, 'three processes')
      assert.ok(written.every((w) => w.pid !== process.pid))
      const roots = written.map((w) => w.root)
      assert.equal(new Set(roots).size, 3, 'each writer made its own root')

      let merged: StoreId | string = roots[0] as string
      for (const root of roots.slice(1)) merged = await mergeZarrRoots(base, merged, root, { store })
      const all = [0, 1, 2, 3, 4, 5]
      const single =
        layout === 'hamt'
          ? await writeRows(store, base, all)
          : await writeShardedRows(store, base, all, layout)
      assert.equal(merged.toString(), single.toString(), 'the merged root is the one-writer root')

      const temp = (await readWithPyHamt(layout, merged.toString())).variables.temp as ZarrVariable
      assert.deepEqual(temp.shape, [...GRID.shape])
      assert.deepEqual(temp.dims, ['y', 'x'])
      const expected = Array.from({ length: GRID.shape[0] * GRID.shape[1] }, (_, i) =>
        valueAt(Math.floor(i / GRID.shape[1]), i % GRID.shape[1]),
      )
      assert.deepEqual(temp.values, expected)
    })
  }
})
