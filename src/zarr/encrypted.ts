import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { copyBytes } from '../cas/id.js'
import type { ByteRange } from '../cas/interface.js'
import { sliceByteRange } from '../cas/range.js'
import { DecryptionError, describeValue, InvalidArgumentError } from '../errors.js'
import type { HAMT } from '../hamt/hamt.js'
import type { ZarrGetOptions, ZarrHAMTStoreOptions } from './interface.js'
import { ZarrHAMTStore } from './store.js'

const NONCE = 24
const TAG = 16

export interface EncryptedZarrOptions extends ZarrHAMTStoreOptions {
  /** 32-byte XChaCha20-Poly1305 key. */
  key: Uint8Array
  /** Associated data bound to every value (py-hamt's `header`); a different header cannot open them. */
  header: Uint8Array
}

/**
 * A Zarr store on a HAMT whose every value, metadata included, is sealed with XChaCha20-Poly1305,
 * byte-compatible with py-hamt's `SimpleEncryptedZarrHAMTStore`: stored as
 * `nonce (24) || tag (16) || ciphertext`, with the header as associated data. Keys stay readable.
 *
 * @example
 * ```ts
 * const key = crypto.getRandomValues(new Uint8Array(32))
 * const store = new EncryptedZarrHAMTStore(map, { key, header: new TextEncoder().encode('my-app') })
 * ```
 */
export class EncryptedZarrHAMTStore extends ZarrHAMTStore {
  readonly #key: Uint8Array
  readonly #header: Uint8Array

  constructor(hamt: HAMT<Uint8Array>, options: EncryptedZarrOptions) {
    super(hamt, options)
    if (!(options?.key instanceof Uint8Array) || options.key.length !== 32) {
      const got =
        options?.key instanceof Uint8Array ? `${options.key.length} bytes` : describeValue(options?.key)
      throw new InvalidArgumentError(`key must be 32 bytes (XChaCha20-Poly1305), got ${got}`)
    }
    if (!(options.header instanceof Uint8Array)) {
      throw new InvalidArgumentError(`header must be a Uint8Array, got ${describeValue(options.header)}`)
    }
    // Copies (a Buffer's own slice is a view): a caller wiping their key afterwards must not change ours.
    this.#key = copyBytes(options.key)
    this.#header = copyBytes(options.header)
  }

  /** Seals `plain` under a fresh random nonce, in py-hamt's layout. */
  seal(plain: Uint8Array): Uint8Array {
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE))
    // @noble/ciphers returns ciphertext || tag; py-hamt stores the tag first.
    const sealed = xchacha20poly1305(this.#key, nonce, this.#header).encrypt(plain)
    const out = new Uint8Array(NONCE + sealed.length)
    out.set(nonce, 0)
    out.set(sealed.subarray(sealed.length - TAG), NONCE)
    out.set(sealed.subarray(0, sealed.length - TAG), NONCE + TAG)
    return out
  }

  /** Opens a stored value; any wrong key, header or change to the bytes is one DecryptionError. */
  open(stored: Uint8Array, key: string): Uint8Array {
    if (stored.length < NONCE + TAG) {
      throw new DecryptionError(
        `value of ${JSON.stringify(key)} is too short to be encrypted (${stored.length} bytes)`,
      )
    }
    const nonce = stored.subarray(0, NONCE)
    const tag = stored.subarray(NONCE, NONCE + TAG)
    const ciphertext = stored.subarray(NONCE + TAG)
    const sealed = new Uint8Array(ciphertext.length + TAG)
    sealed.set(ciphertext, 0)
    sealed.set(tag, ciphertext.length)
    try {
      return xchacha20poly1305(this.#key, nonce, this.#header).decrypt(sealed)
    } catch (cause) {
      // Which of key, header or bytes is wrong cannot be told apart, and should not be.
      throw new DecryptionError(
        `cannot decrypt ${JSON.stringify(key)}: wrong key or header, or the value was altered`,
        { cause },
      )
    }
  }

  protected override decodeStored(key: string, stored: Uint8Array): Uint8Array {
    return this.open(stored, key)
  }

  protected override encodeForStore(_key: string, value: Uint8Array): Uint8Array {
    return this.seal(value)
  }

  // A range of ciphertext cannot be authenticated: the whole value is read, opened, then sliced.
  protected override async readRange(
    key: string,
    range: ByteRange,
    options?: ZarrGetOptions,
  ): Promise<Uint8Array | undefined> {
    const plain = await this.readWhole(key, options)
    return plain === undefined ? undefined : sliceByteRange(plain, range)
  }
}
