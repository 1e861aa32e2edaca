// Write-side attack (session 12), sharded structure: random resize_store / resize_variable /
// graft_store / migrate_v1_to_v2 sequences on random histories made by zarr-python through py-hamt
// 3.6.0 give py-hamt's roots in ts-hamt (or both refuse, ts-hamt with a typed error); and py-hamt's
// stale v1 shape within one session (matched since session 15; one case py-hamt cannot run, todo).
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { HamtError, KuboStore, ShardedZarrStore } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { attackWriteDriver, shardedDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { applyStructural, replayStoreCalls, type StructuralOp } from './helpers/sharded.js'
import { generate, type History, type Spec } from './helpers/zarr-histories.js'

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }
const kubo = (): KuboStore => new KuboStore(kuboOptions(urls))
const seed = testSeed()

describe('random resizes, grafts and migrations of random histories give py-hamt’s roots (or both refuse)', () => {
  for (const version of ['v1', 'v2'] as const) {
    for (let c = 0; c < Number(process.env.ATTACKW12_CASES ?? 2); c++) {
      it(`${version} case ${c} (seed ${seed})`, async (t) => {
        const random = mulberry32(seed + 1000 + c * 2 + (version === 'v1' ? 0 : 1))
        const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
        const { arrays, phases, cps } = generate(random, { v1: version === 'v1' })
        const made = await attackWriteDriver<History>('history', {
          ...urls,
          version,
          chunksPerShard: cps,
          arrays,
          phases: phases.slice(0, 1),
        })
        if (made.error !== undefined) return // the first test covers refused histories
        const root = made.roots[0] as string
        const prefix = version === 'v2' ? 'g/' : ''
        const ranked = arrays.filter((a) => version === 'v2' || a === arrays[0])
        const ops: StructuralOp[] = []
        let reshaped = false
        // py-hamt 3.6.0's v1 resize_variable writes a document of another rank (zarr cannot open it):
        // ts-hamt refuses it (see hostile.sharded-left14).
        let rankChangedV1 = false
        for (let n = int(1, 3); n > 0; n--) {
          const spec = ranked[int(0, ranked.length - 1)] as Spec
          // Mostly the array's rank, sometimes one more (both sides must refuse that).
          const rank = spec.shape.length + (random() < 0.1 ? 1 : 0)
          const shape = Array.from({ length: rank }, () => (random() < 0.15 ? 0 : int(1, 9)))
          const arrayPath = version === 'v2' ? { arrayPath: `${prefix}${spec.name}` } : {}
          // v1: after a shape change only resizes and grafts (see the stale-shape todo tests below).
          const roll =
            version === 'v1' && reshaped ? (random() < 0.5 ? random() * 0.4 : 0.6 + random() * 0.3) : random()
          if (roll < 0.6) reshaped = true
          if (roll < 0.4) ops.push({ op: 'resize', shape, ...arrayPath })
          else if (roll < 0.6) {
            ops.push({ op: 'resizeVariable', name: `${prefix}${spec.name}`, shape })
            if (version === 'v1' && rank !== spec.shape.length) rankChangedV1 = true
          } else if (roll < 0.9) {
            const offset = Array.from({ length: rank }, () => int(0, 2))
            const paths =
              version === 'v2'
                ? { sourceArrayPath: `${prefix}${spec.name}`, targetArrayPath: `${prefix}${spec.name}` }
                : {}
            ops.push({ op: 'graft', root, offset, ...paths })
          } else if (version === 'v1') ops.push({ op: 'migrate', path: 'g/a0' })
        }
        const context = JSON.stringify({ arrays, cps, ops })
        let python: { root: string } | Error
        try {
          python = await shardedDriver<{ root: string }>('ops', { ...urls, root, ops })
        } catch (error) {
          python = error as Error
        }
        const store = await ShardedZarrStore.open(root, { store: kubo(), readOnly: false })
        if (python instanceof Error) {
          assert.match(python.message, /ops failed/, 'py-hamt refused, not the driver')
          t.diagnostic(`both refuse: ${python.message}`)
          await assert.rejects(
            applyStructural(store, ops),
            HamtError,
            `after ${python.message} in ${context}`,
          )
          return
        }
        if (rankChangedV1) {
          await assert.rejects(
            applyStructural(store, ops),
            /rank/,
            `py-hamt wrote it; ts-hamt refuses ${context}`,
          )
          return
        }
        assert.equal(await applyStructural(store, ops), python.root, context)
      })
    }
  }
})

