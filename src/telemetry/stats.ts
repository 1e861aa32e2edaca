// The retrieval snapshot: counts kept in memory, no OpenTelemetry needed, for "why is this slow".
import { integerOption } from '../check.js'
import { attachSink, boundedName } from './hooks.js'
import type { Begun, Instant, LoadStatus, Outcome, Sink } from './interface.js'

/** A latency (ms) or size distribution over a bounded uniform sample of the observations. */
export interface Distribution {
  count: number
  mean: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** Counts of one gateway's load attempts. */
export interface GatewayStats {
  gateway: string
  requests: number
  failures: number
  bytes: number
  latencyMs: Distribution
}

/** What was read since the collector started or was last reset. */
export interface RetrievalSnapshot {
  elapsedMs: number
  /** Store loads (every `load` ts-hamt made on a store, whichever store). */
  loads: {
    requests: number
    /** Distinct IDs loaded. */
    uniqueIds: number
    /** Loads of an ID already loaded before (requests - uniqueIds while IDs are tracked). */
    duplicateRequests: number
    /** Loads with a byte range. */
    ranged: number
    bytes: number
    /** By status: `ok`, `not_found`, `content_mismatch`, `http_error`, `request_error`, `aborted`, `error`. */
    byStatus: Partial<Record<LoadStatus, number>>
    latencyMs: Distribution
    maxInFlight: number
  }
  /** Retries the HTTP client made. */
  retries: number
  /** Blocks that did not hash to their CID. */
  verificationFailures: number
  gateways: GatewayStats[]
  lookups: {
    requests: number
    found: number
    nodeLoads: number
    nodeCacheHits: number
    depth: Distribution
    latencyMs: Distribution
  }
  zarrGets: { requests: number; hits: number; latencyMs: Distribution }
  shardLoads: { requests: number; cacheHits: number; latencyMs: Distribution }
  /** The most loaded IDs, most first. */
  topIds: Array<{ id: string; requests: number }>
  /** The most requested keys, most first: `hamt:KEY` per lookup, `hamt_store:KEY` / `sharded_store:KEY` per Zarr get. */
  topKeys: Array<{ key: string; requests: number }>
  /** True when more distinct IDs or keys came than are tracked: counts above are exact, top lists and uniqueIds are lower bounds. */
  truncated: boolean
}

export interface RetrievalStatsOptions {
  /** Entries in `topIds` and `topKeys`; default 20. */
  top?: number
  /** Distinct IDs and keys tracked each (memory bound; their text at most 64 characters each on average, or 1 Mi in all if more); default 100 000. */
  maxTracked?: number
  /** Observations kept per distribution (a uniform sample); default 10 000. */
  sampleLimit?: number
}

/** A running collector: see {@link collectRetrievalStats}. */
export interface RetrievalStats {
  snapshot(): RetrievalSnapshot
  /** Starts counting afresh. */
  reset(): void
  /** Stops counting (the last counts stay readable). */
  stop(): void
}

/**
 * Starts counting what ts-hamt reads, in this process, until `stop()`: store loads (and how many were
 * of an ID already loaded), bytes, retries, failures by kind, per gateway, HAMT lookups, Zarr gets,
 * shard loads, the most requested IDs and keys, and latency percentiles. No OpenTelemetry needed;
 * nothing is counted (or costs anything) while no collector runs. The CLI's `--retrieval-stats` prints one.
 *
 * @example
 * ```ts
 * import { collectRetrievalStats } from 'ts-hamt/telemetry'
 * const stats = collectRetrievalStats()
 * await map.get('temperature')
 * console.log(stats.snapshot().loads.duplicateRequests)
 * stats.stop()
 * ```
 */
export function collectRetrievalStats(options: RetrievalStatsOptions = {}): RetrievalStats {
  const top = integerOption('top', options.top, 20)
  const maxTracked = integerOption('maxTracked', options.maxTracked, 100_000)
  const sampleLimit = integerOption('sampleLimit', options.sampleLimit, 10_000)
  let counts = new Counts(maxTracked, sampleLimit)
  const sink: Sink = {
    begin: (event) => {
      counts.begin(event)
      const at = counts
      return {
        within: (run) => run(),
        end: (outcome, seconds) => {
          if (at === counts) counts.end(event, outcome, seconds) // begun before a reset: not counted
        },
      }
    },
    note: (event) => counts.note(event),
  }
  const detach = attachSink(sink)
  let stopped = false
  return {
    snapshot: () => counts.snapshot(top),
    reset: () => {
      counts = new Counts(maxTracked, sampleLimit)
    },
    stop: () => {
      if (!stopped) detach()
      stopped = true
    },
  }
}

/** A uniform sample of at most `limit` values (reservoir sampling) with exact count, sum, min and max. */
class Sample {
  readonly #limit: number
  readonly #values: number[] = []
  #count = 0
  #sum = 0
  #min = Number.POSITIVE_INFINITY
  #max = Number.NEGATIVE_INFINITY

