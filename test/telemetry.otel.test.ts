// OpenTelemetry through ts-hamt/telemetry's instrument(), checked with the SDK's in-memory exporters:
// reads from a real Kubo (HAMT, Zarr on a HAMT, sharded Zarr) and from loopback gateways (a retry, a
// block that fails verification). Every name emitted must be documented on instrument(), and every
// metric documented there must be emitted by this file's reads.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { HAMT, KuboStore, ShardedZarrStore, TrustlessGatewayStore, ZarrHAMTStore } from '../src/index.js'
import { collectRetrievalStats, instrument } from '../src/telemetry/index.js'
import { type KuboDaemon, kuboOptions, startKubo } from './helpers/kubo.js'
import { serve } from './helpers/loopback.js'
import { counterSum, histogramTotals, otel, startOtel } from './helpers/otel.js'
import { bytes, v3Array } from './helpers/sharded.js'

const harness = startOtel()
const seenSpans: ReadableSpan[] = []
/** The spans since the last call (kept for the documentation check at the end). */
function takeSpans(): ReadableSpan[] {
  const spans = harness.spans()
  seenSpans.push(...spans)
  harness.reset()
  return spans
}

const named = (spans: ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name)
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId)

let daemon: KuboDaemon
let stop: () => void
before(async () => {
  daemon = await startKubo()
  stop = instrument(otel)
})
after(async () => {
  stop?.()
  await daemon?.stop()
})

