// An outsider's attack on ShardedZarrStore's whole-store operations (session 14): resize,
// resizeVariable and graft called without waiting take effect in call order, as on a Map (a
// sequential run of the same calls is the model); the shapes and offsets they are given are read at
// the call; bad arguments are typed errors.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { isHamtError, mergeZarrRoots, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { atEveryStoreCall, FaultStore } from './helpers/fault-injection.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, v3Array } from './helpers/sharded.js'

const seed = testSeed()

type Version = 'v1' | 'v2'
type Call =
  | { op: 'set'; key: string; value: number }
  | { op: 'delete' | 'get'; key: string }
  | { op: 'resize' | 'resizeVariable'; shape: number[] }
  | { op: 'graft'; offset: number[] }
  | { op: 'flush' | 'clear' | 'migrate' }

/** A store over one array of 1x1 chunks, 3 to a shard, with these chunks written; its path and flushed root. */
async function written(
  version: Version,
  cas: CidMemoryStore,
  shape: number[],
  chunks: [string, number][],
): Promise<{ path: string; root: string }> {
  const store =
    version === 'v1'
      ? await ShardedZarrStore.create({
          store: cas,
          arrayShape: shape,
          chunkShape: [1, 1],
          chunksPerShard: 3,
        })
      : await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
  const path = version === 'v1' ? 'a' : 'g/a'
  if (version === 'v2') await store.set(`${path}/zarr.json`, v3Array(shape, [1, 1]))
  // v1 settles its sharded array at its first chunk write.
  for (const [coords, value] of chunks) await store.set(`${path}/c/${coords}`, bytes(value))
  return { path, root: (await store.flush()).toString() }
}

/** The store the calls start from: 4x4, one chunk. */
const base = (version: Version, cas: CidMemoryStore) => written(version, cas, [4, 4], [['0/0', 200]])

/** A 2x2 source to graft from, on the same blocks. */
const graftSource = async (version: Version, cas: CidMemoryStore): Promise<string> =>
  (
    await written(
      version,
      cas,
      [2, 2],
      [
        ['0/1', 101],
        ['1/0', 110],
      ],
    )
  ).root

function generateCalls(random: () => number, version: Version, path: string): Call[] {
  const int = (n: number): number => Math.floor(random() * n)
  return Array.from({ length: 14 }, (): Call => {
    const key = `${path}/c/${int(5)}/${int(5)}`
    const pick = random()
    if (pick < 0.3) return { op: 'set', key, value: int(250) }
    if (pick < 0.4) return { op: 'delete', key }
    if (pick < 0.6) return { op: 'get', key }
    const shape = [1 + int(5), 1 + int(5)]
    if (pick < 0.7) return { op: version === 'v2' && random() < 0.5 ? 'resizeVariable' : 'resize', shape }
    if (pick < 0.85) return { op: 'graft', offset: [int(4), int(4)] }
    if (pick < 0.95) return { op: 'flush' }
    return { op: version === 'v1' && random() < 0.5 ? 'migrate' : 'clear' }
  })
}

/** Starts one call; its outcome as text (a value, a root, or the error's code). */
function start(store: ShardedZarrStore, call: Call, path: string, source: string): Promise<string> {
  const run = (): Promise<unknown> => {
    if (call.op === 'set') return store.set(call.key, bytes(call.value))
    if (call.op === 'delete') return store.delete(call.key)
    if (call.op === 'get') return store.get(call.key)
    if (call.op === 'resize') return store.resize(call.shape, { arrayPath: path })
    if (call.op === 'resizeVariable') return store.resizeVariable(path, call.shape)
    if (call.op === 'graft') return store.graft(source, call.offset, { sourceArrayPath: path })
    if (call.op === 'clear') return store.clear()
    if (call.op === 'migrate') return store.migrateToV2(path)
    return store.flush()
  }
  return run().then(
    (value) => (value instanceof Uint8Array ? `[${value}]` : String(value)),
    (error: unknown) => (isHamtError(error) ? error.code : `untyped ${String(error)}`),
  )
}

describe('whole-store operations called without waiting take effect in call order', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`${version}: generated set, delete, get, resize, graft, flush, clear and migrate match the same calls awaited one by one`, async () => {
      const random = mulberry32(seed + (version === 'v1' ? 0 : 1))
      for (let run = 0; run < 25; run++) {
        const inner = await CidMemoryStore.create()
        const { path, root } = await base(version, inner)
        const source = await graftSource(version, inner)
        const calls = generateCalls(random, version, path)
        // Every store call takes a millisecond, so a later call can overtake one still loading.
        const open = () => ShardedZarrStore.open(root, { store: new FaultStore(inner), readOnly: false })
        const model = await open()
        const expected: string[] = []
        for (const call of calls) expected.push(await start(model, call, path, source))
        expected.push((await model.flush()).toString())
        const store = await open()
        const running = calls.map((call) => start(store, call, path, source))
        running.push(store.flush().then(String))
        const context = `seed ${seed} run ${run}: ${JSON.stringify(calls)}`
        assert.deepEqual(await Promise.all(running), expected, context)
      }
    })
  }
})

