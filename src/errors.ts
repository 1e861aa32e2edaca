/**
 * The error codes ts-hamt throws. Codes are stable: match on `code` (or use {@link isHamtError}),
 * never on the message text.
 */
export type HamtErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_HASH'
  | 'ERR_HASH_EXHAUSTED'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_BLOCK_NOT_FOUND'
  | 'ERR_INVALID_NODE'
  | 'ERR_RANGE_NOT_SATISFIABLE'
  | 'ERR_READ_ONLY'
  | 'ERR_UNFLUSHED_CHANGES'
  | 'ERR_STORE'
  | 'ERR_INVALID_VALUE'
  | 'ERR_INTEGRITY'
  | 'ERR_DECRYPTION'
  | 'ERR_INVALID_MANIFEST'
  | 'ERR_CHUNK_OUT_OF_BOUNDS'
  | 'ERR_LABEL_NOT_FOUND'
  | 'ERR_MERGE_CONFLICT'
  | 'ERR_IPNS_RECORD'
  | 'ERR_OUT_OF_MEMORY'

/** Base class of every error ts-hamt throws on purpose. The original failure, if any, is in `cause`. */
export class HamtError extends Error {
  readonly code: HamtErrorCode

  constructor(code: HamtErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** An argument had the wrong type or value; the message names the argument and what was expected. */
export class InvalidArgumentError extends HamtError {
  declare readonly code: 'ERR_INVALID_ARGUMENT'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_ARGUMENT', message, options)
  }
}

/** The hash function threw, or returned something other than a non-empty `Uint8Array` of its usual length. */
export class InvalidHashError extends HamtError {
  declare readonly code: 'ERR_INVALID_HASH'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_HASH', message, options)
  }
}

/** More keys share a hash prefix than the hash has bytes to separate them; nothing was changed. */
export class HashExhaustedError extends HamtError {
  declare readonly code: 'ERR_HASH_EXHAUSTED'

  constructor(message: string) {
    super('ERR_HASH_EXHAUSTED', message)
  }
}

/** `delete` of a key that is not in the map. */
export class KeyNotFoundError extends HamtError {
  declare readonly code: 'ERR_KEY_NOT_FOUND'

  readonly key: string

  constructor(key: string) {
    super('ERR_KEY_NOT_FOUND', `key not found: ${JSON.stringify(key)}`)
    this.key = key
  }
}

/** The store has no block for this ID. */
export class BlockNotFoundError extends HamtError {
  declare readonly code: 'ERR_BLOCK_NOT_FOUND'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BLOCK_NOT_FOUND', message, options)
  }
}

/** A block that should be a HAMT node is not a valid py-hamt node. */
export class InvalidNodeError extends HamtError {
  declare readonly code: 'ERR_INVALID_NODE'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_NODE', message, options)
  }
}

/** A byte range asks for bytes outside the value. */
export class RangeNotSatisfiableError extends HamtError {
  declare readonly code: 'ERR_RANGE_NOT_SATISFIABLE'

  constructor(message: string) {
    super('ERR_RANGE_NOT_SATISFIABLE', message)
  }
}

/** A write on a read-only map or store. */
export class ReadOnlyError extends HamtError {
  declare readonly code: 'ERR_READ_ONLY'

  /**
   * `why`: what is read-only and how to write instead, which only the refusing class knows (openers
   * read by default, so the usual remedy is `readOnly: false`; a `HAMT` also has `enableWrite()`).
   */
  constructor(
    operation: string,
    why = 'the map is read-only (HAMT.open reads unless given readOnly: false; enableWrite() makes it writable)',
  ) {
    super('ERR_READ_ONLY', `cannot ${operation}: ${why}`)
  }
}

/** The root ID was asked for while changes are only in memory. */
export class UnflushedChangesError extends HamtError {
  declare readonly code: 'ERR_UNFLUSHED_CHANGES'

  constructor() {
    super('ERR_UNFLUSHED_CHANGES', 'the map has unflushed changes: call flush() to get its root ID')
  }
}

/** The store failed while saving or loading; the store's own error is in `cause`. */
export class StoreError extends HamtError {
  declare readonly code: 'ERR_STORE'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE', message, options)
  }
}

