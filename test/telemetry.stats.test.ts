// The retrieval snapshot (ts-hamt/telemetry's collectRetrievalStats), checked against a store that
// records every load it is asked for; and, in a child process, that reading (with or without the
// snapshot) never loads an @opentelemetry module.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { formatId } from '../src/blocks.js'
import {
  type AbortOptions,
  type Codec,
  type ContentAddressedStore,
  HAMT,
  isHamtError,
  type LoadOptions,
  MemoryStore,
  ShardedZarrStore,
  type StoreId,
} from '../src/index.js'
import { collectRetrievalStats, type RetrievalStats } from '../src/telemetry/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { ensureCliBuilt } from './helpers/cli.js'
import { testSeed } from './helpers/random.js'
import { bytes } from './helpers/sharded.js'

const seed = testSeed()

/** Records each load: its ID, whether it had a range, and the bytes it returned. */
class RecordingStore implements ContentAddressedStore {
  readonly loads: Array<{ id: string; ranged: boolean; bytes: number }> = []
  readonly #inner: ContentAddressedStore

  constructor(inner: ContentAddressedStore) {
    this.#inner = inner
  }

  save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    return this.#inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    const value = await this.#inner.load(id, options)
    this.loads.push({ id: formatId(id), ranged: options?.range !== undefined, bytes: value.length })
    return value
  }
}

function tally(names: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1)
  return counts
}

describe('retrieval snapshot', () => {
  let stats: RetrievalStats | undefined
  after(() => stats?.stop())

  it('counts loads, duplicate IDs, bytes, ranges, lookups and top keys as the store saw them', async () => {
    const keyCount = 400
    const backing = await MemoryStore.create()
    const writer = await HAMT.create<Uint8Array>({ store: backing, valuesAreBytes: true, maxBucketSize: 2 })
    for (let i = 0; i < keyCount; i++) await writer.set(`k${i}`, new Uint8Array(1 + (i % 50)).fill(i % 256))
    await writer.flush()

    const reads = fc.sample(
      fc.array(fc.record({ key: fc.nat(keyCount + 20), ranged: fc.boolean() }), {
        minLength: 200,
        maxLength: 200,
      }),
      { seed, numRuns: 1 },
    )[0] as Array<{ key: number; ranged: boolean }>
    const store = new RecordingStore(backing)
    // A node cache too small for the tree: lookups load some nodes again, so IDs repeat.
    const map = await HAMT.open<Uint8Array>(writer.rootId, { store, valuesAreBytes: true, cacheBytes: 2000 })
    stats = collectRetrievalStats({ top: 5 })
    const opened = store.loads.length // the root, read by HAMT.open before the collector started
    for (const { key, ranged } of reads) {
      await map.get(`k${key}`, ranged ? { range: { offset: 0, length: 1 } } : undefined)
    }
    const snapshot = stats.snapshot()
    const seen = store.loads.slice(opened)
    const ids = tally(seen.map((load) => load.id))
    assert.ok(seen.length > reads.length, 'node loads and value loads')
    assert.equal(snapshot.loads.requests, seen.length)
    assert.equal(snapshot.loads.uniqueIds, ids.size)
    assert.equal(snapshot.loads.duplicateRequests, seen.length - ids.size)
    assert.ok(snapshot.loads.duplicateRequests > 0, 'the small cache makes some loads repeat')
    assert.equal(snapshot.loads.ranged, seen.filter((load) => load.ranged).length)
    assert.equal(
      snapshot.loads.bytes,
      seen.reduce((sum, load) => sum + load.bytes, 0),
    )
    assert.deepEqual(snapshot.loads.byStatus, { ok: seen.length })
    assert.equal(snapshot.loads.latencyMs.count, seen.length)
    const top = [...ids.values()].sort((a, b) => b - a).slice(0, 5)
    assert.deepEqual(
      snapshot.topIds.map((entry) => entry.requests),
      top,
    )
    for (const { id, requests } of snapshot.topIds) assert.equal(requests, ids.get(id))

    const keys = tally(reads.map(({ key }) => `hamt:k${key}`))
    assert.equal(snapshot.lookups.requests, reads.length)
    assert.equal(snapshot.lookups.found, reads.filter(({ key }) => key < keyCount).length)
    for (const { key, requests } of snapshot.topKeys) assert.equal(requests, keys.get(key), key)
    assert.equal(snapshot.topKeys[0]?.requests, Math.max(...keys.values()))
    // Nodes loaded from the store inside lookups: every load but the value loads.
    const valueLoads = reads.filter(({ key }) => key < keyCount).length
    assert.equal(snapshot.lookups.nodeLoads - snapshot.lookups.nodeCacheHits, seen.length - valueLoads)
    const { latencyMs } = snapshot.loads
    assert.ok(latencyMs.min <= latencyMs.p50 && latencyMs.p50 <= latencyMs.p90)
    assert.ok(latencyMs.p90 <= latencyMs.p99 && latencyMs.p99 <= latencyMs.max)
    assert.equal(snapshot.truncated, false)

    stats.reset()
    assert.equal(stats.snapshot().loads.requests, 0)
    await map.get('k1')
    assert.ok(stats.snapshot().lookups.requests === 1)
    stats.stop()
    await map.get('k2')
    assert.equal(stats.snapshot().lookups.requests, 1, 'a stopped collector counts nothing more')
  })

  it('counts shard loads and shard cache hits of a sharded store, and its loads as the store saw them', async () => {
    const backing = await CidMemoryStore.create()
    const writer = await ShardedZarrStore.create({
      store: backing,
      arrayShape: [4, 4],
      chunkShape: [1, 1],
      chunksPerShard: 3,
    })
    for (let i = 0; i < 4; i++) await writer.set(`a/c/0/${i}`, bytes(i))
    const root = await writer.flush()
    const store = new RecordingStore(backing)
    const reader = await ShardedZarrStore.open(root, { store })
    const collector = collectRetrievalStats()
    const opened = store.loads.length // the root, read by open before the collector started
    for (const i of [0, 1, 2, 0, 3]) assert.deepEqual(await reader.get(`a/c/0/${i}`), bytes(i))
    const snapshot = collector.snapshot()
    collector.stop()
    // Shard 0 holds a/c/0/0..2, shard 1 holds a/c/0/3: each loaded once, the other reads hit the cache.
    assert.deepEqual(snapshot.shardLoads.requests, 5)
    assert.deepEqual(snapshot.shardLoads.cacheHits, 3)
    assert.equal(snapshot.zarrGets.requests, 5)
    assert.equal(snapshot.zarrGets.hits, 5)
    assert.equal(snapshot.loads.requests, store.loads.length - opened)
    assert.equal(snapshot.loads.requests, 2 + 5, 'two shards and five chunks')
    assert.equal(snapshot.loads.duplicateRequests, 1, 'a/c/0/0 twice')
    assert.deepEqual(snapshot.topKeys[0], { key: 'sharded_store:a/c/0/0', requests: 2 })
  })

  it('tracks at most maxTracked distinct IDs and keys, says so, and still counts every load exactly', async () => {
    const store = new RecordingStore(await MemoryStore.create())
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 10; i++) await writer.set(`k${i}`, i)
    await writer.flush()
    const reader = await HAMT.open<number>(writer.rootId, { store })
    const collector = collectRetrievalStats({ maxTracked: 3 })
    const opened = store.loads.length
    for (let i = 0; i < 10; i++) assert.equal(await reader.get(`k${i}`), i)
    const snapshot = collector.snapshot()
    collector.stop()
    assert.equal(snapshot.truncated, true)
    assert.equal(snapshot.loads.requests, store.loads.length - opened)
    assert.equal(snapshot.loads.uniqueIds, 3)
    assert.ok(snapshot.topKeys.length <= 3 && snapshot.topIds.length <= 3)
    assert.equal(snapshot.lookups.requests, 10)
  })

  it('refuses options that are not positive integers', () => {
    const invalid = (err: unknown) =>
      isHamtError(err, 'ERR_INVALID_ARGUMENT') && /sampleLimit|top/.test(err.message)
    assert.throws(() => collectRetrievalStats({ top: 0 }), invalid)
    assert.throws(() => collectRetrievalStats({ sampleLimit: 1.5 }), invalid)
  })
})

