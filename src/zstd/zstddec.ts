import { ZSTDDecoder } from 'zstddec'
import type { ZstdDecoder } from '../zarr/zstd.js'

let instance: Promise<ZSTDDecoder> | undefined

/**
 * zstddec's WebAssembly build in this thread, instantiated on first use: it decompresses into one
 * buffer of the declared size (zarrita's default copies the input into WASM a byte at a time).
 */
export const zstddecDecoder: ZstdDecoder = {
  name: 'zstddec',
  async decode(compressed, size) {
    instance ??= (async () => {
      const decoder = new ZSTDDecoder()
      await decoder.init()
      return decoder
    })()
    return (await instance).decode(compressed, size)
  },
}