/** How one gateway failed a read: its URL (`…/ipfs/`), its last HTTP status if it answered, and its error. */
export interface GatewayFailure {
  url: string
  status?: number
  error: unknown
}

/**
 * A read failed on every gateway, each for its own reason (unless each said 404, which is a
 * {@link BlockNotFoundError}): like an `AggregateError`, it lists them all, in the order tried.
 * A store with one gateway throws that gateway's own error instead.
 *
 * @example
 * ```ts
 * try {
 *   await store.load(root)
 * } catch (err) {
 *   if (err instanceof GatewaysFailedError) {
 *     for (const { url, status } of err.failures) console.log(url, status ?? 'no answer')
 *   }
 * }
 * ```
 */
export class GatewaysFailedError extends StoreError {
  readonly failures: readonly GatewayFailure[]

  constructor(what: string, failures: readonly GatewayFailure[]) {
    const detail = failures
      .map(({ url, status, error }) => {
        const message = error instanceof Error ? error.message : String(error)
        return status === undefined ? `${url}: ${message}` : `${url} (HTTP ${status}): ${message}`
      })
      .join('; ')
    super(`${what} failed on every gateway (${detail})`, { cause: failures.at(-1)?.error })
    this.failures = failures
  }
}

/** A block's bytes do not hash to its ID: the source (a gateway, a store) served wrong data. */
export class IntegrityError extends HamtError {
  declare readonly code: 'ERR_INTEGRITY'

  constructor(message: string) {
    super('ERR_INTEGRITY', message)
  }
}

/** An encrypted value could not be opened: wrong key, wrong header, or the value was changed. */
export class DecryptionError extends HamtError {
  declare readonly code: 'ERR_DECRYPTION'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DECRYPTION', message, options)
  }
}

/** A value that cannot be stored (not DAG-CBOR encodable, or not bytes for a bytes map), or a stored value that cannot be decoded. */
export class InvalidValueError extends HamtError {
  declare readonly code: 'ERR_INVALID_VALUE'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_VALUE', message, options)
  }
}

/**
 * A decoder's WebAssembly memory cannot hold what a value needs (the runtime refused to grow it: a
 * browser's or a 32-bit process's limit); the message names the size. Nothing was decoded.
 */
export class OutOfMemoryError extends HamtError {
  declare readonly code: 'ERR_OUT_OF_MEMORY'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_OUT_OF_MEMORY', message, options)
  }
}

/** A sharded Zarr root or shard is malformed: wrong version, field type, length or shard count. */
export class InvalidManifestError extends HamtError {
  declare readonly code: 'ERR_INVALID_MANIFEST'

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_MANIFEST', message, options)
  }
}

/** A chunk key names a chunk outside the array's chunk grid (or has the wrong number of coordinates). */
export class ChunkOutOfBoundsError extends HamtError {
  declare readonly code: 'ERR_CHUNK_OUT_OF_BOUNDS'

  readonly key: string

  constructor(key: string, message: string) {
    super('ERR_CHUNK_OUT_OF_BOUNDS', `chunk key ${JSON.stringify(key)}: ${message}`)
    this.key = key
  }
}

/**
 * A `sel` label has no match in its coordinate under the method asked for (xarray's KeyError): the
 * message names the label and the coordinate; `label` and `coordinate` hold them.
 */
export class LabelNotFoundError extends HamtError {
  declare readonly code: 'ERR_LABEL_NOT_FOUND'

  readonly label: string
  readonly coordinate: string

  constructor(label: string, coordinate: string, hint = '') {
    super(
      'ERR_LABEL_NOT_FOUND',
      `label ${label} not found in coordinate ${JSON.stringify(coordinate)}${hint}`,
    )
    this.label = label
    this.coordinate = coordinate
  }
}

/** A key both sides of a merge changed, each its own way: how each side changed it from the base. */
export interface MergeConflict {
  readonly key: string
  readonly a: 'added' | 'removed' | 'changed'
  readonly b: 'added' | 'removed' | 'changed'
}

/**
 * A three-way merge found keys changed differently on both sides and had no resolver: nothing was
 * written. `conflicts` lists the first ones in key order (at most {@link MergeConflictError.LISTED}),
 * `count` counts them all.
 */
export class MergeConflictError extends HamtError {
  declare readonly code: 'ERR_MERGE_CONFLICT'

