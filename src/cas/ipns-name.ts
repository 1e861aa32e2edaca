// IPNS names and content paths as text: what `/ipns/<name>` and a record's `/ipfs/<cid>[/path]` say.
// No I/O and no import of the `ipns` package (that stays out of bundles until a name is resolved).
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { protobufField } from '../codec/protobuf.js'
import { InvalidArgumentError } from '../errors.js'

/** The multicodec of a CID that names a libp2p public key (`k51…` names). */
const LIBP2P_KEY_CODE = 0x72
/** The longest name accepted: an RSA-4096 key inlined is far shorter; longer text is not a name. */
const MAX_NAME_CHARS = 1000

/** A parsed IPNS name: its canonical text and the multihash of its public key. */
export interface IpnsName {
  /** `/ipns/` and the name as a CIDv1 libp2p-key in base36 (`/ipns/k51…`), however it was given. */
  readonly path: string
  /** The key's multihash: identity (the key inlined: ed25519) or sha2-256 (RSA, whose key the record carries). */
  readonly multihash: Digest.Digest<number, number>
}

/** True when `value` is text that names an IPNS name (`/ipns/…` or `ipns://…`), valid or not. */
export function isIpnsPath(value: unknown): value is string {
  return typeof value === 'string' && (value.startsWith('/ipns/') || value.startsWith('ipns://'))
}

/**
 * Parses `/ipns/<name>` (or `ipns://<name>`, or the bare name): a CIDv1 libp2p-key (`k51…` in base36,
 * `bafz…` in base32) or a base58 peer ID (`12D3Koo…`, `Qm…`). DNSLink names (`/ipns/example.org`)
 * are refused: their answer comes from DNS, which nothing here can verify. `argument` names the
 * argument in the error.
 */
