// The one place the library reports what it reads. Lower layers (cas, hamt, zarr, sharded) call
// these functions, one line per call site; with no sink attached each is one check of `active`.
import { toHex } from 'multiformats/bytes'
import type { Begun, Ending, LoadStatus, Outcome, Sink } from './interface.js'

let sinks: readonly Sink[] = []
/** The attached sinks as one, or undefined when none is: the check every hook starts with. */
let active: Sink | undefined

/** Attaches a sink (OpenTelemetry, retrieval stats); returns the function that detaches it. */
export function attachSink(sink: Sink): () => void {
  sinks = [...sinks, sink]
  active = sinks.length === 1 ? sink : fanOut(sinks)
  return () => {
    sinks = sinks.filter((s) => s !== sink)
    active = sinks.length === 0 ? undefined : sinks.length === 1 ? sinks[0] : fanOut(sinks)
  }
}

function fanOut(list: readonly Sink[]): Sink {
  return {
    begin: (event) => {
      // Each sink on its own: one that fails must not leave another's operation begun and never ended.
      const endings = list.flatMap((sink) => attempt(() => [sink.begin(event)]) ?? [])
      return {
        within: (run) =>
          endings.reduceRight<() => unknown>((inner, e) => () => e.within(inner), run)() as never,
        end: (outcome, seconds) => {
          for (const ending of endings) attempt(() => ending.end(outcome, seconds))
        },
      }
    },
    note: (event) => {
      for (const sink of list) attempt(() => sink.note(event))
    },
  }
}

/** `run`'s result, or undefined when it throws: a sink's own failure never fails a read. */
function attempt<T>(run: () => T): T | undefined {
  try {
    return run()
  } catch {
    return undefined
  }
}

/** Seconds since an arbitrary origin, for durations. */
const now = (): number => performance.now() / 1000

/** The status py-hamt gives a failed load, from our typed errors (and HttpStatusError's `status`). */
export function statusOf(error: unknown): LoadStatus {
  const e = error as { code?: unknown; status?: unknown; name?: unknown } | undefined
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'aborted'
  if (e?.code === 'ERR_BLOCK_NOT_FOUND' || e?.status === 404) return 'not_found'
  if (e?.code === 'ERR_INTEGRITY') return 'content_mismatch'
  if (typeof e?.status === 'number') return 'http_error'
  if (e?.code === 'ERR_STORE') return 'request_error'
  return 'error'
}

/** Characters of a key or ID a sink keeps: keys come from callers and datasets, and may be megabytes. */
const MAX_NAME_LENGTH = 1024

/**
 * `text` cut to {@link MAX_NAME_LENGTH} characters (one fewer rather than half a surrogate pair, which
 * UTF-8 cannot carry) and `…`; a copy, not a slice (which may keep all of it alive).
 */
export function boundedName(text: string): string {
  if (text.length <= MAX_NAME_LENGTH) return text
  const last = text.charCodeAt(MAX_NAME_LENGTH - 1)
  const end = last >= 0xd800 && last <= 0xdbff ? MAX_NAME_LENGTH - 1 : MAX_NAME_LENGTH
  return `${text.slice(0, end).split('').join('')}…`
}

/** A store ID as text: a CID's string, else `0x` and hex (a hash-keyed store's bytes). */
export function idText(id: unknown): string {
  return id instanceof Uint8Array ? `0x${toHex(id)}` : String(id)
}

/**
 * Runs `run` as one operation of every sink: timed, inside each sink's span, ended with what
 * `outcome` makes of the result (or with the error's status).
 */
function observe<T>(event: Begun, run: () => Promise<T>, outcome: (value: T) => Outcome): Promise<T> {
  const sink = active as Sink
  const started = now()
  let ending: Ending
  try {
    ending = sink.begin(event)
  } catch {
    return run() // A sink's own failure never fails a read.
  }
  const finish = (result: Outcome): void => {
    attempt(() => ending.end(result, now() - started))
  }
  // The read runs once, inside the sink's context if the sink lets it; a throw at the call is a
  // rejection here, so the span still ends. A sink that fails around it does not fail the read.
  let result: Promise<T> | undefined
  const start = (): Promise<T> => {
    if (result === undefined) {
      try {
        result = Promise.resolve(run())
      } catch (error) {
        result = Promise.reject(error)
      }
    }
    return result
  }
  attempt(() => ending.within(start))
  return (result ?? start()).then(
    (value) => {
      finish(outcome(value))
      return value
    },
    (error: unknown) => {
      finish({ status: statusOf(error), error })
      throw error
    },
  )
}

