import { copyBytes } from '../cas/id.js'
import { describeValue, InvalidArgumentError, InvalidHashError } from '../errors.js'
import { blake3, blake3PrefixInto } from '../hash/blake3.js'
import type { HashFn } from './interface.js'
import { utf8Encode, writeUtf8 } from './utf8.js'

/** Keys are strings whose UTF-8 bytes are hashed; a lone surrogate has no UTF-8 form, so it is refused. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string')
    throw new InvalidArgumentError(`key must be a string, got ${describeValue(key)}`)
  if (!key.isWellFormed()) {
    throw new InvalidArgumentError(
      `key ${JSON.stringify(key)} is not well-formed Unicode (it has a lone surrogate)`,
    )
  }
}

/** A map's key hash: checked keys in, checked digests out, all of {@link KeyHasher.length} bytes. */
export interface KeyHasher {
  hash(key: string): Uint8Array
  /**
   * {@link KeyHasher.hash} in a buffer the next `hashNow` reuses: for a caller done with it before
   * any other hash is made (a synchronous lookup). Saves the array a hash is (~230 bytes a get).
   */
  hashNow(key: string): Uint8Array
  /** Bytes of every digest: a tree has nodes at depths 0 to `length - 1` only. */
  readonly length: number
}

/**
 * Wraps a hash function so every key is checked and every digest is checked to be bytes of one
 * length (that of the empty key's hash). A throwing or wrong hash is an {@link InvalidHashError},
 * raised before the map is touched.
 */
export function makeKeyHasher(hashFn: HashFn): KeyHasher {
  if (hashFn === blake3) return blake3KeyHasher
  const digest = (key: string): Uint8Array => {
    let hash: unknown
    try {
      hash = hashFn(utf8Encode(key))
    } catch (error) {
      throw new InvalidHashError(
        `hashFn threw for key ${JSON.stringify(key)}: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      )
    }
    if (!(hash instanceof Uint8Array)) {
      throw new InvalidHashError(`hashFn must return a Uint8Array, got ${describeValue(hash)}`)
    }
    // A copy: writes keep a key's hash across other keys' hashing, and a hashFn may reuse its buffer
    // (a Buffer's own `slice` is a view: `copyBytes`).
    return copyBytes(hash)
  }
  const length = digest('').length
  if (length === 0) throw new InvalidHashError('hashFn returned an empty hash; at least 1 byte is needed')
  const hash = (key: string): Uint8Array => {
    checkKey(key)
    const hash = digest(key)
    if (hash.length !== length) {
      throw new InvalidHashError(
        `hashFn returned ${hash.length} bytes for key ${JSON.stringify(key)} but ${length} for the empty key; ` +
          'every hash must have the same length',
      )
    }
    return hash
  }
  // A given hashFn's digest is copied anyway (see `digest`): that copy is the caller's to keep.
  return { length, hash, hashNow: hash }
}

/** Where keys are written as UTF-8 before BLAKE3 hashes them in place. */
const keyBuffer = new Uint8Array(1024)

/**
 * The default hash without an array per key: the key is written into a reused buffer and hashed
 * from there (synchronously, so no other key uses the buffer meanwhile). The digest is a fresh array.
 */
const blake3KeyHasher: KeyHasher = {
  length: 32,
  hash(key) {
    const out = new Uint8Array(32)
    hashKeyInto(key, out)
    return out
  },
  hashNow(key) {
    hashKeyInto(key, hashNowBuffer)
    return hashNowBuffer
  },
}

/** Where {@link KeyHasher.hashNow} of the default hash writes. */
const hashNowBuffer = new Uint8Array(32)

/** The default hash of a checked key, into `out`. */
function hashKeyInto(key: string, out: Uint8Array): void {
  checkKey(key)
  // UTF-8 takes at most 3 bytes per UTF-16 unit; a longer key gets a buffer of its own.
  const buffer = key.length * 3 <= keyBuffer.length ? keyBuffer : new Uint8Array(key.length * 3)
  blake3PrefixInto(buffer, writeUtf8(key, buffer, 0), out)
}