  /** The most conflicts an error lists; `count` says how many there were. */
  static readonly LISTED = 100

  readonly conflicts: readonly MergeConflict[]
  readonly count: number

  constructor(conflicts: readonly MergeConflict[], count: number) {
    const shown = conflicts.slice(0, 5).map((c) => JSON.stringify(c.key))
    const more = count > shown.length ? ` and ${count - shown.length} more` : ''
    super(
      'ERR_MERGE_CONFLICT',
      `${count} key${count === 1 ? '' : 's'} changed differently on both sides: ${shown.join(', ')}${more} ` +
        '(pass a resolve function to settle them; nothing was written)',
    )
    this.conflicts = conflicts
    this.count = count
  }
}

/**
 * What was wrong with an IPNS record: its signature does not verify against the name's key
 * (`signature`: changed on the way, or signed by another key without saying so), it names a key other
 * than the name's (`wrong-key`), its validity has passed (`expired`), it is not a well-formed record
 * (`malformed`), it is longer than the 10 KiB a record may be (`too-large`), or the answer was not a
 * record at all (`not-a-record`: another content type, an HTML page); or a name leads to names
 * beyond the depth limit (`too-deep`).
 */
export type IpnsRecordProblem =
  | 'signature'
  | 'wrong-key'
  | 'expired'
  | 'malformed'
  | 'too-large'
  | 'not-a-record'
  | 'too-deep'

/**
 * An IPNS name could not be resolved because its record was refused: `ipnsName` is the name
 * (`/ipns/k51…`), `problem` says why; the verifier's own error is in `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await new TrustlessGatewayStore({ gateways: 'https://ipfs.io' }).resolveName('/ipns/k51qzi5uqu5d…')
 * } catch (err) {
 *   if (isHamtError(err, 'ERR_IPNS_RECORD') && err.problem === 'expired') console.log('republish it')
 * }
 * ```
 */
export class IpnsRecordError extends HamtError {
  declare readonly code: 'ERR_IPNS_RECORD'

  /** The name whose record was refused, as `/ipns/<name>`. */
  readonly ipnsName: string
  readonly problem: IpnsRecordProblem

  constructor(name: string, problem: IpnsRecordProblem, message: string, options?: { cause?: unknown }) {
    super('ERR_IPNS_RECORD', `${name}: ${message}`, options)
    this.ipnsName = name
    this.problem = problem
  }
}

/** Every error class ts-hamt throws, told apart by their `code`. */
export type AnyHamtError =
  | InvalidArgumentError
  | InvalidHashError
  | HashExhaustedError
  | KeyNotFoundError
  | BlockNotFoundError
  | InvalidNodeError
  | RangeNotSatisfiableError
  | ReadOnlyError
  | UnflushedChangesError
  | StoreError
  | IntegrityError
  | DecryptionError
  | InvalidValueError
  | InvalidManifestError
  | ChunkOutOfBoundsError
  | LabelNotFoundError
  | MergeConflictError
  | IpnsRecordError
  | OutOfMemoryError

/** The error class of a code: `HamtErrorOf<'ERR_KEY_NOT_FOUND'>` is `KeyNotFoundError`. */
export type HamtErrorOf<C extends HamtErrorCode> = Extract<AnyHamtError, { code: C }>

/**
 * True when `err` is an error thrown by ts-hamt, optionally with a given code; with a code it narrows
 * to that code's class, so its own fields (`key` of a KeyNotFoundError…) are typed.
 *
 * @example
 * ```ts
 * try { await map.delete('missing') } catch (err) {
 *   if (isHamtError(err, 'ERR_KEY_NOT_FOUND')) console.log(`nothing to delete at ${err.key}`)
 * }
 * ```
 */
export function isHamtError(err: unknown): err is AnyHamtError
export function isHamtError<C extends HamtErrorCode>(err: unknown, code: C | undefined): err is HamtErrorOf<C>
export function isHamtError(err: unknown, code?: HamtErrorCode): boolean {
  return err instanceof HamtError && (code === undefined || err.code === code)
}

/** Names the kind of a value for error messages: `string`, `null`, `Uint8Array`, `Array`, … */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return value.constructor?.name ?? 'object'
}
