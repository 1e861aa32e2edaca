// Spans and metrics through the OpenTelemetry API module the user hands over: ts-hamt never imports
// `@opentelemetry/api` itself, so without it nothing is loaded and every bundle builds.
import { InvalidArgumentError } from '../errors.js'
import { attachSink, boundedName } from './hooks.js'
import type { Begun, Ending, Instant, Outcome, Sink } from './interface.js'

type AttributeValue = string | number | boolean
type Attributes = Record<string, AttributeValue>

/** The part of `@opentelemetry/api`'s span that ts-hamt uses. */
export interface OtelSpan {
  setAttributes(attributes: Attributes): unknown
  setStatus(status: { code: number; message?: string }): unknown
  recordException(exception: Error | string): void
  end(): void
}

/** The part of `@opentelemetry/api` that ts-hamt uses: pass the module itself (`import * as otel`). */
export interface OpenTelemetryApi {
  trace: {
    getTracer(
      name: string,
      version?: string,
    ): {
      startSpan(name: string, options?: { attributes?: Attributes }, context?: never): OtelSpan
    }
    setSpan(context: never, span: never): unknown
  }
  context: {
    active(): unknown
    with(context: never, fn: () => unknown): unknown
  }
  metrics: {
    getMeter(
      name: string,
      version?: string,
    ): {
      createCounter(
        name: string,
        options?: InstrumentOptions,
      ): { add(value: number, attributes?: Attributes): void }
      createHistogram(
        name: string,
        options?: InstrumentOptions,
      ): { record(value: number, attributes?: Attributes): void }
    }
  }
}

interface InstrumentOptions {
  unit?: string
  description?: string
  advice?: { explicitBucketBoundaries?: number[] }
}

/** The instrumentation scope of every tracer and meter (py-hamt's is `py_hamt`; the instrument names are its own). */
export const SCOPE = 'ts-hamt'

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/**
 * Sends spans and metrics to OpenTelemetry through `api`, the `@opentelemetry/api` module (1.x) you
 * import, using its global tracer and meter providers (set up by your SDK). Names follow py-hamt
 * 3.6.0's `instrumentation.py`, so one dashboard serves both; what py-hamt lacks is `ts_hamt.*`.
 * Returns the function that stops it. Calling it again with the same module attaches nothing more
 * (each read is still counted once) and the last of the returned functions to run stops it. Spans nest when your SDK registers a context manager
 * (Node: AsyncLocalStorage).
 *
 * Spans (attributes set at the end unless marked "start"):
 * - `py_hamt.cas.load`: one store load. `py_hamt.cid`, `py_hamt.cas.has_range` (start);
 *   `py_hamt.cas.status`, `py_hamt.cas.response_bytes`.
 * - `ts_hamt.gateway.request`: one gateway's attempt at a load. `ts_hamt.gateway`, `py_hamt.cid` (start);
 *   `py_hamt.cas.status`, `py_hamt.cas.response_bytes`.
 * - `py_hamt.hamt.lookup`: one key lookup. `py_hamt.hamt.lookup.key` (start); `py_hamt.hamt.lookup.depth`,
 *   `py_hamt.hamt.lookup.node_loads`, `py_hamt.hamt.lookup.node_cache_hits`, `py_hamt.hamt.lookup.found`.
 * - `py_hamt.hamt_store.get` / `py_hamt.sharded_store.get`: one Zarr get. `py_hamt.zarr.key`,
 *   `py_hamt.zarr.byte_range`, `py_hamt.zarr.store`, `py_hamt.zarr.kind` (start); `py_hamt.zarr.hit`.
 * - `ts_hamt.sharded_store.shard_load`: one shard read from the store. `py_hamt.sharded_store.shard_idx`,
 *   `ts_hamt.sharded_store.array` (start); `py_hamt.sharded_store.shard_entries`.
 * A failed span has status ERROR, the exception recorded, and `py_hamt.cas.status` saying why.
 * Keys, IDs and array names above 1024 characters are cut there (and `…`): keys may be megabytes.
 *
 * Metrics (unit; attributes):
 * - `py_hamt.cas.load.requests` (1), `py_hamt.cas.load.response_bytes` (By),
 *   `py_hamt.cas.load.duration` (s): `py_hamt.cas.has_range`, `py_hamt.cas.status`.
 * - `py_hamt.cas.load.retries` (1): one per retry the HTTP client decides on (py-hamt adds a load's count when
 *   it ends; the sums agree); `server.address`, `py_hamt.cas.status` (of the failed attempt).
 * - `ts_hamt.gateway.requests` (1), `ts_hamt.gateway.response_bytes` (By), `ts_hamt.gateway.duration` (s):
 *   `ts_hamt.gateway`, `py_hamt.cas.status`.
 * - `ts_hamt.cas.verification_failures` (1): blocks that did not hash to their CID; `ts_hamt.source`.
 * - `py_hamt.hamt.lookup.requests` (1), `py_hamt.hamt.lookup.duration` (s), `py_hamt.hamt.lookup.depth` (1):
 *   `py_hamt.hamt.lookup.found`.
 * - `py_hamt.hamt.node_load.requests` (1), `py_hamt.hamt.node_load.bytes` (By): `py_hamt.cache_hit`;
 *   `py_hamt.hamt.node_load.duration` (s) for loads from the store only (`py_hamt.cache_hit` false).
 * - `py_hamt.zarr.get.requests` (1), `py_hamt.zarr.get.duration` (s): `py_hamt.zarr.store`,
 *   `py_hamt.zarr.kind`, `py_hamt.zarr.hit`, `py_hamt.zarr.byte_range`.
 * - `py_hamt.sharded_store.shard_load.requests` (1), `py_hamt.sharded_store.shard_load.duration` (s),
 *   `py_hamt.sharded_store.shard_entries` (1): `py_hamt.cache_hit`.
 *
 * @example
 * ```ts
 * import * as otel from '@opentelemetry/api'
 * import { instrument } from 'ts-hamt/telemetry'
 * const stop = instrument(otel)
 * // … reads now make spans and metrics …
 * stop()
 * ```
 */