describe('OpenTelemetry: a HAMT read from Kubo', () => {
  it('names lookups, store loads and gateway requests as documented, nested, with counts the metrics agree with', async () => {
    // One key a bucket: 300 keys in 256 slots make a tree two levels deep in places.
    const writer = await HAMT.create<number>({ store: new KuboStore(kuboOptions(daemon)), maxBucketSize: 1 })
    for (let i = 0; i < 300; i++) await writer.set(`key-${i}`, i)
    await writer.flush()
    const before = await harness.metrics()
    const lookupsBefore = counterSum(before.get('py_hamt.hamt.lookup.requests'))
    const missesBefore = counterSum(before.get('py_hamt.hamt.node_load.requests'), {
      'py_hamt.cache_hit': false,
    })
    takeSpans()

    // The retrieval snapshot alongside OpenTelemetry: both sinks hear every read.
    const stats = collectRetrievalStats()
    const map = await HAMT.open<number>(writer.rootId, { store: new KuboStore(kuboOptions(daemon)) })
    const keys = ['key-0', 'key-17', 'key-299', 'key-17', 'absent', 'key-42', 'key-123']
    const got = []
    for (const key of keys) got.push(await map.get(key))
    assert.deepEqual(got, [0, 17, 299, 17, undefined, 42, 123])
    const spans = takeSpans()
    const snapshot = stats.snapshot()
    stats.stop()

    const lookups = named(spans, 'py_hamt.hamt.lookup')
    assert.deepEqual(
      lookups.map((s) => [
        s.attributes['py_hamt.hamt.lookup.key'],
        s.attributes['py_hamt.hamt.lookup.found'],
      ]),
      keys.map((key) => [key, key !== 'absent']),
    )
    let misses = 0
    for (const lookup of lookups) {
      const a = lookup.attributes
      const loads = a['py_hamt.hamt.lookup.node_loads'] as number
      assert.equal(a['py_hamt.hamt.lookup.depth'], loads - 1)
      const missed = loads - (a['py_hamt.hamt.lookup.node_cache_hits'] as number)
      // Each node the lookup did not find in memory is a store load inside its span.
      const loadsInside = named(childrenOf(spans, lookup), 'py_hamt.cas.load')
      assert.equal(loadsInside.length, missed, `lookup of ${a['py_hamt.hamt.lookup.key']}`)
      misses += missed
    }
    assert.ok(misses > 0)
    assert.ok(
      lookups.some((s) => (s.attributes['py_hamt.hamt.lookup.depth'] as number) > 0),
      'some key sits below the root',
    )
    // The second lookup of key-17 finds its whole path in the node cache.
    assert.equal(
      lookups[3]?.attributes['py_hamt.hamt.lookup.node_cache_hits'],
      lookups[3]?.attributes['py_hamt.hamt.lookup.node_loads'],
    )

    const loads = named(spans, 'py_hamt.cas.load')
    const gateway = `${daemon.gatewayUrl}/ipfs/`
    const reader = new KuboStore(kuboOptions(daemon))
    let totalBytes = 0
    for (const load of loads) {
      const cid = CID.parse(load.attributes['py_hamt.cid'] as string)
      assert.equal(load.attributes['py_hamt.cas.status'], 'ok')
      assert.equal(load.attributes['py_hamt.cas.has_range'], false)
      // The bytes the span reports are the block's, as Kubo serves it.
      const size = (await reader.load(cid)).length
      assert.equal(load.attributes['py_hamt.cas.response_bytes'], size)
      totalBytes += size
      const [request, ...more] = named(childrenOf(spans, load), 'ts_hamt.gateway.request')
      assert.equal(more.length, 0)
      assert.equal(request?.attributes['ts_hamt.gateway'], gateway)
      assert.equal(request?.attributes['py_hamt.cid'], cid.toString())
      assert.equal(request?.attributes['py_hamt.cas.response_bytes'], size)
    }
    // Node loads in lookups; outside them, the root's (HAMT.open reads it) and one value load per key found.
    const inLookups = new Set(lookups.flatMap((lookup) => childrenOf(spans, lookup)))
    const outside = loads.filter((load) => !inLookups.has(load)).map((load) => load.attributes['py_hamt.cid'])
    assert.equal(loads.length - outside.length, misses)
    assert.equal(outside[0], writer.rootId.toString())
    assert.equal(outside.length, 1 + 6)
    assert.equal(snapshot.loads.requests, loads.length)
    assert.equal(snapshot.lookups.requests, keys.length)
    assert.equal(snapshot.lookups.nodeLoads - snapshot.lookups.nodeCacheHits, misses)
    assert.deepEqual(
      snapshot.gateways.map((g) => [g.gateway, g.requests]),
      [[gateway, loads.length]],
    )
    takeSpans()

    const after = await harness.metrics()
    const ok = { 'py_hamt.cas.status': 'ok', 'py_hamt.cas.has_range': false }
    const added = (name: string, where: otel.Attributes = {}) =>
      counterSum(after.get(name), where) - counterSum(before.get(name), where)
    assert.equal(added('py_hamt.cas.load.requests', ok), loads.length)
    assert.equal(added('py_hamt.cas.load.response_bytes', ok), totalBytes)
    assert.equal(
      histogramTotals(after.get('py_hamt.cas.load.duration')).count,
      counterSum(after.get('py_hamt.cas.load.requests')),
    )
    assert.equal(counterSum(after.get('py_hamt.hamt.lookup.requests')) - lookupsBefore, keys.length)
    assert.equal(
      counterSum(after.get('py_hamt.hamt.lookup.requests'), { 'py_hamt.hamt.lookup.found': false }),
      1,
    )
    assert.equal(
      counterSum(after.get('py_hamt.hamt.node_load.requests'), { 'py_hamt.cache_hit': false }) - missesBefore,
      misses + 1, // and the root, at open
    )
    // The reads above and this test's own reads of each block straight from the store.
    assert.equal(added('ts_hamt.gateway.requests', { 'ts_hamt.gateway': gateway }), 2 * loads.length)
    assert.equal(added('ts_hamt.gateway.response_bytes', { 'ts_hamt.gateway': gateway }), 2 * totalBytes)
  })
})

