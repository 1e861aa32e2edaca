import type { registry } from 'zarrita'
import { HamtError, InvalidArgumentError, InvalidValueError } from '../errors.js'

/** The registry entries zarrita looks `zstd` up under (Zarr v3 and numcodecs-style v2 metadata). */
const ZSTD_NAMES = ['zstd', 'numcodecs.zstd'] as const

/**
 * Decoded sizes above this go to the reference codec: the fast path allocates the whole output at
 * once. It also bounds the output of a frame that does not declare its size.
 */
const MAX_FAST_DECODED_BYTES = 1 << 30

/** zarrita's codec registry (its global `registry`, or a `Map` of the same shape). */
export type CodecRegistry = typeof registry
type CodecLoader = NonNullable<ReturnType<CodecRegistry['get']>>
type CodecEntry = Awaited<ReturnType<CodecLoader>>
type ChunkCodec = ReturnType<CodecEntry['fromConfig']>

/**
 * Decompresses one zstd frame whose decompressed size is known (it is passed one whole frame, never
 * several). A result of any other length (or a rejection) sends the frame to the reference codec, so
 * a decoder need not report zstd's errors; once the decoder has decoded a frame, its refusal of one
 * whole frame is `ERR_INVALID_VALUE`. A rejection with a ts-hamt error (a `HamtError`, e.g. a closed
 * pool's) is the decoder's own failure, passed on as it is.
 */
export interface ZstdDecoder {
  decode(compressed: Uint8Array, size: number): Uint8Array | Promise<Uint8Array>
  /**
   * Optional: decompresses one whole zstd frame that does not declare its size into at most `maxSize`
   * bytes (what its blocks can hold), else rejects. Without it such frames go to the reference codec.
   */
  decodeUnsized?(compressed: Uint8Array, maxSize: number): Uint8Array | Promise<Uint8Array>
  /** What decodes, for diagnostics (`'node:zlib'`, `'zstddec'`). */
  readonly name?: string
}

export interface ZstdCodecOptions {
  /**
   * Where frames are decompressed. Default: Node's `zlib` where it has zstd (Node 22.15+, on libuv's
   * threads), else zstddec's WebAssembly build in this thread (Node 20, browsers).
   */
  decoder?: ZstdDecoder
}

/** What each installed loader decodes with, so that registering again only changes the decoder. */
const installed = new WeakMap<CodecLoader, { decoder: ZstdDecoder }>()

/** Where a zstd frame's header (RFC 8878, 3.1.1.1) puts its content size field, if `bytes` starts one. */
function frameHeader(
  bytes: Uint8Array,
): { descriptor: number; sizeAt: number; sizeBytes: number } | undefined {
  if (bytes.length < 6 || bytes[0] !== 0x28 || bytes[1] !== 0xb5 || bytes[2] !== 0x2f || bytes[3] !== 0xfd) {
    return undefined
  }
  const descriptor = bytes[4] as number
  const singleSegment = (descriptor >> 5) & 1
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3] as number
  const sizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6] as number
  return { descriptor, sizeAt: 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes, sizeBytes }
}

/**
 * The decompressed size a zstd frame declares in its header (RFC 8878, 3.1.1.1), or `undefined` when
 * `bytes` is not one frame that declares it. Only then can the output be allocated once, up front.
 */
export function zstdFrameContentSize(bytes: Uint8Array): number | undefined {
  const header = frameHeader(bytes)
  if (header === undefined || header.sizeBytes === 0) return undefined
  const { sizeAt: at, sizeBytes } = header
  if (at + sizeBytes > bytes.length) return undefined
  let size = 0
  for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + (bytes[at + i] as number)
  return sizeBytes === 2 ? size + 256 : size
}

/** A block decodes to at most 128 KiB (RFC 8878, 3.1.1.2.4): what a compressed block is counted as. */
const MAX_BLOCK_DECODED_BYTES = 128 << 10

/**
 * The length of the zstd frame `bytes` starts with and the most it can decode to (raw and RLE blocks
 * their size, compressed ones 128 KiB), read from its header and block headers (RFC 8878, 3.1.1.2),
 * or `undefined` when no whole frame is there.
 */
