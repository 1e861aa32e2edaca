import { registry } from 'zarrita'
import { ZSTDDecoder } from 'zstddec'
import { InvalidArgumentError } from '../errors.js'

/** The registry entries zarrita looks `zstd` up under (Zarr v3 and numcodecs-style v2 metadata). */
const ZSTD_NAMES = ['zstd', 'numcodecs.zstd'] as const

/** Decoded sizes above this go to the reference codec: the fast path allocates the whole output at once. */
const MAX_FAST_DECODED_BYTES = 1 << 30

type CodecRegistry = typeof registry
type CodecLoader = NonNullable<ReturnType<CodecRegistry['get']>>
type CodecEntry = Awaited<ReturnType<CodecLoader>>
type ChunkCodec = ReturnType<CodecEntry['fromConfig']>

/**
 * Decompresses one zstd frame whose decompressed size is known. A result of any other length (or a
 * rejection) sends the frame to the reference codec, so a decoder need not report zstd's errors.
 */
export interface ZstdDecoder {
  decode(compressed: Uint8Array, size: number): Uint8Array | Promise<Uint8Array>
}

export interface ZstdCodecOptions {
  /** Where frames are decompressed; default zstddec's WebAssembly build in this thread. */
  decoder?: ZstdDecoder
}

let inThread: Promise<ZSTDDecoder> | undefined
/** zstddec in this thread, instantiated on first use. */
const inThreadDecoder: ZstdDecoder = {
  async decode(compressed, size) {
    inThread ??= (async () => {
      const instance = new ZSTDDecoder()
      await instance.init()
      return instance
    })()
    return (await inThread).decode(compressed, size)
  },
}

/** What each installed loader decodes with, so that registering again only changes the decoder. */
const installed = new WeakMap<CodecLoader, { decoder: ZstdDecoder }>()

/**
 * The decompressed size a zstd frame declares in its header (RFC 8878, 3.1.1.1), or `undefined` when
 * `bytes` is not one frame that declares it. Only then can the output be allocated once, up front.
 */
export function zstdFrameContentSize(bytes: Uint8Array): number | undefined {
  if (bytes.length < 6 || bytes[0] !== 0x28 || bytes[1] !== 0xb5 || bytes[2] !== 0x2f || bytes[3] !== 0xfd) {
    return undefined
  }
  const descriptor = bytes[4] as number
  const sizeFlag = descriptor >> 6
  const singleSegment = (descriptor >> 5) & 1
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3] as number
  const sizeBytes = [singleSegment, 2, 4, 8][sizeFlag] as number
  if (sizeBytes === 0) return undefined
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes
  if (at + sizeBytes > bytes.length) return undefined
  let size = 0
  for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + (bytes[at + i] as number)
  return sizeBytes === 2 ? size + 256 : size
}

/**
 * zarrita's `zstd` codec with a faster decoder: zstddec's WebAssembly build decompresses straight
 * into one buffer of the size the frame declares (zarrita's default copies the input into WASM a
 * byte at a time). Encoding, frames without a declared size and frames the fast path rejects go to
 * the codec it replaces, so results and errors are the reference codec's.
 */
class FastZstdCodec {
  readonly kind = 'bytes_to_bytes' as const
  readonly #settings: { decoder: ZstdDecoder }
  readonly #reference: ChunkCodec

  constructor(settings: { decoder: ZstdDecoder }, reference: ChunkCodec) {
    this.#settings = settings
    this.#reference = reference
  }

  encode(bytes: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#reference.encode(bytes)
  }

  async decode(bytes: Uint8Array): Promise<Uint8Array> {
    const size = zstdFrameContentSize(bytes)
    if (size !== undefined && size > 0 && size <= MAX_FAST_DECODED_BYTES) {
      // zstddec does not report zstd's errors: a failure or a result of another size means this frame
      // needs the reference, which decodes it or throws the error that says what is wrong.
      let out: Uint8Array | undefined
      try {
        out = await this.#settings.decoder.decode(bytes, size)
      } catch {}
      if (out?.length === size) return out
    }
    return this.#reference.decode(bytes)
  }
}

/**
 * Makes zarrita decode `zstd` chunks with zstddec's WebAssembly decoder (about 1.3× faster per chunk
 * than zarrita's default on real climate data, bench/zstd.ts) instead of its default, in `codecs`
 * (zarrita's global `registry` unless given). {@link ZarrHAMTStore} calls it without options, so
 * readers through it get the fast decoder without asking; call it yourself for other zarrita stores,
 * or to decode elsewhere (`nodeWorkers().zstdDecoder` of `ts-hamt/node`: a faster decoder, on worker
 * threads). Calling it again changes only the decoder, when `options.decoder` is given.
 *
 * @example
 * ```ts
 * import * as zarr from 'zarrita'
 * registerZstdCodec() // for every zarrita store, e.g. zarr.FetchStore
 * const arr = await zarr.open(new zarr.FetchStore('https://example.com/data.zarr'), { kind: 'array' })
 * ```
 */
export function registerZstdCodec(options: ZstdCodecOptions = {}, codecs: CodecRegistry = registry): void {
  if (!(codecs instanceof Map)) {
    throw new InvalidArgumentError('registerZstdCodec needs a zarrita codec registry')
  }
  const decoder = options.decoder
  if (decoder !== undefined && typeof decoder?.decode !== 'function') {
    throw new InvalidArgumentError('options.decoder must have a decode(compressed, size) method')
  }
  for (const name of ZSTD_NAMES) {
    const reference = codecs.get(name)
    if (reference === undefined) continue
    const current = installed.get(reference)
    if (current !== undefined) {
      if (decoder !== undefined) current.decoder = decoder
      continue
    }
    const settings = { decoder: decoder ?? inThreadDecoder }
    const loader: CodecLoader = async () => {
      const Reference = await reference()
      return {
        kind: 'bytes_to_bytes',
        fromConfig: (config, meta) => new FastZstdCodec(settings, Reference.fromConfig(config, meta)),
      }
    }
    installed.set(loader, settings)
    codecs.set(name, loader)
  }
}
