import { ZSTDDecoder } from 'zstddec'
import type { ZstdDecoder } from '../zarr/zstd.js'

let instance: Promise<ZSTDDecoder> | undefined
const loaded = (): Promise<ZSTDDecoder> =>
  (instance ??= (async () => {
    const decoder = new ZSTDDecoder()
    await decoder.init()
    return decoder
  })())

/**
 * zstddec's WebAssembly build in this thread, instantiated on first use: it decompresses into one
 * buffer of the declared size (zarrita's default copies the input into WASM a byte at a time).
 */
export const zstddecDecoder: ZstdDecoder = {
  name: 'zstddec',
  async decode(compressed, size) {
    return (await loaded()).decode(compressed, size)
  },
  // Into a buffer of the bound: libzstd's refusal (an error code) comes back as no bytes.
  async decodeUnsized(compressed, maxSize) {
    const out = (await loaded()).decode(compressed, maxSize)
    if (out.length === 0)
      throw new Error('zstddec decoded no bytes: the frame is corrupt or larger than its blocks allow')
    return out
  },
}