function walkFrame(bytes: Uint8Array): { length: number; decodedBound: number } | undefined {
  const header = frameHeader(bytes)
  if (header === undefined || (header.descriptor & 0x08) !== 0) return undefined // reserved bit set
  let at = header.sizeAt + header.sizeBytes
  let decodedBound = 0
  for (;;) {
    if (at + 3 > bytes.length) return undefined
    const block = (bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)
    const type = (block >> 1) & 3
    if (type === 3) return undefined // reserved block type
    at += 3 + (type === 1 ? 1 : block >> 3) // an RLE block holds one byte
    decodedBound += type === 2 ? MAX_BLOCK_DECODED_BYTES : block >> 3
    if ((block & 1) === 1) break
  }
  at += (header.descriptor & 0x04) !== 0 ? 4 : 0 // the content checksum
  return at <= bytes.length ? { length: at, decodedBound } : undefined
}

/**
 * The length of the zstd frame `bytes` starts with, read from its header and block headers (RFC 8878,
 * 3.1.1.2), or `undefined` when no whole frame is there. Node's zlib hands a frame's output over before
 * it reads the frame's end (a checksum cut off went unnoticed), so the zlib decoder takes whole frames only.
 */
export function zstdFrameLength(bytes: Uint8Array): number | undefined {
  return walkFrame(bytes)?.length
}

/** A skippable frame's first magic byte (0x50-0x5f; RFC 8878, 3.1.2), then 2a 4d 18, a 4-byte size, its data. */
function skippableFrameLength(bytes: Uint8Array, at: number): number | undefined {
  if (bytes.length - at < 8 || ((bytes[at] as number) & 0xf0) !== 0x50) return undefined
  if (bytes[at + 1] !== 0x2a || bytes[at + 2] !== 0x4d || bytes[at + 3] !== 0x18) return undefined
  const size = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4).getUint32(0, true)
  return at + 8 + size <= bytes.length ? 8 + size : undefined
}

/** Whether `bytes` begins as a zstd or skippable frame does, as far as it goes (a magic number cut short too). */
function startsFrame(bytes: Uint8Array): boolean {
  const magic = (bytes[0] as number) >> 4 === 5 ? [bytes[0], 0x2a, 0x4d, 0x18] : [0x28, 0xb5, 0x2f, 0xfd]
  return magic.every((byte, i) => i >= bytes.length || bytes[i] === byte)
}

/**
 * What makes `bytes` not a run of whole zstd and skippable frames (RFC 8878, 3.1), or `undefined` when
 * it is one. numcodecs' zstd hangs on a frame followed by a cut-off one and leaks 32 bytes of its
 * WebAssembly stack per refusal (broken for the process after ~1,950), so it is not asked about these.
 */
export function zstdFramesFault(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'no zstd frame (0 bytes)'
  for (let at = 0; at < bytes.length; ) {
    const rest = bytes.subarray(at)
    const length = zstdFrameLength(rest) ?? skippableFrameLength(bytes, at)
    if (length === undefined) {
      return startsFrame(rest)
        ? `the frame at byte ${at} of ${bytes.length} is cut short or has a reserved bit or block type set`
        : `bytes ${at}-${bytes.length} are no zstd frame (one starts 28 b5 2f fd, a skippable one 5? 2a 4d 18)`
    }
    at += length
  }
  return undefined
}

/**
 * Refusals numcodecs' zstd (the reference) may still make: each leaks 32 bytes of its 64 KiB
 * WebAssembly stack, and past ~1,950 every call of the process fails or hangs. Shared, as its module is.
 */
const referenceRefusals = { left: 1024 }

/** Decoders that have decoded a frame: a refusal by one that never did may be its own failure to load. */
const decodersThatWorked = new WeakSet<ZstdDecoder>()

/**
 * zarrita's `zstd` codec with a faster decoder that decompresses straight into one buffer of the
 * size the frame declares (or, where the decoder can, bounded, a frame declaring none). Encoding,
 * other inputs and frames the fast path rejects go to the codec it replaces, so results and errors
 * are the reference codec's. The reference is loaded only then: in a browser, zarrita's own decoder
 * (numcodecs' WASM) is not downloaded to read.
 */
class FastZstdCodec {
  readonly kind = 'bytes_to_bytes' as const
  readonly #settings: { decoder: ZstdDecoder }
  readonly #reference: () => Promise<ChunkCodec>

  constructor(settings: { decoder: ZstdDecoder }, reference: () => Promise<ChunkCodec>) {
    this.#settings = settings
    this.#reference = reference
  }