describe('OpenTelemetry: Zarr gets from Kubo', () => {
  it('ZarrHAMTStore: py_hamt.hamt_store.get spans and py_hamt.zarr.get metrics by kind and hit', async () => {
    const map = await HAMT.create<Uint8Array>({
      store: new KuboStore(kuboOptions(daemon)),
      valuesAreBytes: true,
    })
    const writer = new ZarrHAMTStore(map)
    await writer.set('/temp/zarr.json', v3Array([4], [2]))
    await writer.set('/temp/c/0', bytes(1, 2))
    await map.flush()
    const before = await harness.metrics()
    const count = (where: otel.Attributes, m = before) =>
      counterSum(m.get('py_hamt.zarr.get.requests'), where)
    takeSpans()

    const reader = new ZarrHAMTStore(
      await HAMT.open<Uint8Array>(map.rootId, {
        store: new KuboStore(kuboOptions(daemon)),
        valuesAreBytes: true,
      }),
    )
    assert.ok(await reader.get('/temp/zarr.json'))
    assert.deepEqual(await reader.getRange('/temp/c/0', { offset: 1, length: 1 }), bytes(2))
    assert.equal(await reader.get('/temp/c/9'), undefined)
    const spans = takeSpans()
    const gets = named(spans, 'py_hamt.hamt_store.get')
    assert.deepEqual(
      gets.map((s) => [
        s.attributes['py_hamt.zarr.key'],
        s.attributes['py_hamt.zarr.kind'],
        s.attributes['py_hamt.zarr.byte_range'],
        s.attributes['py_hamt.zarr.hit'],
        s.attributes['py_hamt.zarr.store'],
      ]),
      [
        ['temp/zarr.json', 'metadata', false, true, 'hamt_store'],
        ['temp/c/0', 'chunk', true, true, 'hamt_store'],
        ['temp/c/9', 'chunk', false, false, 'hamt_store'],
      ],
    )
    // The lookup runs inside the get, and the ranged value load is a ranged store load.
    for (const get of gets) assert.equal(named(childrenOf(spans, get), 'py_hamt.hamt.lookup').length, 1)
    const ranged = named(childrenOf(spans, gets[1] as ReadableSpan), 'py_hamt.cas.load')
    assert.deepEqual(
      ranged.map((s) => s.attributes['py_hamt.cas.has_range']),
      [true],
    )
    const after = await harness.metrics()
    const base = { 'py_hamt.zarr.store': 'hamt_store' }
    for (const [where, added] of [
      [{ ...base, 'py_hamt.zarr.kind': 'metadata', 'py_hamt.zarr.hit': true }, 1],
      [
        { ...base, 'py_hamt.zarr.kind': 'chunk', 'py_hamt.zarr.hit': true, 'py_hamt.zarr.byte_range': true },
        1,
      ],
      [{ ...base, 'py_hamt.zarr.kind': 'chunk', 'py_hamt.zarr.hit': false }, 1],
    ] as const) {
      assert.equal(count(where, after) - count(where), added, JSON.stringify(where))
    }
    assert.ok(histogramTotals(after.get('py_hamt.zarr.get.duration'), base).count >= 3)
  })

  it('ShardedZarrStore: shard loads once per shard, cache hits after; py_hamt.sharded_store.get spans', async () => {
    const writer = await ShardedZarrStore.create({
      store: new KuboStore(kuboOptions(daemon)),
      arrayShape: [4, 4],
      chunkShape: [1, 1],
      chunksPerShard: 3,
    })
    await writer.set('a/c/0/0', bytes(7))
    await writer.set('a/c/0/1', bytes(8, 9))
    const root = await writer.flush()
    const before = await harness.metrics()
    const shardLoads = (m: typeof before, hit: boolean) =>
      counterSum(m.get('py_hamt.sharded_store.shard_load.requests'), { 'py_hamt.cache_hit': hit })
    takeSpans()

    const reader = await ShardedZarrStore.open(root, { store: new KuboStore(kuboOptions(daemon)) })
    assert.deepEqual(await reader.get('a/c/0/0'), bytes(7))
    assert.deepEqual(await reader.getRange('a/c/0/1', { suffixLength: 1 }), bytes(9))
    assert.deepEqual(await reader.get('a/c/0/0'), bytes(7))
    const spans = takeSpans()
    const gets = named(spans, 'py_hamt.sharded_store.get')
    assert.deepEqual(
      gets.map((s) => [
        s.attributes['py_hamt.zarr.key'],
        s.attributes['py_hamt.zarr.kind'],
        s.attributes['py_hamt.zarr.hit'],
      ]),
      [
        ['a/c/0/0', 'chunk', true],
        ['a/c/0/1', 'chunk', true],
        ['a/c/0/0', 'chunk', true],
      ],
    )
    const [load, ...others] = named(spans, 'ts_hamt.sharded_store.shard_load')
    assert.equal(others.length, 0, 'one shard, loaded once')
    assert.equal(load?.attributes['py_hamt.sharded_store.shard_idx'], 0)
    assert.equal(
      load?.attributes['ts_hamt.sharded_store.array'],
      '',
      'a v1 root holds one array, at the root',
    )
    assert.equal(load?.attributes['py_hamt.sharded_store.shard_entries'], 3)
    assert.equal(load?.parentSpanContext?.spanId, gets[0]?.spanContext().spanId)
    assert.equal(named(childrenOf(spans, load as ReadableSpan), 'py_hamt.cas.load').length, 1)
    const after = await harness.metrics()
    assert.equal(shardLoads(after, false) - shardLoads(before, false), 1)
    assert.equal(shardLoads(after, true) - shardLoads(before, true), 2)
    assert.ok(
      histogramTotals(after.get('py_hamt.sharded_store.shard_entries'), { 'py_hamt.cache_hit': false }).sum >=
        3,
    )
  })
})