export function parseIpnsName(value: unknown, argument: string): IpnsName {
  const refuse = (why: string, cause?: unknown): never => {
    const shown = JSON.stringify(String(value).slice(0, 100))
    throw new InvalidArgumentError(`${argument} must be an IPNS name (/ipns/k51…), got ${shown}: ${why}`, {
      cause,
    })
  }
  if (typeof value !== 'string') return refuse('not a string')
  if (value.length > MAX_NAME_CHARS) return refuse('too long')
  const text = value.replace(/^\/ipns\/|^ipns:\/\//, '').replace(/\/+$/, '')
  if (text.includes('/')) return refuse('a path after the name is not supported')
  if (text.includes('.')) return refuse('DNSLink names are not supported (DNS answers cannot be verified)')
  let multihash: Digest.Digest<number, number>
  try {
    if (text.startsWith('1') || text.startsWith('Qm')) {
      multihash = Digest.decode(base58btc.baseDecode(text))
    } else {
      const cid = CID.parse(text, text.startsWith('k') ? base36 : undefined)
      if (cid.code !== LIBP2P_KEY_CODE)
        return refuse(`a CID of codec 0x${cid.code.toString(16)}, not libp2p-key`)
      multihash = cid.multihash
    }
  } catch (cause) {
    return refuse('not a peer ID or a libp2p-key CID', cause)
  }
  if (multihash.code !== identity.code && multihash.code !== sha256.code) {
    return refuse('the key hash is neither identity nor sha2-256')
  }
  // No record can be signed by it: refused here rather than asked of every gateway.
  if (multihash.code === identity.code && !isPublicKey(multihash.digest)) {
    return refuse('its inlined key is not a public key (a libp2p key type and its bytes)')
  }
  return { path: `/ipns/${CID.createV1(LIBP2P_KEY_CODE, multihash).toString(base36)}`, multihash }
}

/** The sizes of the inlined keys whose size is fixed: ed25519 (type 1), secp256k1 (2, compressed or not). */
const KEY_SIZES: Record<number, readonly number[]> = { 1: [32], 2: [33, 65] }

/** True when `bytes` are a libp2p PublicKey message: a known key type (RSA, ed25519, secp256k1, ECDSA) and its bytes. */
function isPublicKey(bytes: Uint8Array): boolean {
  let type: ReturnType<typeof protobufField>
  let key: ReturnType<typeof protobufField>
  try {
    type = protobufField(bytes, 1)
    key = protobufField(bytes, 2)
  } catch {
    return false
  }
  if (typeof type !== 'bigint' || type > 3n || !(key instanceof Uint8Array) || key.length === 0) return false
  const sizes = KEY_SIZES[Number(type)]
  return sizes === undefined || sizes.includes(key.length)
}

/**
 * Parses `/ipns/<name>[/path]` (or `ipns://<name>[/path]`): the name as {@link parseIpnsName} reads
 * it, and the path after it (`''` for none), which an opener follows from the root the name points to.
 * A path is a content path, read as Kubo reads it: `/ipns/…` cleaned as a whole first (see
 * {@link cleanContentPath}; `..` out of the name to `/ipfs/…` is refused); an `ipns://` URL's path
 * is read as a URL's instead (percent-decoded, its dot segments removed within it).
 */
export function parseIpnsPath(value: unknown, argument: string): { name: IpnsName; path: string } {
  if (typeof value !== 'string') return { name: parseIpnsName(value, argument), path: '' }
  const text = value.startsWith('/ipns/') ? cleanContentPath(value, argument) : value
  if (value.startsWith('/ipns/') && !text.startsWith('/ipns/')) {
    const shown = JSON.stringify(text.slice(0, 100))
    throw new InvalidArgumentError(
      `${argument}: its '..' lead out of the name to ${shown}: pass that root instead`,
    )
  }
  const prefix = text.startsWith('ipns://') ? 'ipns://' : '/ipns/'
  const slash = text.indexOf('/', prefix.length)
  if (slash === -1) return { name: parseIpnsName(text, argument), path: '' }
  const name = parseIpnsName(text.slice(0, slash), argument)
  const path = text.slice(slash).replace(/\/+$/, '')
  return { name, path: prefix === 'ipns://' ? decodeUrlPath(path, argument) : path }
}

/** A URL's path percent-decoded segment by segment; a segment that decodes to a `/` is refused. */
function decodeUrlPath(path: string, argument: string): string {
  const refuse = (why: string, cause?: unknown): never => {
    throw new InvalidArgumentError(`${argument}: path ${JSON.stringify(path.slice(0, 100))} ${why}`, {
      cause,
    })
  }
  const segments: string[] = []
  for (const segment of path.split('/')) {
    let decoded = ''
    try {
      decoded = decodeURIComponent(segment)
    } catch (cause) {
      refuse('is not valid percent-encoding', cause)
    }
    if (decoded.includes('/')) refuse('has a segment with an encoded /, which no name holds')
    // A URL's dot segments (also `%2E`-encoded) are its own, removed within its path: they never
    // climb above the name into the record's path, as a URL parser reads `ipns://<name>/..`.
    if (decoded === '..') segments.length = Math.max(1, segments.length - 1)
    else if (decoded !== '.') segments.push(decoded)
  }
  return segments.join('/')
}

/** A record's value, parsed: a CID and the path after it, or another name (a name may point to a name). */
export type ContentPath =
  | { kind: 'ipfs'; cid: CID; path: string }
  | { kind: 'ipns'; name: IpnsName; path: string }

/**
 * Parses a content path as records and `name/resolve` give them: `/ipfs/<cid>[/path]` or
 * `/ipns/<name>[/path]`; `path` is what follows, `''` for none. Anything else throws (the caller
 * turns it into its own typed error).
 */
export function parseContentPath(value: string): ContentPath {
  const match = /^\/(ipfs|ipns)\/([^/]+)((?:\/[^/]*)*)$/.exec(cleanContentPath(value.trim(), 'value'))
  if (match === null)
    throw new InvalidArgumentError(`not a content path: ${JSON.stringify(value.slice(0, 100))}`)
  const [, namespace, id, rest] = match as unknown as [string, string, string, string]
  const path = rest.replace(/\/+$/, '')
  if (namespace === 'ipfs') return { kind: 'ipfs', cid: CID.parse(id), path }
  return { kind: 'ipns', name: parseIpnsName(id, 'value'), path }
}

/**
 * A content path (`/ipns/<name>/a/../b`) as Kubo reads it: Go's `path.Clean` over the whole text,
 * so `..` may climb out of the root into the namespace (`/ipns/<a>/../<b>` is `/ipns/<b>`); fewer
 * than two segments left (`/ipns/<name>/..`) is refused, as Kubo refuses it.
 */
export function cleanContentPath(value: string, argument: string): string {
  if (!value.startsWith('/')) return value
  const segments: string[] = []
  for (const segment of value.split('/')) {
    if (segment === '..') segments.pop()
    else if (segment !== '' && segment !== '.') segments.push(segment)
  }
  if (segments.length < 2) {
    const shown = JSON.stringify(value.slice(0, 100))
    throw new InvalidArgumentError(
      `${argument} ${shown} names no root once its '..' are applied (as Kubo reads it)`,
    )
  }
  return `/${segments.join('/')}`
}