describe('shapes, offsets and paths are the ones given at the call', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`${version}: changed by the caller while the call waits its turn (generated)`, async () => {
      const random = mulberry32(seed + 10 + (version === 'v1' ? 0 : 1))
      const int = (n: number): number => Math.floor(random() * n)
      for (let run = 0; run < 20; run++) {
        const inner = await CidMemoryStore.create()
        const { path, root } = await base(version, inner)
        const source = await graftSource(version, inner)
        const open = () => ShardedZarrStore.open(root, { store: new FaultStore(inner), readOnly: false })
        const shape = [3 + int(4), 3 + int(4)]
        const offset = [int(2), int(2)]
        const byVariable = version === 'v2' && random() < 0.5
        const context = `seed ${seed} run ${run}: shape ${shape}, offset ${offset}, by variable ${byVariable}`
        const calls = (store: ShardedZarrStore, given: { shape: number[]; offset: number[] }) => {
          const options = { arrayPath: path }
          const graftOptions = { sourceArrayPath: path, targetArrayPath: path }
          // A chunk write in flight first: the calls after it wait their turn.
          const running = [
            store.set(`${path}/c/0/1`, bytes(7)),
            byVariable ? store.resizeVariable(path, given.shape) : store.resize(given.shape, options),
            store.graft(source, given.offset, graftOptions),
          ]
          return { running, options, graftOptions }
        }
        const model = await open()
        for (const call of calls(model, { shape, offset }).running) await call
        const store = await open()
        const given = { shape: [...shape], offset: [...offset] }
        const { running, options, graftOptions } = calls(store, given)
        given.shape.fill(1)
        given.offset.fill(9)
        options.arrayPath = 'elsewhere'
        Object.assign(graftOptions, { sourceArrayPath: 'x', targetArrayPath: 'y' })
        await Promise.all(running)
        assert.deepEqual(
          store.arrays().map((a) => a.arrayShape),
          [shape],
          context,
        )
        assert.equal((await store.flush()).toString(), (await model.flush()).toString(), context)
      }
    })
  }
})

describe('absurd arguments to whole-store operations', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`${version}: a typed error within 64 MiB, the store as it was, and a retry works`, async () => {
      const inner = await CidMemoryStore.create()
      const { path, root } = await base(version, inner)
      const source = await graftSource(version, inner)
      const store = await ShardedZarrStore.open(root, { store: inner, readOnly: false })
      const sparse = new Array<number>(2 ** 32 - 1) // a length, no entries
      const dense = (n: number) => [n, 4]
      const absurd: [string, () => Promise<unknown>][] = [
        ['resize(null)', () => store.resize(null as unknown as number[])],
        ['resize("44")', () => store.resize('44' as unknown as number[])],
        ['resize({length: 2})', () => store.resize({ length: 2 } as unknown as number[])],
        ['resize(2**32-1 holes)', () => store.resize(sparse)],
        ['resize(2 holes)', () => store.resize(new Array<number>(2), { arrayPath: path })],
        ['resizeVariable(2 holes)', () => store.resizeVariable(path, new Array<number>(2))],
        ['graft(2 holes)', () => store.graft(source, new Array<number>(2), { sourceArrayPath: path })],
        [
          'create(2 holes)',
          () =>
            ShardedZarrStore.create({
              store: inner,
              arrayShape: new Array<number>(2),
              chunkShape: [1, 1],
              chunksPerShard: 3,
            }),
        ],
        ['resize([NaN, 4])', () => store.resize(dense(Number.NaN))],
        ['resize([-1, 4])', () => store.resize(dense(-1))],
        ['resize([2.5, 4])', () => store.resize(dense(2.5))],
        ['resize([2**53, 4])', () => store.resize(dense(2 ** 53))],
        ['resize([2**40, 2**40])', () => store.resize([2 ** 40, 2 ** 40])],
        ['resize([4])', () => store.resize([4], { arrayPath: path })],
        ['resizeVariable(2**32-1 holes)', () => store.resizeVariable(path, sparse)],
        ['resizeVariable(null)', () => store.resizeVariable(path, null as unknown as number[])],
        ['graft(2**32-1 holes)', () => store.graft(source, sparse, { sourceArrayPath: path })],
        [
          'graft(null offset)',
          () => store.graft(source, null as unknown as number[], { sourceArrayPath: path }),
        ],
        ['graft([2**52, 0])', () => store.graft(source, [2 ** 52, 0], { sourceArrayPath: path })],
        ['graft([-1, 0])', () => store.graft(source, [-1, 0], { sourceArrayPath: path })],
        ['graft(not a root)', () => store.graft('bafy-not-a-cid', [0, 0], { sourceArrayPath: path })],
        ['migrateToV2(null)', () => store.migrateToV2(null as unknown as string)],
      ]
      for (const [name, call] of absurd) {
        const outcome = await withinBudget(name, call, { ms: 20_000 })
        assert.ok(outcome.error !== undefined, `${name}: refused`)
        assertTypedError(outcome)
        assert.equal(store.hasUnflushedChanges, false, `${name}: nothing changed`)
        assert.equal(store.rootId.toString(), (await store.flush()).toString(), `${name}: the same root`)
      }
      // Null options are no options.
      await store.resize([0, 0], null as unknown as { arrayPath?: string })
      await store.resize([6, 6], version === 'v1' ? {} : { arrayPath: path })
      await store.graft(source, [4, 4], null as unknown as { sourceArrayPath?: string })
      assert.deepEqual(await store.get(`${path}/c/5/4`), bytes(110))
    })
  }
})

