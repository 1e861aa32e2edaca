import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'
import { describe, it } from 'node:test'
import NumcodecsZstd from 'numcodecs/zstd'
import type * as zarr from 'zarrita'
import { isHamtError } from '../src/index.js'
import { type ZstdDecoder, zstdFrameContentSize, zstdFrameLength } from '../src/zarr/zstd.js'
import { registerZstdCodec } from '../src/zstd/node.js'
import { zlibDecoder } from '../src/zstd/zlib.js'
import { zstddecDecoder } from '../src/zstd/zstddec.js'
import { climateField, frameWithoutContentSize } from './helpers/zstd.js'

type Registry = typeof zarr.registry
type Loader = NonNullable<ReturnType<Registry['get']>>

/** A registry holding only zarrita's own (reference) zstd entries, so tests do not touch the global one. */
function referenceRegistry(): Registry {
  const original = (): ReturnType<Loader> => import('numcodecs/zstd').then((m) => m.default as never)
  return new Map<string, Loader>([
    ['zstd', original],
    ['numcodecs.zstd', original],
  ])
}

/** Every decoder this runtime has: zstddec everywhere, Node's zlib where it has zstd (22.15+). */
const decoders = [zstddecDecoder, ...(zlibDecoder ? [zlibDecoder] : [])]

async function fastCodec(decoder: ZstdDecoder, registry = referenceRegistry()) {
  registerZstdCodec({ decoder }, registry)
  const entry = await (registry.get('zstd') as Loader)()
  return entry.fromConfig({ level: 3, checksum: false }, {} as never)
}

/** Climate-like float32 data as bytes. */
const field = (n: number, seed: number): Uint8Array => new Uint8Array(climateField(n, seed).buffer)

for (const decoder of decoders)
  describe(`zstd decoding for zarrita with ${decoder.name}`, () => {
    const reference = new NumcodecsZstd(3)

    it('decodes what the reference encoder wrote, byte for byte, at several sizes and levels', async () => {
      const fast = await fastCodec(decoder)
      for (const [size, level] of [
        [1, 1],
        [1000, 3],
        [65_536, 3],
        [655_360, 3],
        [655_360, 19],
      ] as const) {
        const raw = field(Math.ceil(size / 4), size).subarray(0, size)
        const compressed = await new NumcodecsZstd(level).encode(raw)
        assert.equal(zstdFrameContentSize(compressed), size)
        const decoded = await fast.decode(compressed)
        assert.deepEqual(decoded, await reference.decode(compressed))
        assert.deepEqual(decoded, raw)
      }
    })

    it('falls back to the reference codec for frames without a size, several frames, and bad input', async () => {
      const fast = await fastCodec(decoder)
      const payload = field(1000, 7)
      const unsized = frameWithoutContentSize(payload)
      assert.equal(zstdFrameContentSize(unsized), undefined)
      assert.deepEqual(await fast.decode(unsized), await reference.decode(unsized))
      assert.deepEqual(await fast.decode(unsized), payload)

      const [a, b] = [await reference.encode(field(500, 1)), await reference.encode(field(700, 2))]
      const two = new Uint8Array([...a, ...b])
      assert.deepEqual(await fast.decode(two), await reference.decode(two))

      const corrupt = (await reference.encode(field(5000, 3))).slice()
      corrupt.fill(0xab, 20, 60)
      await assert.rejects(async () => reference.decode(corrupt))
      await assert.rejects(async () => fast.decode(corrupt))
      await assert.rejects(async () => fast.decode(new Uint8Array([1, 2, 3])))
    })

    it('a frame cut short in its checksum, or with a wrong one: refused as the reference codec refuses it', async () => {
      const fast = await fastCodec(decoder)
      const payload = field(300, 5)
      // Single segment, 2-byte content size, content checksum flag; one raw last block; 4 checksum bytes.
      const header = [
        0x28,
        0xb5,
        0x2f,
        0xfd,
        0x64,
        (payload.length - 256) & 0xff,
        (payload.length - 256) >> 8,
      ]
      const block = (payload.length << 3) | 1
      const frame = Uint8Array.from([
        ...header,
        block & 0xff,
        (block >> 8) & 0xff,
        block >> 16,
        ...payload,
        1,
        2,
        3,
        4,
      ])
      assert.equal(zstdFrameContentSize(frame), payload.length)
      assert.equal(zstdFrameLength(frame), frame.length)
      const real = await reference.encode(field(100_000, 6))
      assert.equal(zstdFrameLength(real), real.length)
      for (const cut of [0, 1, 2, 3, 4]) {
        assert.equal(
          zstdFrameLength(frame.subarray(0, frame.length - cut)),
          cut === 0 ? frame.length : undefined,
        )
        const short = frame.subarray(0, frame.length - cut)
        await assert.rejects(async () => reference.decode(short), `reference, ${cut} bytes cut`)
        await assert.rejects(async () => fast.decode(short), `${cut} bytes cut`)
      }
    })

    it('encodes with the reference codec', async () => {
      const fast = await fastCodec(decoder)
      const raw = field(4096, 11)
      assert.deepEqual(await fast.encode(raw), await reference.encode(raw))
    })

    it('a frame declaring a size other than what it holds: the same bytes or the same refusal as the reference', async () => {
      const fast = await fastCodec(decoder)
      const payload = field(300, 9)
      for (const declared of [payload.length - 1, payload.length + 1, 1, 200]) {
        // Single segment, 2-byte content size field (value - 256), one raw block.
        const header = [0x28, 0xb5, 0x2f, 0xfd, 0x60, (declared - 256) & 0xff, (declared - 256) >> 8]
        const frame =
          declared >= 256
            ? Uint8Array.from(header)
            : Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, declared])
        const block = (payload.length << 3) | 1
        const lying = Uint8Array.from([...frame, block & 0xff, (block >> 8) & 0xff, block >> 16, ...payload])
        assert.equal(zstdFrameContentSize(lying), declared)
        const outcome = (decoding: Promise<Uint8Array>) =>
          decoding.then(
            (bytes) => ({ bytes }),
            () => ({ error: true }),
          )
        const expected = await outcome(reference.decode(lying))
        const got = await outcome(Promise.resolve(fast.decode(lying)))
        assert.deepEqual(got, expected, `declared ${declared} for ${payload.length} bytes`)
      }
    })
  })

