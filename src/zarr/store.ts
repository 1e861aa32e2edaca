import type { ByteRange } from '../cas/interface.js'
import { sliceByteRange } from '../cas/range.js'
import { InvalidArgumentError, ReadOnlyError } from '../errors.js'
import type { HAMT } from '../hamt/hamt.js'
import type { AbsolutePath, RangeQuery, ZarrGetOptions, ZarrHamtStoreOptions } from './interface.js'
import { registerZstdCodec } from './zstd.js'

/** zarrita hands stores absolute paths (`/temp/c/0/0`); the HAMT keys are the Zarr keys verbatim (`temp/c/0/0`). */
export function hamtKey(path: string): string {
  if (typeof path !== 'string') throw new InvalidArgumentError(`key must be a string, got ${typeof path}`)
  return path.startsWith('/') ? path.slice(1) : path
}

function toByteRange(range: RangeQuery): ByteRange {
  return 'suffixLength' in range
    ? { suffix: range.suffixLength }
    : { offset: range.offset, length: range.length }
}

const isMetadata = (key: string): boolean => key === 'zarr.json' || key.endsWith('/zarr.json')

/**
 * A Zarr v3 store on a HAMT, for zarrita, byte-compatible with py-hamt's `ZarrHAMTStore`: Zarr keys
 * are HAMT keys, values the exact bytes Zarr produced. A missing key reads as `undefined`. Creating one
 * also switches zarrita's `zstd` decoding to a faster WebAssembly decoder ({@link registerZstdCodec}).
 *
 * @example
 * ```ts
 * import * as zarr from 'zarrita'
 * const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
 * const root = zarr.root(new ZarrHAMTStore(map))
 * const temp = await zarr.create(root.resolve('temp'), { shape: [4, 4], chunk_shape: [2, 2], data_type: 'float32' })
 * await zarr.set(temp, null, 1.5)
 * const rootId = await map.flush()
 * ```
 */
export class ZarrHAMTStore {
  readonly hamt: HAMT<Uint8Array>
  readonly #readOnly: boolean | undefined
  /** Decoded values of `zarr.json` keys, kept in step with this store's writes and deletes. */
  readonly #metadata = new Map<string, Uint8Array>()

  constructor(hamt: HAMT<Uint8Array>, options: ZarrHamtStoreOptions = {}) {
    if (!hamt.valuesAreBytes) {
      throw new InvalidArgumentError('ZarrHAMTStore needs a HAMT created with valuesAreBytes: true')
    }
    this.hamt = hamt
    this.#readOnly = options.readOnly
    // Readers through this store get the faster zstd decoder without a setup call of their own.
    registerZstdCodec()
  }

  /** True when writes are refused (the option, else the HAMT's mode). */
  get readOnly(): boolean {
    return this.#readOnly ?? this.hamt.readOnly
  }

  async get(path: AbsolutePath | string, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    const key = hamtKey(path)
    const cached = this.#metadata.get(key)
    if (cached !== undefined) return cached.slice()
    const value = await this.readValue(key, options)
    if (value !== undefined && isMetadata(key)) this.#metadata.set(key, value.slice())
    return value
  }

  async getRange(
    path: AbsolutePath | string,
    range: RangeQuery,
    options?: ZarrGetOptions,
  ): Promise<Uint8Array | undefined> {
    return this.readRange(hamtKey(path), toByteRange(range), options)
  }

  async set(path: AbsolutePath | string, value: Uint8Array): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('set')
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`value of ${key} must be a Uint8Array`)
    await this.writeValue(key, value)
    if (isMetadata(key)) this.#metadata.set(key, value.slice())
  }

  /** Removes a key; a missing key is not an error. */
  async delete(path: AbsolutePath | string): Promise<void> {
    const key = hamtKey(path)
    this.#assertWritable('delete')
    this.#metadata.delete(key)
    if (await this.hamt.has(key)) await this.hamt.delete(key)
  }

  async has(path: AbsolutePath | string, options?: ZarrGetOptions): Promise<boolean> {
    const key = hamtKey(path)
    return this.#metadata.has(key) || this.hamt.has(key, options)
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

  /** The stored value of `key` as Zarr sees it; the encrypted store overrides this pair. */
  protected async readValue(key: string, options?: ZarrGetOptions): Promise<Uint8Array | undefined> {
    return this.hamt.get(key, { signal: options?.signal })
  }

  protected async readRange(
    key: string,
    range: ByteRange,
    options?: ZarrGetOptions,
  ): Promise<Uint8Array | undefined> {
    const cached = this.#metadata.get(key)
    if (cached !== undefined) return sliceByteRange(cached, range)
    return this.hamt.get(key, { range, signal: options?.signal })
  }

  protected async writeValue(key: string, value: Uint8Array): Promise<void> {
    await this.hamt.set(key, value)
  }

  #assertWritable(operation: string): void {
    if (this.readOnly) throw new ReadOnlyError(`${operation} on a read-only Zarr store`)
  }
}
