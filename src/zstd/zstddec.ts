import { ZSTDDecoder } from 'zstddec'
import { OutOfMemoryError } from '../errors.js'
import type { ZstdDecoder } from '../zarr/zstd.js'

/** What of zstddec's WebAssembly instance the allocation check needs. */
type Heap = { malloc(bytes: number): number; free(pointer: number): void }

/**
 * Room for libzstd's decompression context (about 160 KiB, malloc'd inside ZSTD_decompress) and the
 * allocator's headers: a context it cannot allocate is an error code zstddec returns as bytes.
 */
const CONTEXT_BYTES = 1 << 20

// zstddec does not expose its instance; its `_init` (public in its typings) receives it on load.
let heap: Heap | undefined
class CheckedDecoder extends ZSTDDecoder {
  override _init(result: WebAssembly.WebAssemblyInstantiatedSource): void {
    super._init(result)
    heap = result.instance.exports as unknown as Heap
  }
}

let instance: Promise<ZSTDDecoder> | undefined
const loaded = (): Promise<ZSTDDecoder> =>
  (instance ??= (async () => {
    const decoder = new CheckedDecoder()
    await decoder.init()
    return decoder
  })())

/**
 * zstddec mallocs the input and output without checking: a failed malloc (its memory cannot grow)
 * returns 0 and it would copy and decode from address 0, returning its own memory as the output. So
 * the whole allocation is made (and freed) first; the allocator then has one free run that holds both.
 */
function decodeChecked(decoder: ZSTDDecoder, compressed: Uint8Array, size: number): Uint8Array {
  // zstddec keeps one instance per module: code that loaded it first (a user's own import or codec)
  // made it without our `_init`, so nothing can be checked; a plain Error sends frames to the reference.
  if (heap === undefined) {
    throw new Error(
      'zstddec was instantiated by other code before ts-hamt: its allocations cannot be checked, so it is not used',
    )
  }
  const pointer = heap.malloc(compressed.length + size + CONTEXT_BYTES)
  if (pointer === 0) {
    throw new OutOfMemoryError(
      `zstddec cannot allocate ${size} bytes for a zstd frame of ${compressed.length} bytes: its WebAssembly memory cannot grow that far`,
    )
  }
  heap.free(pointer)
  return decoder.decode(compressed, size)
}

/**
 * zstddec's WebAssembly build in this thread, instantiated on first use: it decompresses into one
 * buffer of the declared size (zarrita's default copies the input into WASM a byte at a time). A frame
 * its memory cannot hold is `ERR_OUT_OF_MEMORY`, and the decoder stays usable. If other code
 * instantiated zstddec first, every frame goes to the reference codec (its memory is unchecked).
 */
export const zstddecDecoder: ZstdDecoder = {
  name: 'zstddec',
  async decode(compressed, size) {
    return decodeChecked(await loaded(), compressed, size)
  },
  // Into a buffer of the bound: libzstd's refusal (an error code) comes back as no bytes.
  async decodeUnsized(compressed, maxSize) {
    const out = decodeChecked(await loaded(), compressed, maxSize)
    if (out.length === 0)
      throw new Error('zstddec decoded no bytes: the frame is corrupt or larger than its blocks allow')
    return out
  },
}