export function instrument(api: OpenTelemetryApi): () => void {
  if (typeof api?.trace?.getTracer !== 'function' || typeof api?.metrics?.getMeter !== 'function') {
    throw new InvalidArgumentError(
      'instrument(api): api must be the @opentelemetry/api module (import * as otel)',
    )
  }
  let entry = instrumented.get(api)
  if (entry === undefined) {
    let sink: Sink
    try {
      sink = otelSink(api)
    } catch (cause) {
      throw new InvalidArgumentError(
        `instrument(api): its tracer or meter failed to set up (${(cause as Error)?.message})`,
        { cause },
      )
    }
    entry = { detach: attachSink(sink), calls: 0 }
    instrumented.set(api, entry)
  }
  const attached = entry
  attached.calls++
  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    if (--attached.calls > 0) return
    attached.detach()
    instrumented.delete(api)
  }
}

/** One sink per API module: a second `instrument` (a hot reload, two libraries) must not count every read twice. */
const instrumented = new WeakMap<OpenTelemetryApi, { detach: () => void; calls: number }>()

function otelSink(api: OpenTelemetryApi): Sink {
  const tracer = api.trace.getTracer(SCOPE)
  const meter = api.metrics.getMeter(SCOPE)
  const counter = (name: string, unit: string, description: string) =>
    meter.createCounter(name, { unit, description })
  const histogram = (name: string, unit: string, description: string, boundaries = SECONDS) =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: boundaries } })
  const m = {
    loads: counter('py_hamt.cas.load.requests', '1', 'Number of content-addressed store load requests.'),
    loadBytes: counter(
      'py_hamt.cas.load.response_bytes',
      'By',
      'Bytes returned by content-addressed store load requests.',
    ),
    retries: counter(
      'py_hamt.cas.load.retries',
      '1',
      'Retry attempts used by content-addressed store load requests.',
    ),
    loadDuration: histogram('py_hamt.cas.load.duration', 's', 'Content-addressed store load latency.'),
    gateway: counter('ts_hamt.gateway.requests', '1', 'Load attempts per gateway.'),
    gatewayBytes: counter('ts_hamt.gateway.response_bytes', 'By', 'Bytes returned per gateway.'),
    gatewayDuration: histogram('ts_hamt.gateway.duration', 's', 'Load attempt latency per gateway.'),
    verifyFailures: counter(
      'ts_hamt.cas.verification_failures',
      '1',
      'Blocks that did not hash to their CID.',
    ),
    lookups: counter('py_hamt.hamt.lookup.requests', '1', 'HAMT key lookup requests.'),
    lookupDuration: histogram('py_hamt.hamt.lookup.duration', 's', 'HAMT key lookup latency.'),
    lookupDepth: histogram(
      'py_hamt.hamt.lookup.depth',
      '1',
      'HAMT traversal depth per key lookup.',
      [0, 1, 2, 3, 4, 5, 6, 8, 12, 16, 32],
    ),
    nodeLoads: counter('py_hamt.hamt.node_load.requests', '1', 'HAMT node load requests.'),
    nodeBytes: counter('py_hamt.hamt.node_load.bytes', 'By', 'Bytes returned by HAMT node loads.'),
    nodeDuration: histogram('py_hamt.hamt.node_load.duration', 's', 'HAMT node load latency.'),
    zarrGets: counter('py_hamt.zarr.get.requests', '1', 'Zarr store get requests.'),
    zarrDuration: histogram('py_hamt.zarr.get.duration', 's', 'Zarr store get latency.'),
    shardLoads: counter(
      'py_hamt.sharded_store.shard_load.requests',
      '1',
      'Sharded Zarr shard load requests.',
    ),
    shardDuration: histogram(
      'py_hamt.sharded_store.shard_load.duration',
      's',
      'Sharded Zarr shard load latency.',
    ),
    shardEntries: histogram(
      'py_hamt.sharded_store.shard_entries',
      '1',
      'Number of entries loaded per shard.',
      [1, 16, 64, 256, 1024, 4096, 16384, 65536],
    ),
  }
  return {
    begin(event: Begun): Ending {
      const span = tracer.startSpan(
        spanName(event),
        { attributes: startAttributes(event) },
        api.context.active() as never,
      )
      return {
        within: (run) =>
          api.context.with(
            api.trace.setSpan(api.context.active() as never, span as never) as never,
            run,
          ) as never,
        end(outcome: Outcome, seconds: number): void {
          try {
            span.setAttributes(endAttributes(event, outcome))
            if (outcome.status !== 'ok') {
              if (outcome.error instanceof Error) span.recordException(outcome.error)
              span.setStatus({ code: 2, message: outcome.status })
            }
          } finally {
            // A span that refused an attribute still ends, and the metrics still count the read.
            try {
              span.end()
            } finally {
              record(event, outcome, seconds)
            }
          }
        },
      }
    },
    note(event: Instant): void {
      switch (event.op) {
        case 'retry':
          m.retries.add(1, { 'server.address': hostOf(event.url), 'py_hamt.cas.status': event.status })
          return
        case 'verify.failure':
          m.verifyFailures.add(1, { 'ts_hamt.source': event.source })
          return
        case 'node.load':
          m.nodeLoads.add(1, { 'py_hamt.cache_hit': false })
          m.nodeBytes.add(event.bytes, { 'py_hamt.cache_hit': false })
          m.nodeDuration.record(event.seconds, { 'py_hamt.cache_hit': false })
          return
        case 'shard.hit':
          m.shardLoads.add(1, { 'py_hamt.cache_hit': true })
          m.shardDuration.record(0, { 'py_hamt.cache_hit': true })
          m.shardEntries.record(event.entries, { 'py_hamt.cache_hit': true })
          return
      }
    },
  }

  function record(event: Begun, outcome: Outcome, seconds: number): void {
    const status = outcome.status
    switch (event.op) {
      case 'cas.load': {
        const a = { 'py_hamt.cas.has_range': event.ranged, 'py_hamt.cas.status': status }
        m.loads.add(1, a)
        m.loadBytes.add(outcome.bytes ?? 0, a)
        m.loadDuration.record(seconds, a)
        return
      }
      case 'gateway.request': {
        const a = { 'ts_hamt.gateway': event.gateway, 'py_hamt.cas.status': status }
        m.gateway.add(1, a)
        m.gatewayBytes.add(outcome.bytes ?? 0, a)
        m.gatewayDuration.record(seconds, a)
        return
      }
      case 'hamt.lookup': {
        const a = { 'py_hamt.hamt.lookup.found': outcome.found === true }
        m.lookups.add(1, a)
        m.lookupDuration.record(seconds, a)
        m.lookupDepth.record(outcome.depth ?? 0, a)
        // Nodes found in memory are node loads too in py-hamt (cache hits); those from the store were noted as they loaded.
        if (outcome.nodeCacheHits) m.nodeLoads.add(outcome.nodeCacheHits, { 'py_hamt.cache_hit': true })
        return
      }
      case 'zarr.get': {
        const a = {
          'py_hamt.zarr.store': event.store,
          'py_hamt.zarr.kind': event.kind,
          'py_hamt.zarr.hit': outcome.hit === true,
          'py_hamt.zarr.byte_range': event.byteRange,
        }
        m.zarrGets.add(1, a)
        m.zarrDuration.record(seconds, a)
        return
      }
      case 'shard.load': {
        const a = { 'py_hamt.cache_hit': false }
        m.shardLoads.add(1, a)
        m.shardDuration.record(seconds, a)
        if (outcome.entries) m.shardEntries.record(outcome.entries, a)
        return
      }
    }
  }
}