describe('OpenTelemetry: gateway failures', () => {
  const block = new TextEncoder().encode('a block served by a loopback gateway')
  let cid: CID
  before(async () => {
    cid = CID.createV1(raw.code, await sha256.digest(block))
  })
  const answer = (res: ServerResponse, body: Uint8Array): void => {
    res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': body.length })
    res.end(body)
  }

  // A connection closed before any answer is sent again at once, not retried (gateway.ts); a 503 is.
  it('a retry after a 503 counts in py_hamt.cas.load.retries, by server', async () => {
    let requests = 0
    const gateway = await serve((_req, res) => {
      if (requests++ === 0) res.writeHead(503).end('busy')
      else answer(res, block)
    })
    const host = `127.0.0.1:${gateway.port}`
    const retries = async () =>
      counterSum((await harness.metrics()).get('py_hamt.cas.load.retries'), { 'server.address': host })
    const store = new TrustlessGatewayStore({ gateways: gateway.url, retries: 2, retryDelayMs: 1 })
    assert.deepEqual(await store.load(cid), block)
    assert.equal(requests, 2)
    assert.equal(await retries(), 1)
    takeSpans()
  })

  it('a block that does not hash to its CID: ts_hamt.cas.verification_failures, status content_mismatch, an error span', async () => {
    const gateway = await serve((_req, res) => answer(res, new TextEncoder().encode('not the block')))
    const url = `${gateway.url}/ipfs/`
    const before = await harness.metrics()
    const failures = (m: typeof before) =>
      counterSum(m.get('ts_hamt.cas.verification_failures'), { 'ts_hamt.source': url })
    const store = new TrustlessGatewayStore({ gateways: gateway.url })
    await assert.rejects(
      store.load(cid),
      (error: Error & { code?: string }) => error.code === 'ERR_INTEGRITY',
    )
    const after = await harness.metrics()
    assert.equal(failures(after) - failures(before), 1)
    const [request] = named(takeSpans(), 'ts_hamt.gateway.request')
    assert.equal(request?.attributes['py_hamt.cas.status'], 'content_mismatch')
    assert.equal(request?.status.code, otel.SpanStatusCode.ERROR)
    assert.equal(request?.events[0]?.name, 'exception')
    assert.equal(
      counterSum(after.get('ts_hamt.gateway.requests'), {
        'ts_hamt.gateway': url,
        'py_hamt.cas.status': 'content_mismatch',
      }),
      1,
    )
  })
})

describe('OpenTelemetry: the documentation', () => {
  const doc = readFileSync(new URL('../src/telemetry/otel.ts', import.meta.url), 'utf8')
  const tsdoc = doc.slice(
    doc.indexOf('/**\n * Sends spans and metrics'),
    doc.indexOf('export function instrument'),
  )
  const documented = new Set([...tsdoc.matchAll(/`([a-z_]+(?:\.[a-z_]+)+)`/g)].map((m) => m[1] as string))
  const metricsSection = tsdoc.slice(tsdoc.indexOf(' * Metrics'))
  const documentedMetrics = [...metricsSection.matchAll(/`([a-z_.]+)` \((?:1|By|s)\)/g)].map(
    (m) => m[1] as string,
  )

  it('lists every span name and attribute the reads above emitted', () => {
    assert.ok(seenSpans.length > 20 && documentedMetrics.length >= 19)
    for (const span of seenSpans) {
      assert.ok(documented.has(span.name), `span ${span.name} is not documented`)
      for (const key of Object.keys(span.attributes))
        assert.ok(documented.has(key), `attribute ${key} of ${span.name}`)
    }
  })

  it('lists every metric emitted, with its attributes, and each metric it lists was emitted by the reads above', async () => {
    const metrics = await harness.metrics()
    for (const metric of metrics.values()) {
      assert.ok(
        documentedMetrics.includes(metric.descriptor.name),
        `metric ${metric.descriptor.name} is not documented`,
      )
      for (const point of metric.dataPoints) {
        for (const key of Object.keys(point.attributes))
          assert.ok(documented.has(key), `attribute ${key} of ${metric.descriptor.name}`)
      }
    }
    for (const name of documentedMetrics)
      assert.ok(metrics.has(name), `documented metric ${name} was not emitted`)
  })
})
