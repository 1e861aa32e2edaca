// What the hooks tell a sink. Internal: the public shapes are the snapshot (stats.ts) and the
// OpenTelemetry names (names.ts).

/** How a load ended, as py-hamt names it (`py_hamt.cas.status`), plus `not_found` and `aborted`. */
export type LoadStatus =
  | 'ok'
  | 'not_found'
  | 'content_mismatch'
  | 'http_error'
  | 'request_error'
  | 'aborted'
  | 'error'

/** The start of a timed operation. */
export type Begun =
  | { op: 'cas.load'; id: string; ranged: boolean }
  | { op: 'gateway.request'; gateway: string; id: string }
  | { op: 'hamt.lookup'; key: string }
  | {
      op: 'zarr.get'
      store: 'hamt_store' | 'sharded_store'
      key: string
      byteRange: boolean
      kind: 'metadata' | 'chunk'
    }
  | { op: 'shard.load'; shard: number; array: string }

/** The end of one: the fields that apply to its operation. */
export interface Outcome {
  status: LoadStatus
  error?: unknown
  bytes?: number
  found?: boolean
  depth?: number
  nodeLoads?: number
  nodeCacheHits?: number
  hit?: boolean
  entries?: number
}

/** Something that happened at one instant. */
export type Instant =
  | { op: 'retry'; url: string; status: LoadStatus }
  | { op: 'verify.failure'; id: string; source: string }
  | { op: 'node.load'; bytes: number; seconds: number }
  | { op: 'shard.hit'; shard: number; entries: number }

export interface Ending {
  /** Runs the operation with this one as the current (its span the parent of spans started inside). */
  within<T>(run: () => T): T
  end(outcome: Outcome, seconds: number): void
}

/** Where the hooks report: OpenTelemetry, the retrieval stats. */
export interface Sink {
  begin(event: Begun): Ending
  note(event: Instant): void
}
