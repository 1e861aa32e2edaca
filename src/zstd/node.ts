// `ts-hamt/zstd` in Node (the `node` condition of the exports map): zlib's zstd where Node has it.
// Its exports are ./index.ts's, whose declarations the package serves for both.
import { registry } from 'zarrita'
import {
  type CodecRegistry,
  installZstdCodec,
  type ZstdCodecOptions,
  type ZstdDecoder,
} from '../zarr/zstd.js'
import { zlibDecoder } from './zlib.js'
import { zstddecDecoder } from './zstddec.js'

// Everything of ./index.ts; this module's own registerZstdCodec takes precedence over the one there.
export * from './index.js'

/** See ./index.ts; here the default decoder is Node's `zlib` where it has zstd, else zstddec. */
export function registerZstdCodec(options?: ZstdCodecOptions, codecs: CodecRegistry = registry): ZstdDecoder {
  return installZstdCodec(codecs, zlibDecoder ?? zstddecDecoder, options)
}