  constructor(limit: number) {
    this.#limit = limit
  }

  add(value: number): void {
    this.#count++
    this.#sum += value
    if (value < this.#min) this.#min = value
    if (value > this.#max) this.#max = value
    if (this.#values.length < this.#limit) this.#values.push(value)
    else {
      const slot = Math.floor(Math.random() * this.#count)
      if (slot < this.#limit) this.#values[slot] = value
    }
  }

  summary(): Distribution {
    if (this.#count === 0) return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0 }
    const sorted = [...this.#values].sort((a, b) => a - b)
    const at = (q: number): number =>
      sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))] as number
    return {
      count: this.#count,
      mean: this.#sum / this.#count,
      min: this.#min,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: this.#max,
    }
  }
}

/** Characters a tally keeps per name tracked, on average (names up to 1024 each, not all that long), or 1 Mi in all. */
const AVERAGE_NAME_CHARS = 64
const MIN_TALLY_CHARS = 1 << 20

/**
 * Counts by name, for at most `limit` distinct names holding `limit * 64` characters in all, or 1 Mi
 * if more (later new names are only counted as missed).
 */
class Tally {
  readonly counts = new Map<string, number>()
  readonly #limit: number
  readonly #charLimit: number
  #chars = 0
  missed = false

  constructor(limit: number) {
    this.#limit = limit
    this.#charLimit = Math.max(limit * AVERAGE_NAME_CHARS, MIN_TALLY_CHARS)
  }

  /** Adds one; the count before (0 for a new name). Names longer than 1024 characters count by their start. */
  add(fullName: string): number {
    const name = boundedName(fullName)
    const before = this.counts.get(name)
    if (before === undefined) {
      if (this.counts.size >= this.#limit || this.#chars + name.length > this.#charLimit) {
        this.missed = true
        return 0
      }
      this.#chars += name.length
    }
    this.counts.set(name, (before ?? 0) + 1)
    return before ?? 0
  }

  top(n: number): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n)
  }
}

class Counts {
  readonly started = performance.now()
  readonly #sampleLimit: number
  readonly ids: Tally
  readonly keys: Tally
  loads = 0
  duplicates = 0
  ranged = 0
  bytes = 0
  inFlight = 0
  maxInFlight = 0
  readonly byStatus: Partial<Record<LoadStatus, number>> = {}
  readonly loadMs: Sample
  retries = 0
  verificationFailures = 0
  readonly gateways = new Map<
    string,
    { requests: number; failures: number; bytes: number; latencyMs: Sample }
  >()
  readonly lookups = { requests: 0, found: 0, nodeLoads: 0, nodeCacheHits: 0 }
  readonly lookupMs: Sample
  readonly depth: Sample
  readonly zarr = { requests: 0, hits: 0 }
  readonly zarrMs: Sample
  readonly shards = { requests: 0, cacheHits: 0 }
  readonly shardMs: Sample

  constructor(maxTracked: number, sampleLimit: number) {
    this.#sampleLimit = sampleLimit
    this.ids = new Tally(maxTracked)
    this.keys = new Tally(maxTracked)
    this.loadMs = new Sample(sampleLimit)
    this.lookupMs = new Sample(sampleLimit)
    this.depth = new Sample(sampleLimit)
    this.zarrMs = new Sample(sampleLimit)
    this.shardMs = new Sample(sampleLimit)
  }

  begin(event: Begun): void {
    if (event.op !== 'cas.load') return
    this.loads++
    if (event.ranged) this.ranged++
    if (this.ids.add(event.id) > 0) this.duplicates++
    this.inFlight++
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight
  }

  end(event: Begun, outcome: Outcome, seconds: number): void {
    const ms = seconds * 1000
    switch (event.op) {
      case 'cas.load':
        this.inFlight--
        this.bytes += outcome.bytes ?? 0
        this.byStatus[outcome.status] = (this.byStatus[outcome.status] ?? 0) + 1
        this.loadMs.add(ms)
        return
      case 'gateway.request': {
        let gateway = this.gateways.get(event.gateway)
        if (gateway === undefined) {
          gateway = { requests: 0, failures: 0, bytes: 0, latencyMs: new Sample(this.#sampleLimit) }
          this.gateways.set(event.gateway, gateway)
        }
        gateway.requests++
        if (outcome.status !== 'ok') gateway.failures++
        gateway.bytes += outcome.bytes ?? 0
        gateway.latencyMs.add(ms)
        return
      }
      case 'hamt.lookup':
        this.lookups.requests++
        if (outcome.found) this.lookups.found++
        this.lookups.nodeLoads += outcome.nodeLoads ?? 0
        this.lookups.nodeCacheHits += outcome.nodeCacheHits ?? 0
        this.depth.add(outcome.depth ?? 0)
        this.lookupMs.add(ms)
        this.keys.add(`hamt:${event.key}`)
        return
      case 'zarr.get':
        this.zarr.requests++
        if (outcome.hit) this.zarr.hits++
        this.zarrMs.add(ms)
        this.keys.add(`${event.store}:${event.key}`)
        return
      case 'shard.load':
        this.shards.requests++
        this.shardMs.add(ms)
        return
    }
  }

  note(event: Instant): void {
    if (event.op === 'retry') this.retries++
    else if (event.op === 'verify.failure') this.verificationFailures++
    else if (event.op === 'shard.hit') {
      this.shards.requests++
      this.shards.cacheHits++
      this.shardMs.add(0)
    }
  }

  snapshot(top: number): RetrievalSnapshot {
    return {
      elapsedMs: performance.now() - this.started,
      loads: {
        requests: this.loads,
        uniqueIds: this.ids.counts.size,
        duplicateRequests: this.duplicates,
        ranged: this.ranged,
        bytes: this.bytes,
        byStatus: { ...this.byStatus },
        latencyMs: this.loadMs.summary(),
        maxInFlight: this.maxInFlight,
      },
      retries: this.retries,
      verificationFailures: this.verificationFailures,
      gateways: [...this.gateways].map(([gateway, g]) => ({
        gateway,
        requests: g.requests,
        failures: g.failures,
        bytes: g.bytes,
        latencyMs: g.latencyMs.summary(),
      })),
      lookups: { ...this.lookups, depth: this.depth.summary(), latencyMs: this.lookupMs.summary() },
      zarrGets: { ...this.zarr, latencyMs: this.zarrMs.summary() },
      shardLoads: { ...this.shards, latencyMs: this.shardMs.summary() },
      topIds: this.ids.top(top).map(([id, requests]) => ({ id, requests })),
      topKeys: this.keys.top(top).map(([key, requests]) => ({ key, requests })),
      truncated: this.ids.missed || this.keys.missed,
    }
  }
}