describe('without OpenTelemetry', () => {
  const repo = fileURLToPath(new URL('..', import.meta.url))
  before(ensureCliBuilt)

  it('reading, and the retrieval snapshot, load no @opentelemetry module (a resolve hook refuses them)', async () => {
    // The hook makes any import of @opentelemetry fail; the last line checks that it does.
    const hook = `export async function resolve(specifier, context, next) {
  if (specifier.includes('@opentelemetry')) throw new Error('refused ' + specifier)
  return next(specifier, context)
}`
    const script = `
import { register, createRequire } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))
const { HAMT, MemoryStore, ZarrHAMTStore } = await import(${JSON.stringify(`${repo}dist/index.js`)})
const { collectRetrievalStats } = await import(${JSON.stringify(`${repo}dist/telemetry/index.js`)})
const store = new MemoryStore()
const map = await HAMT.create({ store, valuesAreBytes: true })
await map.set('zarr.json', new TextEncoder().encode('{}'))
await map.flush()
const reader = new ZarrHAMTStore(await HAMT.open(map.rootId, { store, valuesAreBytes: true }))
await reader.get('zarr.json')
const stats = collectRetrievalStats()
await reader.get('zarr.json')
const cjs = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('@opentelemetry'))
let refused = false
try { await import('@opentelemetry/api') } catch (error) { refused = /refused/.test(error.message) }
console.log(JSON.stringify({ gets: stats.snapshot().zarrGets.requests, cjs, refused }))
`
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repo,
      timeout: 60_000,
    })
    assert.deepEqual(JSON.parse(stdout), { gets: 1, cjs: [], refused: true })
  })
})
