// zstd inputs shared by the zstd tests.
import type * as zarr from 'zarrita'
import type { ZstdDecoder } from '../../src/zarr/zstd.js'
import { registerZstdCodec } from '../../src/zstd/node.js'

type Registry = typeof zarr.registry
type Loader = NonNullable<ReturnType<Registry['get']>>

/** The fast zstd codec over `decoder`, with numcodecs' zstd (zarrita's own) as its reference. */
export async function fastCodec(decoder: ZstdDecoder) {
  const original = (): ReturnType<Loader> => import('numcodecs/zstd').then((m) => m.default as never)
  const registry: Registry = new Map([['zstd', original]])
  registerZstdCodec({ decoder }, registry)
  return (await (registry.get('zstd') as Loader)()).fromConfig({ level: 3, checksum: false }, {} as never)
}

/** Float32 values like a climate field (smooth, plus seeded noise), so they compress as real chunks do. */
export function climateField(n: number, seed: number): Float32Array {
  const values = new Float32Array(n)
  let state = seed
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    values[i] = 273 + 30 * Math.cos(i / 997) + (state / 2 ** 32 - 0.5) * 0.1
  }
  return values
}

/** One zstd frame of one raw block without a content size in its header (RFC 8878 3.1.1), as streaming encoders write. */
export function frameWithoutContentSize(payload: Uint8Array): Uint8Array {
  if (payload.length >= 1 << 17) throw new RangeError('one raw block holds less than 128 KiB')
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58] // no size, not single-segment, window 2^21
  const block = (payload.length << 3) | 1 // raw block, last
  return Uint8Array.from([...header, block & 0xff, (block >> 8) & 0xff, block >> 16, ...payload])
}
