// `ts-hamt/zstd` in browsers and other runtimes; Node resolves the subpath to ./node.ts instead.
import { registry } from 'zarrita'
import {
  type CodecRegistry,
  installZstdCodec,
  type ZstdCodecOptions,
  type ZstdDecoder,
} from '../zarr/zstd.js'
import { zstddecDecoder } from './zstddec.js'

export type { CodecRegistry, ZstdCodecOptions, ZstdDecoder } from '../zarr/zstd.js'
export { zstdFrameContentSize } from '../zarr/zstd.js'

/**
 * Makes zarrita decode `zstd` chunks with a faster decoder, for every store read through `codecs`
 * (zarrita's global `registry` unless given): nothing changes until you call it. The decoder is
 * Node's `zlib` on Node 22.15+ (off the main thread, on libuv's pool), else zstddec's WebAssembly
 * build in this thread (Node 20 and browsers); `options.decoder` picks another, e.g.
 * `nodeWorkers().zstdDecoder` of `ts-hamt/node`. One whole frame that declares its size goes to it,
 * and one that declares none (bounded by what its blocks hold); encoding and other inputs go to
 * zarrita's own codec (its numcodecs WASM, loaded only then), so results are zarrita's; what is not
 * a run of whole zstd frames, or one frame a decoder that has worked refused, is an
 * `ERR_INVALID_VALUE` without asking it (its refusals break it past ~1,950). A decoder's own typed
 * failure (e.g. `ERR_INVALID_ARGUMENT` from a closed `nodeWorkers()`) is passed on as it is.
 * Calling it again changes only the decoder, when one is given. Returns the decoder now in use.
 *
 * @example
 * ```ts
 * import * as zarr from 'zarrita'
 * import { registerZstdCodec } from 'ts-hamt/zstd'
 * registerZstdCodec() // for every zarrita store, e.g. zarr.FetchStore or a ZarrHAMTStore
 * const arr = await zarr.open(new zarr.FetchStore('https://example.com/data.zarr'), { kind: 'array' })
 * ```
 */
export function registerZstdCodec(options?: ZstdCodecOptions, codecs: CodecRegistry = registry): ZstdDecoder {
  return installZstdCodec(codecs, zstddecDecoder, options)
}