/** What a user sees of a store: arrays, keys and values, unsaved changes. */
async function seen(store: ShardedZarrStore): Promise<string> {
  const keys: string[] = []
  for await (const key of store.list()) keys.push(key)
  const values = await Promise.all(keys.sort().map(async (key) => `${(await store.get(key)) ?? ''}`))
  return JSON.stringify({ arrays: store.arrays(), keys, values, unsaved: store.hasUnflushedChanges })
}

describe('a resize or resizeVariable failed or aborted at any store call', () => {
  for (const [version, mode] of [
    ['v1', 'fail'],
    ['v2', 'fail'],
    ['v2', 'abort'],
  ] as const) {
    it(`${version}, ${mode}: the store is as it was, and a retry gives the root of an unfailed run`, async () => {
      const random = mulberry32(seed + 20)
      // The second dimension changes: every chunk moves (a resize that only appends loads nothing).
      const shape = [1 + Math.floor(random() * 6), [1, 2, 3, 5, 6][Math.floor(random() * 5)] as number]
      const build = async (cas: FaultStore | CidMemoryStore): Promise<ShardedZarrStore> => {
        const inner = cas instanceof FaultStore ? cas.inner : cas
        const { path, root } = await base(version, inner)
        const writer = await ShardedZarrStore.open(root, { store: inner, readOnly: false })
        for (const key of ['c/1/2', 'c/3/3', 'c/2/0']) await writer.set(`${path}/${key}`, bytes(key.length))
        const flushed = await writer.flush()
        // No clean shard kept: the resize must load each, and each load can fail.
        const store = await ShardedZarrStore.open(flushed, { store: cas, readOnly: false, cacheBytes: 0 })
        await store.set(`${path}/c/0/3`, bytes(3)) // unsaved
        return store
      }
      const resize = (store: ShardedZarrStore): Promise<void> =>
        version === 'v1' ? store.resize([...shape]) : store.resizeVariable('g/a', [...shape])
      const control = await build(await CidMemoryStore.create())
      await resize(control)
      const clean = (await control.flush()).toString()
      const { failures } = await atEveryStoreCall({
        build,
        run: resize,
        observe: seen,
        unchanged: `the store as it was (seed ${seed}, shape ${shape})`,
        mode,
        afterFailure: async (store, error, n) => {
          // resize takes no signal: a store's own abort passes as it is, as every abort does.
          const typed = isHamtError(error) || (mode === 'abort' && (error as Error).name === 'AbortError')
          assert.ok(typed, `call ${n}: a typed error, got ${String(error)}`)
          await resize(store)
          assert.equal((await store.flush()).toString(), clean, `retry after call ${n} (seed ${seed})`)
        },
      })
      assert.ok(failures >= 1, `calls failed: ${failures}`)
    })
  }
})

describe('a merge of a root that links one shard at every position', () => {
  it('stays within 64 MiB', async () => {
    const n = 300
    const cas = await CidMemoryStore.create()
    const writer = await ShardedZarrStore.create({ store: cas, chunksPerShard: n })
    await writer.set('g/a/zarr.json', v3Array([n * n], [1]))
    const base = await writer.flush()
    for (let i = 0; i < n; i++) await writer.set(`g/a/c/${i}`, bytes(1))
    const root = dagCbor.decode(await cas.load(await writer.flush())) as {
      arrays: Record<string, { shard_cids: unknown[] }>
    }
    const shards = (root.arrays['g/a'] as { shard_cids: unknown[] }).shard_cids
    shards.fill(shards[0]) // a legal root: the same n chunks in every shard
    const a = await cas.save(dagCbor.encode(root), 'dag-cbor')
    const other = await ShardedZarrStore.open(base, { store: cas, readOnly: false })
    await other.set('g/b/zarr.json', v3Array([2], [1]))
    const b = await other.flush()
    const outcome = await withinBudget('merge', () => mergeZarrRoots(base, a, b, { store: cas }), {
      ms: 60_000,
    })
    assert.equal(outcome.error, undefined)
  })
})