/** One store load (`py_hamt.cas.load`): `store.load(id, options)`, its bytes and its status. */
export function traceLoad<I, O extends { range?: unknown } | undefined>(
  store: { load(id: I, options: O): Promise<Uint8Array> },
  id: I,
  options: O,
): Promise<Uint8Array> {
  if (active === undefined) return store.load(id, options)
  const ranged = options?.range !== undefined
  return observe({ op: 'cas.load', id: idText(id), ranged }, () => store.load(id, options), loaded)
}

const loaded = (bytes: Uint8Array): Outcome => ({ status: 'ok', bytes: bytes.length })

/** One gateway's attempt at a load (`ts_hamt.gateway.request`). */
export function traceGateway(
  gateway: string,
  id: unknown,
  read: () => Promise<Uint8Array>,
): Promise<Uint8Array> {
  if (active === undefined) return read()
  return observe({ op: 'gateway.request', gateway, id: idText(id) }, read, loaded)
}

/** A retry the HTTP client decided on, after a failed attempt at `url`. */
export function noteRetry(url: string, reason: unknown): void {
  active?.note({ op: 'retry', url, status: statusOf(reason) })
}

/** A block whose bytes did not hash to its CID. */
export function noteVerifyFailure(id: unknown, source: string): void {
  active?.note({ op: 'verify.failure', id: idText(id), source })
}

/** A HAMT node read from the store (a node cache miss): its encoded size and how long it took. */
export function timeNodeLoad<T extends { bytes: number }>(read: () => Promise<T>): Promise<T> {
  if (active === undefined) return read()
  const started = now()
  return read().then((loaded) => {
    active?.note({ op: 'node.load', bytes: loaded.bytes, seconds: now() - started })
    return loaded
  })
}

/** Whether a sink is attached: lets a hot path skip even a closure when none is. */
export function observing(): boolean {
  return active !== undefined
}

/** What a HAMT lookup reports about its path: filled in by the walk when it is traced. */
export interface LookupProbe {
  /** Nodes on the path, root included (depth is one less). */
  nodes: number
  /** Nodes that had to be loaded rather than found in memory. */
  misses: number
}

/** One HAMT key lookup (`py_hamt.hamt.lookup`); `run` fills in the probe and returns the pointer. */
export function traceLookup<T>(key: string, run: (probe: LookupProbe) => T | Promise<T>): Promise<T> {
  const probe: LookupProbe = { nodes: 0, misses: 0 }
  return observe(
    { op: 'hamt.lookup', key },
    async () => run(probe),
    (pointer) => ({
      status: 'ok',
      found: pointer !== undefined,
      depth: Math.max(0, probe.nodes - 1),
      nodeLoads: probe.nodes,
      nodeCacheHits: probe.nodes - probe.misses,
    }),
  )
}

/**
 * One Zarr get (`py_hamt.hamt_store.get` / `py_hamt.sharded_store.get`): a hit returns bytes;
 * `kind` says metadata or chunk (a function, so it costs nothing untraced).
 */
export function traceZarrGet(
  store: 'hamt_store' | 'sharded_store',
  key: string,
  byteRange: boolean,
  kind: () => 'metadata' | 'chunk',
  run: () => Promise<Uint8Array | undefined>,
): Promise<Uint8Array | undefined> {
  if (active === undefined) return run()
  const known = kind()
  return observe({ op: 'zarr.get', store, key, byteRange, kind: known }, run, (value) => ({
    status: 'ok',
    hit: value !== undefined,
  }))
}

/** A shard read from the store (`ts_hamt.sharded_store.shard_load`); `entries` counts what it holds. */
export function traceShardLoad<T extends readonly unknown[]>(
  shard: number,
  array: string,
  load: () => Promise<T>,
): Promise<T> {
  if (active === undefined) return load()
  return observe({ op: 'shard.load', shard, array }, load, (entries) => ({
    status: 'ok',
    entries: entries.length,
  }))
}

/** A shard found in the shard cache; returns its entries. */
export function noteShardHit<T extends readonly unknown[]>(shard: number, entries: T): T {
  active?.note({ op: 'shard.hit', shard, entries: entries.length })
  return entries
}