// py-hamt 3.6.0 keeps a v1 store's "legacy" shape (self._array_shape) as it was when the store was
// opened once the root records a primary array path: resize_store and metadata-driven resizes change
// the shard index but not that shape. So, in one session, an array document back at the opened shape
// does not resize the index back, and migrate_v1_to_v2 builds its v2 index from the stale shape.
// ts-hamt matches it (ShardedRoot.documentShape; py-hamt wins, spec/formats.md): the same calls give
// the same root. Its index can then disagree with zarr.json: chunks outside it are refused, typed.
describe('py-hamt’s stale v1 shape within one session, matched', () => {
  const spec: Spec = { name: 'a0', shape: [6, 4], chunks: [2, 2], dtype: 'uint8', fill: 0 }
  const base = (): Promise<History> =>
    attackWriteDriver<History>('history', {
      ...urls,
      version: 'v1',
      chunksPerShard: 3,
      arrays: [spec],
      phases: [[{ op: 'write', array: 'a0', start: [0, 0], stop: [6, 4], values: Array(24).fill(7) }]],
    })

  it('zarr resizes an array away and back in one session: py-hamt’s index stays at the first resize', {
    // py-hamt 3.6.0 fails here already: its own read of the result hits an index of shape [2, 4] under
    // a zarr.json of [6, 4] (IndexError: chunk coordinate 1 out of bounds). The same documents without
    // zarr's reads are compared in sharded.v1-history.
    todo: 'py-hamt 3.6.0 cannot run this history (IndexError in its own read)',
  }, async () => {
    const made = await base()
    const phase = [
      { op: 'resize', array: 'a0', shape: [2, 4] },
      { op: 'resize', array: 'a0', shape: [6, 4] },
    ]
    const python = await attackWriteDriver<History>('history', {
      ...urls,
      version: 'v1',
      chunksPerShard: 3,
      arrays: [spec],
      phases: [[{ op: 'write', array: 'a0', start: [0, 0], stop: [6, 4], values: Array(24).fill(7) }], phase],
    })
    assert.equal(python.roots[0], made.roots[0])
    const store = await ShardedZarrStore.open(made.roots[0] as string, { store: kubo(), readOnly: false })
    await replayStoreCalls(store, python.logs[1] ?? [])
    assert.equal((await store.flush()).toString(), python.roots[1])
  })

  it('resize_store then migrate_v1_to_v2 in one session: py-hamt’s v2 index has the opened shape', async () => {
    const made = await base()
    const ops: StructuralOp[] = [
      { op: 'resize', shape: [5, 4] },
      { op: 'migrate', path: 'g/a0' },
    ]
    const python = await shardedDriver<{ root: string }>('ops', { ...urls, root: made.roots[0], ops })
    const store = await ShardedZarrStore.open(made.roots[0] as string, { store: kubo(), readOnly: false })
    assert.equal(await applyStructural(store, ops), python.root)
  })

  it('resize_store to another shard count, then migrate_v1_to_v2: both refuse, the store unchanged', async () => {
    const made = await base()
    const ops: StructuralOp[] = [
      { op: 'resize', shape: [8, 4] },
      { op: 'migrate', path: 'g/a0' },
    ]
    await assert.rejects(shardedDriver('ops', { ...urls, root: made.roots[0], ops }), /ValueError/)
    const store = await ShardedZarrStore.open(made.roots[0] as string, { store: kubo(), readOnly: false })
    await store.resize([8, 4])
    const resized = (await store.flush()).toString()
    await assert.rejects(
      store.migrateToV2('g/a0'),
      (error) => error instanceof HamtError && /opened/.test(error.message),
    )
    assert.equal(store.version, 'sharded_zarr_v1')
    assert.equal((await store.flush()).toString(), resized)
  })
})