function spanName(event: Begun): string {
  switch (event.op) {
    case 'cas.load':
      return 'py_hamt.cas.load'
    case 'gateway.request':
      return 'ts_hamt.gateway.request'
    case 'hamt.lookup':
      return 'py_hamt.hamt.lookup'
    case 'zarr.get':
      return `py_hamt.${event.store}.get`
    case 'shard.load':
      return 'ts_hamt.sharded_store.shard_load'
  }
}

function startAttributes(event: Begun): Attributes {
  switch (event.op) {
    case 'cas.load':
      return { 'py_hamt.cid': boundedName(event.id), 'py_hamt.cas.has_range': event.ranged }
    case 'gateway.request':
      return { 'ts_hamt.gateway': event.gateway, 'py_hamt.cid': boundedName(event.id) }
    case 'hamt.lookup':
      return { 'py_hamt.hamt.lookup.key': boundedName(event.key) }
    case 'zarr.get':
      return {
        'py_hamt.zarr.key': boundedName(event.key),
        'py_hamt.zarr.byte_range': event.byteRange,
        'py_hamt.zarr.store': event.store,
        'py_hamt.zarr.kind': event.kind,
      }
    case 'shard.load':
      return {
        'py_hamt.sharded_store.shard_idx': event.shard,
        'ts_hamt.sharded_store.array': boundedName(event.array),
      }
  }
}

function endAttributes(event: Begun, outcome: Outcome): Attributes {
  switch (event.op) {
    case 'cas.load':
    case 'gateway.request':
      return { 'py_hamt.cas.status': outcome.status, 'py_hamt.cas.response_bytes': outcome.bytes ?? 0 }
    case 'hamt.lookup':
      return {
        'py_hamt.hamt.lookup.depth': outcome.depth ?? 0,
        'py_hamt.hamt.lookup.node_loads': outcome.nodeLoads ?? 0,
        'py_hamt.hamt.lookup.node_cache_hits': outcome.nodeCacheHits ?? 0,
        'py_hamt.hamt.lookup.found': outcome.found === true,
        ...(outcome.status === 'ok' ? {} : { 'py_hamt.cas.status': outcome.status }),
      }
    case 'zarr.get':
      return {
        'py_hamt.zarr.hit': outcome.hit === true,
        ...(outcome.status === 'ok' ? {} : { 'py_hamt.cas.status': outcome.status }),
      }
    case 'shard.load':
      return {
        'py_hamt.sharded_store.shard_entries': outcome.entries ?? 0,
        'py_hamt.cas.status': outcome.status,
      }
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
