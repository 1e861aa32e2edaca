// Verifying an IPNS record with the ecosystem's `ipns` package, loaded only when a name is resolved:
// it brings @libp2p/crypto (about 180 KB minified), which a bundle that never resolves a name need not carry.
import { equals } from 'multiformats/bytes'
import { nestingDepth } from '../codec/dag-cbor.js'
import { protobufField } from '../codec/protobuf.js'
import {
  describeValue,
  InvalidArgumentError,
  IpnsRecordError,
  type IpnsRecordProblem,
  StoreError,
} from '../errors.js'
import { ByteLru } from '../util/byte-lru.js'
import { KeyedMutex } from '../util/keyed-mutex.js'
import { BodyTooLargeError, discard, readBody } from './http-body.js'
import type { IpnsRecordMemory } from './interface.js'
import type { IpnsName } from './ipns-name.js'

/** The most an IPNS record may be (the IPNS record spec's 10 KiB); a longer answer is refused unread. */
export const MAX_IPNS_RECORD_BYTES = 10 * 1024

/** The media type of a signed record as a trustless gateway serves it (`?format=ipns-record`). */
export const IPNS_RECORD_TYPE = 'application/vnd.ipfs.ipns-record'

/** What a verified record says. */
export interface IpnsRecordFields {
  /** The path it points to: `/ipfs/<cid>[/path]` or `/ipns/<name>[/path]`. */
  value: string
  /** Its version: a newer record of a name has a higher sequence. */
  sequence: bigint
  /** When it stops being valid (RFC 3339). */
  validity: string
}

/**
 * The body of a gateway's answer to a record request: refused unread unless its type is a record's
 * (a gateway that ignores `?format=` sends the content, or a page), and past 10 KiB.
 */
export async function readIpnsRecordAnswer(
  response: Response,
  name: IpnsName,
  url: string,
): Promise<Uint8Array> {
  const type = response.headers.get('content-type') ?? ''
  if (type.split(';')[0]?.trim().toLowerCase() !== IPNS_RECORD_TYPE) {
    discard(response.body)
    const why = `${url} answered ${JSON.stringify(type.slice(0, 100))}, not ${IPNS_RECORD_TYPE}`
    throw new IpnsRecordError(name.path, 'not-a-record', why)
  }
  try {
    return await readBody(response, MAX_IPNS_RECORD_BYTES, url)
  } catch (cause) {
    if (!(cause instanceof BodyTooLargeError)) throw cause
    const why = `${url} sent more than the ${MAX_IPNS_RECORD_BYTES} bytes a record may be`
    throw new IpnsRecordError(name.path, 'too-large', why, { cause })
  }
}

type IpnsModules = [typeof import('ipns'), typeof import('ipns/validator'), typeof import('ipns/selector')]
let modules: Promise<IpnsModules> | undefined

function loadIpns(): Promise<IpnsModules> {
  // A failed load (a chunk a browser could not fetch) is tried again on the next name.
  modules ??= Promise.all([import('ipns'), import('ipns/validator'), import('ipns/selector')]).catch(
    (error: unknown) => {
      modules = undefined
      throw error
    },
  )
  return modules
}

/** The `ipns` package's errors by name (it does not export their classes), as our problems. */
const PROBLEMS: Record<string, IpnsRecordProblem> = {
  SignatureVerificationError: 'signature',
  RecordExpiredError: 'expired',
  InvalidEmbeddedPublicKeyError: 'wrong-key',
  RecordTooLargeError: 'too-large',
}

/**
 * Checks that `bytes` are a record of `name`, signed by the name's key (inlined in an ed25519 name;
 * carried by the record for RSA, and then checked against the name's hash) and not expired; returns
 * what it says. Anything else is an {@link IpnsRecordError} whose `problem` says what was wrong.
 */
export async function verifyIpnsRecord(name: IpnsName, bytes: Uint8Array): Promise<IpnsRecordFields> {
  if (bytes.length > MAX_IPNS_RECORD_BYTES) {
    throw new IpnsRecordError(
      name.path,
      'too-large',
      `a record of ${bytes.length} bytes (at most ${MAX_IPNS_RECORD_BYTES})`,
    )
  }
  checkBodyDepth(name, bytes)
  const [ipns, validator] = await loadIpns()
  let record: ReturnType<typeof ipns.unmarshalIPNSRecord>
  try {
    record = ipns.unmarshalIPNSRecord(bytes)
  } catch (cause) {
    const problem = PROBLEMS[(cause as Error)?.name] === 'signature' ? 'signature' : 'malformed'
    throw new IpnsRecordError(name.path, problem, `not a valid IPNS record (${(cause as Error)?.message})`, {
      cause,
    })
  }
  try {
    await validator.ipnsValidator(ipns.multihashToIPNSRoutingKey(name.multihash as never), bytes)
  } catch (cause) {
    const problem = PROBLEMS[(cause as Error)?.name] ?? 'malformed'
    throw new IpnsRecordError(name.path, problem, describe(problem, record.validity, cause), { cause })
  }
  // The ipns package passes on what the CBOR holds; the spec (and Kubo) read a uint64.
  const sequence: unknown = record.sequence
  if (typeof sequence !== 'bigint' || sequence < 0n || sequence >= 2n ** 64n) {
    const shown = typeof sequence === 'bigint' ? String(sequence) : typeof sequence
    throw new IpnsRecordError(name.path, 'malformed', `its sequence (${shown}) is not a uint64`)
  }
  return { value: record.value, sequence, validity: record.validity }
}

/** How deep a record's signed body may nest: its fields are flat; the `ipns` package decodes it recursively. */
export const MAX_RECORD_BODY_DEPTH = 64

