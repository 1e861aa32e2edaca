import { copyBytes, formatId, sameId } from '../cas/id.js'
import type { ByteRange, StoreId } from '../cas/interface.js'
import { sliceByteRange } from '../cas/range.js'
import { InvalidArgumentError, KeyNotFoundError, ReadOnlyError } from '../errors.js'
import type { HAMT } from '../hamt/hamt.js'
import { callStore } from '../hamt/loader.js'
import { traceLoad, traceZarrGet } from '../telemetry/hooks.js'
import type { AbsolutePath, RangeQuery, ZarrGetOptions, ZarrHAMTStoreOptions } from './interface.js'
import { hamtKey, isMetadataKey, toByteRange } from './keys.js'

function kindOf(key: string): 'metadata' | 'chunk' {
  return isMetadataKey(key) ? 'metadata' : 'chunk'
}

/**
 * A Zarr v3 store on a HAMT, for zarrita, byte-compatible with py-hamt's `ZarrHAMTStore`: Zarr keys
 * are HAMT keys, values the exact bytes Zarr produced. A missing key reads as `undefined`. Creating one
 * changes nothing global; for faster `zstd` decoding call `registerZstdCodec()` of `ts-hamt/zstd`.
 *
 * @example
 * ```ts
 * import * as zarr from 'zarrita'
 * const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
 * const root = zarr.root(new ZarrHAMTStore(map))
 * const temp = await zarr.create(root.resolve('temp'), { shape: [4, 4], chunkShape: [2, 2], dtype: 'float32' })
 * await zarr.set(temp, null, 1.5)
 * const rootId = await map.flush()
 * ```
 */
export class ZarrHAMTStore {
  readonly hamt: HAMT<Uint8Array>
  readonly #readOnly: boolean | undefined
  /**
   * Decoded `zarr.json` values with the pointer each was read from. An entry is used only while its
   * key still points there (content addressing: same pointer, same bytes), so writes made directly to
   * the HAMT or through another store can never be hidden by it.
   */
  readonly #metadata = new Map<string, { pointer: StoreId; value: Uint8Array }>()

  constructor(hamt: HAMT<Uint8Array>, options: ZarrHAMTStoreOptions = {}) {
    if (!hamt.valuesAreBytes) {
      throw new InvalidArgumentError(
        'ZarrHAMTStore needs a HAMT of bytes: pass valuesAreBytes: true to HAMT.open or HAMT.create',
      )
    }
    this.hamt = hamt
    this.#readOnly = options.readOnly
  }

  /** True when writes are refused (the option, else the HAMT's mode). */
  get readOnly(): boolean {
    return this.#readOnly ?? this.hamt.readOnly
  }

  async get(path: AbsolutePath | string, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    const key = hamtKey(path)
    return traceZarrGet(
      'hamt_store',
      key,
      false,
      () => kindOf(key),
      () => this.readWhole(key, options),
    )
  }

  /** A whole value as `get` gives it, untraced: the encrypted store's range reads it, traced once as a range. */
  protected async readWhole(key: string, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    if (isMetadataKey(key)) {
      // A copy (a store may load Buffers, whose slice is a view): the caller may write into it.
      const value = await this.#readMetadata(key, options)
      return value === undefined ? undefined : copyBytes(value)
    }
    const stored = await this.hamt.get(key, { signal: options?.signal })
    return stored === undefined ? undefined : this.decodeStored(key, stored)
  }

  async getRange(
    path: AbsolutePath | string,
    range: RangeQuery,
    options?: ZarrGetOptions,
  ): Promise<Uint8Array | undefined> {
    const byteRange = toByteRange(range)
    const key = hamtKey(path)
    return traceZarrGet(
      'hamt_store',
      key,
      true,
      () => kindOf(key),
      () => this.readRange(key, byteRange, options),
    )
  }

  async set(path: AbsolutePath | string, value: Uint8Array): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('set')
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`value of ${key} must be a Uint8Array`)
    await this.hamt.set(key, this.encodeForStore(key, value))
  }

  /** Removes a key; a missing key is not an error, also when another delete of it runs at once. */
  async delete(path: AbsolutePath | string): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('delete')
    try {
      // One call: the HAMT checks for the key under its write lock, and changes nothing when absent.
      await this.hamt.delete(key)
    } catch (error) {
      if (!(error instanceof KeyNotFoundError && error.key === key)) throw error
    }
  }

  async has(path: AbsolutePath | string, options?: ZarrGetOptions): Promise<boolean> {
    return this.hamt.has(hamtKey(path), options)
  }

  /** Every key, without a leading slash (as zarr-python lists them). */
  async *list(options?: ZarrGetOptions): AsyncGenerator<string> {
    yield* this.hamt.keys(options)
  }

  /** Every key that starts with `prefix`. */
  async *listPrefix(prefix: string, options?: ZarrGetOptions): AsyncGenerator<string> {
    const start = hamtKey(prefix)
    for await (const key of this.hamt.keys(options)) if (key.startsWith(start)) yield key
  }

  /**
   * The direct children of a directory, each once: the keys right under `prefix` and the names of
   * its subdirectories (`listDir('temp')` gives `zarr.json` and `c`).
   */
  async *listDir(prefix = '', options?: ZarrGetOptions): AsyncGenerator<string> {
    let start = hamtKey(prefix)
    if (start !== '' && !start.endsWith('/')) start += '/'
    const seen = new Set<string>()
    for await (const key of this.hamt.keys(options)) {
      if (!key.startsWith(start)) continue
      const child = key.slice(start.length).split('/', 1)[0] as string
      if (child === '' || seen.has(child)) continue
      seen.add(child)
      yield child
    }
  }

  /** The value as Zarr sees it from the bytes the HAMT holds; the encrypted store opens them here. */
  protected decodeStored(_key: string, stored: Uint8Array): Uint8Array {
    return stored
  }

  /** The bytes the HAMT is to hold for a value; the encrypted store seals them here. */
  protected encodeForStore(_key: string, value: Uint8Array): Uint8Array {
    return value
  }

  /** A checked range of a value (see {@link toByteRange}); the encrypted store opens the whole value first. */
  protected async readRange(
    key: string,
    range: ByteRange,
    options?: ZarrGetOptions,
  ): Promise<Uint8Array | undefined> {
    if (isMetadataKey(key)) {
      const value = await this.#readMetadata(key, options)
      return value === undefined ? undefined : sliceByteRange(value, range)
    }
    return this.hamt.get(key, { range, signal: options?.signal })
  }

  /** A metadata value, from the cache when the key still points at the value cached. Not copied. */
  async #readMetadata(key: string, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    const pointer = await this.hamt.getPointer(key, options)
    if (pointer === undefined) {
      this.#metadata.delete(key)
      return undefined
    }
    const cached = this.#metadata.get(key)
    if (cached !== undefined && sameId(cached.pointer, pointer)) return cached.value
    const stored = await callStore(
      () => `loading value ${formatId(pointer)}`,
      () => traceLoad(this.hamt.store, pointer, { signal: options?.signal }),
      options?.signal,
    )
    const value = this.decodeStored(key, stored)
    this.#metadata.set(key, { pointer, value })
    return value
  }

  #assertWritable(operation: string): void {
    if (!this.readOnly) return
    throw new ReadOnlyError(
      operation,
      this.#readOnly === true
        ? 'this Zarr store was made with readOnly: true'
        : "this Zarr store's HAMT is read-only (HAMT.open reads unless given readOnly: false; store.hamt.enableWrite() makes it writable)",
    )
  }
}
