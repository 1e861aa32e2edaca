// Write-side attack (session 12): random Zarr histories made by zarr-python on py-hamt 3.6.0's
// ShardedZarrStore (random geometries: shapes chunks do not divide, 0-length and length-1 dims, up to
// 4 dims; random dtypes and fill values; writes, all-fill writes, resizes and attribute rewrites,
// reopened between phases), replayed call by call on ts-hamt's store: every root must be py-hamt's,
// and zarrita through ts-hamt must read the values zarr-python reads.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { HamtError, KuboStore, ShardedZarrStore } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { attackWriteDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { replayStoreCalls } from './helpers/sharded.js'
import { generate, type History, type Op, readFlat, type Spec } from './helpers/zarr-histories.js'

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }
const kubo = (): KuboStore => new KuboStore(kuboOptions(urls))
const seed = testSeed()

/** Runs a history in py-hamt, replays its store calls here (roots equal after each phase, or both refuse), then reads the last root with zarrita. */
async function compareHistory(
  version: 'v1' | 'v2',
  history: { arrays: Spec[]; phases: Op[][]; cps: number },
  { zarrFormat = 3, read = true }: { zarrFormat?: 2 | 3; read?: boolean } = {},
): Promise<void> {
  const { arrays, phases, cps } = history
  const request = { ...urls, version, chunksPerShard: cps, arrays, phases, zarrFormat, read }
  const python = await attackWriteDriver<History>('history', request)
  const context = JSON.stringify({ arrays, cps })
  const first = arrays[0] as Spec
  let store =
    version === 'v1'
      ? await ShardedZarrStore.create({
          store: kubo(),
          arrayShape: first.shape,
          chunkShape: first.chunks,
          chunksPerShard: cps,
        })
      : await ShardedZarrStore.create({ store: kubo(), chunksPerShard: cps })
  for (const [phase, log] of python.logs.entries()) {
    if (phase > 0)
      store = await ShardedZarrStore.open(python.roots[phase - 1] as string, {
        store: kubo(),
        readOnly: false,
      })
    const replay = (): Promise<void> => replayStoreCalls(store, log)
    // py-hamt refused a call of its last phase (zarr's concurrent calls may follow it in the
    // log): ts-hamt refuses one too, with a typed error.
    if (python.error !== undefined && phase === python.logs.length - 1) {
      await assert.rejects(replay, HamtError, `after ${python.error} in ${context}`)
      return
    }
    await replay()
    const root = (await store.flush()).toString()
    assert.equal(root, python.roots[phase], `root after phase ${phase} of ${context}`)
  }
  if (!read) return
  const reader = await ShardedZarrStore.open(python.roots.at(-1) as string, { store: kubo() })
  for (const spec of arrays) {
    const path = version === 'v2' ? `g/${spec.name}` : spec.name
    assert.deepEqual(await readFlat(reader, path), python.values[spec.name], `${path} of ${context}`)
  }
}

describe('random sharded histories by zarr-python: ts-hamt replays them to py-hamt’s roots and reads the same values', () => {
  for (const version of ['v1', 'v2'] as const) {
    for (let c = 0; c < Number(process.env.ATTACKW12_CASES ?? 2); c++) {
      it(`${version} case ${c} (seed ${seed})`, async () => {
        const random = mulberry32(seed + c * 2 + (version === 'v1' ? 0 : 1))
        await compareHistory(version, generate(random, { v1: version === 'v1' }))
      })
    }
    it(`${version}, Zarr format 2 arrays (classic keys such as a0/1.0) (seed ${seed})`, async () => {
      const random = mulberry32(seed + 500 + (version === 'v1' ? 0 : 1))
      await compareHistory(version, generate(random, { v1: version === 'v1' }), { zarrFormat: 2 })
    })
    it(`${version}, 10^7 chunks in 1000 shards stay sparse: far writes and a chunk deleted`, async () => {
      const spec: Spec = { name: 'a0', shape: [1_000_000, 1000], chunks: [10, 10], dtype: 'int32', fill: 0 }
      const far = (y: number, x: number, v: number): Op => ({
        op: 'write',
        array: 'a0',
        start: [y, x],
        stop: [y + 1, x + 1],
        values: [v],
      })
      await compareHistory(
        version,
        {
          arrays: [spec],
          cps: 10_000,
          phases: [
            [far(0, 0, 1), far(999_999, 999, 2), far(500_000, 17, 3)],
            // A fill value written where a value was: zarr deletes that chunk. (zarr-python's own resize
            // walks every chunk coordinate, so none here.)
            [far(999_999, 999, 0), far(999_998, 0, 4)],
          ],
        },
        { read: false },
      )
    })
  }
})
