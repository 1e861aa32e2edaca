// `ts-hamt/zstd` in Node (the `node` condition of the exports map): zlib's zstd where Node has it.
// Same exports and types as ./index.ts, whose declarations the package serves for both.
import { registry } from 'zarrita'
import {
  type CodecRegistry,
  installZstdCodec,
  type ZstdCodecOptions,
  type ZstdDecoder,
} from '../zarr/zstd.js'
import { zlibDecoder } from './zlib.js'
import { zstddecDecoder } from './zstddec.js'

export type { CodecRegistry, ZstdCodecOptions, ZstdDecoder } from '../zarr/zstd.js'
export { zstdFrameContentSize } from '../zarr/zstd.js'

/** See ./index.ts; here the default decoder is Node's `zlib` where it has zstd, else zstddec. */
export function registerZstdCodec(options?: ZstdCodecOptions, codecs: CodecRegistry = registry): ZstdDecoder {
  return installZstdCodec(codecs, zlibDecoder ?? zstddecDecoder, options)
}