  async encode(bytes: Uint8Array): Promise<Uint8Array> {
    return (await this.#reference()).encode(bytes)
  }

  async decode(bytes: Uint8Array): Promise<Uint8Array> {
    const fault = zstdFramesFault(bytes)
    if (fault !== undefined) throw new InvalidValueError(`zstd chunk refused: ${fault}`)
    const size = zstdFrameContentSize(bytes)
    const decoder = this.#settings.decoder
    const frame = walkFrame(bytes)
    const oneFrame = frame?.length === bytes.length
    // One whole frame only: `size` is the first frame's, and a decoder that reads one frame (as the
    // interface says, and zlib's zstdDecompress does) would return exactly that many bytes of several.
    const sized = oneFrame && size !== undefined && size > 0 && size <= MAX_FAST_DECODED_BYTES
    // Unsized, the output is bounded by what the frame's blocks can hold (nothing: the reference's case).
    const bound = oneFrame ? frame.decodedBound : 0
    const unsized =
      size === undefined &&
      decoder.decodeUnsized !== undefined &&
      bound > 0 &&
      bound <= MAX_FAST_DECODED_BYTES
    if (sized || unsized) {
      // A decoder need not report zstd's errors: a failure or a result of another size means this
      // frame needs the reference, which decodes it or throws the error that says what is wrong.
      let out: Uint8Array | undefined
      let failure: unknown
      try {
        out = await (sized ? decoder.decode(bytes, size) : decoder.decodeUnsized?.(bytes, bound))
      } catch (error) {
        failure = error
      }
      if (out !== undefined && (sized ? out.length === size : out.length <= bound)) {
        decodersThatWorked.add(decoder)
        return out
      }
      if (failure instanceof HamtError) throw failure // the decoder's own failure, typed by it
      // One whole frame a decoder that works refused is corrupt (libzstd checks its size and
      // checksum): not asked of the reference, whose refusals are limited. Several frames are its case.
      if (decodersThatWorked.has(decoder) && oneFrame) {
        const got = failure === undefined ? `${out?.length ?? 'no'} bytes` : String(failure)
        const declaring = sized ? `declaring ${size}` : 'without a declared size'
        throw new InvalidValueError(
          `zstd frame of ${bytes.length} bytes ${declaring} refused by ${decoder.name ?? 'the decoder'}: ${got}`,
          { cause: failure },
        )
      }
    }
    if (referenceRefusals.left <= 0) {
      throw new InvalidValueError(
        `zstd frame of ${bytes.length} bytes not decoded: zarrita's zstd codec (numcodecs) refused 1024 frames in this process and breaks past ~1,950; read it in a fresh process`,
      )
    }
    const reference = await this.#reference()
    try {
      return await reference.decode(bytes)
    } catch (error) {
      referenceRefusals.left--
      throw error
    }
  }
}

/** `reference`'s codec for one config, made on first use and then kept (a failed load is retried). */
function lazyReference(
  reference: CodecLoader,
  config: unknown,
  meta: Parameters<CodecEntry['fromConfig']>[1],
) {
  let codec: Promise<ChunkCodec> | undefined
  return (): Promise<ChunkCodec> => {
    codec ??= reference()
      .then((Reference) => Reference.fromConfig(config, meta))
      .catch((error: unknown) => {
        codec = undefined
        throw error
      })
    return codec
  }
}

/**
 * Replaces the `zstd` entries of `codecs` by {@link FastZstdCodec} decoding with `options.decoder`,
 * else `defaultDecoder`; the entry point of `ts-hamt/zstd` for each runtime supplies the default.
 * Returns the decoder the `zstd` entry now uses.
 */
export function installZstdCodec(
  codecs: CodecRegistry,
  defaultDecoder: ZstdDecoder,
  options: ZstdCodecOptions = {},
): ZstdDecoder {
  if (!(codecs instanceof Map)) {
    throw new InvalidArgumentError('registerZstdCodec needs a zarrita codec registry')
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('registerZstdCodec options must be an object')
  }
  const decoder = options.decoder
  if (decoder !== undefined && typeof decoder?.decode !== 'function') {
    throw new InvalidArgumentError('options.decoder must have a decode(compressed, size) method')
  }
  let inUse: ZstdDecoder | undefined
  for (const name of ZSTD_NAMES) {
    const reference = codecs.get(name)
    if (reference === undefined) continue
    const current = installed.get(reference)
    if (current !== undefined) {
      if (decoder !== undefined) current.decoder = decoder
      inUse ??= current.decoder
      continue
    }
    const settings = { decoder: decoder ?? defaultDecoder }
    // Not awaiting `reference()` here is the point: its module is loaded only when a codec needs it.
    const loader: CodecLoader = async () => ({
      kind: 'bytes_to_bytes',
      fromConfig: (config, meta) => new FastZstdCodec(settings, lazyReference(reference, config, meta)),
    })
    installed.set(loader, settings)
    codecs.set(name, loader)
    inUse ??= settings.decoder
  }
  return inUse ?? decoder ?? defaultDecoder
}