describe('zstd codec registration', () => {
  it('reads the frame header size fields of every width', () => {
    const frame = (descriptor: number, ...rest: number[]) =>
      Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...rest, 0, 0, 0])
    assert.equal(zstdFrameContentSize(frame(0x20, 200)), 200) // single segment, 1 byte
    assert.equal(zstdFrameContentSize(frame(0x40, 0x58, 0x10, 0x00)), 0x10 + 256) // 2 bytes, plus 256
    assert.equal(zstdFrameContentSize(frame(0x80, 0x58, 1, 2, 3, 4)), 0x04030201) // 4 bytes
    assert.equal(zstdFrameContentSize(frame(0xc1, 0x58, 9, 1, 0, 0, 0, 1, 0, 0, 0)), 2 ** 32 + 1) // 8, dict ID
    assert.equal(zstdFrameContentSize(frame(0x00, 0x58)), undefined)
    assert.equal(zstdFrameContentSize(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfc, 0x20, 1])), undefined)
  })

  it('registers once, keeping the reference it replaced, and rejects what is not a registry', async () => {
    const registry = referenceRegistry()
    const original = registry.get('zstd')
    registerZstdCodec({}, registry)
    const installed = registry.get('zstd')
    assert.notEqual(installed, original)
    assert.notEqual(registry.get('numcodecs.zstd'), original)
    registerZstdCodec({}, registry)
    assert.equal(registry.get('zstd'), installed)
    assert.throws(
      () => registerZstdCodec({}, {} as Registry),
      (error) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
    )
  })

  it('returns the decoder in use; a given decoder replaces it, registering without one keeps it', () => {
    const registry = referenceRegistry()
    const custom: ZstdDecoder = {
      name: 'custom',
      decode: (frame, size) => zstddecDecoder.decode(frame, size),
    }
    const first = registerZstdCodec({}, registry)
    assert.ok(decoders.includes(first))
    assert.equal(registerZstdCodec({ decoder: custom }, registry), custom)
    assert.equal(registerZstdCodec({}, registry), custom)
    assert.throws(
      () => registerZstdCodec({ decoder: {} as ZstdDecoder }, registry),
      (error) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
    )
  })
})

describe("Node's zlib decoder", {
  skip: zlibDecoder === undefined && 'this Node has no zstd in zlib',
}, () => {
  it('allocates one output buffer a frame (an exactly-sized chunk made zlib allocate a second)', async () => {
    const decoder = zlibDecoder as ZstdDecoder
    const size = 655_360
    const raw = field(size / 4, 5)
    const compressed = await new NumcodecsZstd(3).encode(raw)
    // zlib's stream allocates its output chunks with Buffer.allocUnsafe: count what it asks for.
    const allocUnsafe = Buffer.allocUnsafe
    let allocated = 0
    Buffer.allocUnsafe = (n: number) => {
      allocated += n
      return allocUnsafe(n)
    }
    let decoded: Uint8Array
    try {
      decoded = await decoder.decode(compressed, size)
    } finally {
      Buffer.allocUnsafe = allocUnsafe
    }
    assert.deepEqual(decoded, raw)
    assert.ok(allocated >= size && allocated < 2 * size, `allocated ${allocated} bytes for ${size}`)
  })

  it('decodes a frame in one trip to the thread pool, so frames decoded at once finish as each is done', async () => {
    // The buffer API's second trip (the stream's end, with no input left) queued behind every frame
    // submitted meanwhile: in a whole read no chunk was ready until all were decoded. Each trip ends
    // in one callback of the stream's zlib handle, counted here.
    const decoder = zlibDecoder as ZstdDecoder
    const size = 65_536
    const raw = field(size / 4, 7)
    const compressed = await new NumcodecsZstd(3).encode(raw)
    const zlibHandles = new Set<number>()
    let callbacks = 0
    const hook = createHook({
      init(asyncId, type) {
        if (type === 'ZLIB') zlibHandles.add(asyncId)
      },
      before(asyncId) {
        if (zlibHandles.has(asyncId)) callbacks++
      },
    }).enable()
    let decoded: Uint8Array[]
    try {
      decoded = await Promise.all([1, 2, 3].map(() => decoder.decode(compressed, size)))
    } finally {
      hook.disable()
    }
    for (const bytes of decoded) assert.deepEqual(bytes, raw)
    assert.equal(zlibHandles.size, 3)
    assert.equal(callbacks, 3, `${callbacks} thread-pool callbacks for 3 frames`)
  })
})