/** Refuses a record whose body (field 9, DAG-CBOR) nests past {@link MAX_RECORD_BODY_DEPTH}, counted without recursion. */
function checkBodyDepth(name: IpnsName, bytes: Uint8Array): void {
  let body: ReturnType<typeof protobufField>
  try {
    body = protobufField(bytes, 9)
  } catch (cause) {
    const why = `not a valid IPNS record (${(cause as Error).message})`
    throw new IpnsRecordError(name.path, 'malformed', why, { cause })
  }
  if (!(body instanceof Uint8Array)) return // the `ipns` package names what is missing
  const depth = nestingDepth(body)
  if (depth > MAX_RECORD_BODY_DEPTH) {
    const why = `its signed body is nested ${depth} deep (at most ${MAX_RECORD_BODY_DEPTH})`
    throw new IpnsRecordError(name.path, 'malformed', why)
  }
}

function describe(problem: IpnsRecordProblem, validity: string, cause: unknown): string {
  if (problem === 'signature') return "the record's signature does not verify against the name's key"
  if (problem === 'wrong-key') return 'the record was signed by another key than the name’s'
  if (problem === 'expired') return `the record expired at ${validity}`
  return `the record was refused (${(cause as Error)?.message})`
}

/**
 * What the default memory of newest records holds: 16 MiB of records (a name and its signed record
 * each, ~630 bytes for a record as Kubo publishes it), least recently resolved dropped first: ~26 000
 * names of Kubo's records; ~1 600 of the largest (10 KiB).
 */
export const NEWEST_RECORDS_BYTES = 16 << 20
/** What one remembered name costs besides its record's and its name's bytes (the entry, the key). */
const ENTRY_OVERHEAD_BYTES = 100

/** The default {@link IpnsRecordMemory}: bounded by bytes, least recently resolved forgotten first. */
class BoundedRecordMemory implements IpnsRecordMemory {
  readonly #records = new ByteLru<string, Uint8Array>(NEWEST_RECORDS_BYTES)

  get(name: string): Uint8Array | undefined {
    return this.#records.get(name)
  }

  set(name: string, record: Uint8Array): void {
    this.#records.set(name, record, record.length + 2 * name.length + ENTRY_OVERHEAD_BYTES)
  }
}

/** The turns on each memory of records, shared by every reader given it. */
const turnsOf = new WeakMap<IpnsRecordMemory, KeyedMutex<string>>()

/**
 * The newest record of each name one reader has verified, so that a gateway serving an older
 * (validly signed) record cannot move a name back while the newer one is valid: as resolvers that
 * keep records do (Kubo and Helia in their datastores), the highest valid sequence seen wins. The
 * memory is `memory` when given (any map of name to record, e.g. one on disk), else
 * {@link NEWEST_RECORDS_BYTES} in this process. Settling one name waits for the one before it, also
 * in another reader given the same memory (not in another process sharing it on disk).
 */
export class NewestRecords {
  readonly #memory: IpnsRecordMemory
  readonly #turns: KeyedMutex<string>

  constructor(memory?: IpnsRecordMemory) {
    if (memory !== undefined && (typeof memory?.get !== 'function' || typeof memory?.set !== 'function')) {
      throw new InvalidArgumentError(
        `ipnsRecords must have get and set methods, got ${describeValue(memory)}`,
      )
    }
    this.#memory = memory ?? new BoundedRecordMemory()
    // Readers sharing one memory take turns on it: else both read it, and the older record is written last.
    const turns = turnsOf.get(this.#memory) ?? new KeyedMutex<string>()
    turnsOf.set(this.#memory, turns)
    this.#turns = turns
  }

  /**
   * Verifies `bytes` as a record of `name` (unless `verified` says what they were verified to say);
   * returns it, or the newer one remembered if that is still valid.
   */
  async settle(name: IpnsName, bytes: Uint8Array, verified?: IpnsRecordFields): Promise<IpnsRecordFields> {
    const fresh = verified ?? (await verifyIpnsRecord(name, bytes))
    return this.#turns.run(name.path, async () => {
      const kept = await this.#remembered(name)
      if (kept !== undefined && !equals(kept, bytes)) {
        // A kept record that no longer verifies (expired, or a damaged memory) is replaced.
        const still = await verifyIpnsRecord(name, kept).catch(() => undefined)
        if (still !== undefined && still.sequence > fresh.sequence) return still
      }
      await this.#remember(name, bytes)
      return fresh
    })
  }

  async #remembered(name: IpnsName): Promise<Uint8Array | undefined> {
    let kept: unknown
    try {
      kept = await this.#memory.get(name.path)
    } catch (cause) {
      throw new StoreError(`ipnsRecords.get(${name.path}) failed: ${(cause as Error)?.message}`, { cause })
    }
    if (kept === undefined || kept === null) return undefined
    if (!(kept instanceof Uint8Array)) {
      throw new StoreError(`ipnsRecords.get(${name.path}) returned ${describeValue(kept)}, not bytes`)
    }
    return kept
  }

  async #remember(name: IpnsName, bytes: Uint8Array): Promise<void> {
    try {
      await this.#memory.set(name.path, bytes)
    } catch (cause) {
      throw new StoreError(`ipnsRecords.set(${name.path}) failed: ${(cause as Error)?.message}`, { cause })
    }
  }
}

/**
 * The best of several verified records of one name: the highest sequence, then the longest
 * validity (the `ipns` package's selector, as helia chooses); its index in `records`.
 */
export async function bestIpnsRecord(name: IpnsName, records: readonly Uint8Array[]): Promise<number> {
  const [ipns, , selector] = await loadIpns()
  return selector.ipnsSelector(ipns.multihashToIPNSRoutingKey(name.multihash as never), [...records])
}
