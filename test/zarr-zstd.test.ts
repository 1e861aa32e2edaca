import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import NumcodecsZstd from 'numcodecs/zstd'
import * as zarr from 'zarrita'
import { HAMT, isHamtError, MemoryStore, registerZstdCodec, ZarrHAMTStore } from '../src/index.js'
import { zstdFrameContentSize } from '../src/zarr/zstd.js'

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

async function fastCodec(registry = referenceRegistry()) {
  registerZstdCodec({}, registry)
  const entry = await (registry.get('zstd') as Loader)()
  return entry.fromConfig({ level: 3, checksum: false }, {} as never)
}

/** Float32 data like a climate field: smooth with noise, so it compresses as real chunks do. */
function field(n: number, seed: number): Uint8Array {
  const values = new Float32Array(n)
  let state = seed
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    values[i] = 273 + 30 * Math.cos(i / 997) + (state / 2 ** 32 - 0.5) * 0.1
  }
  return new Uint8Array(values.buffer)
}

/** One zstd frame of raw blocks without a content size in its header (RFC 8878 3.1.1), as streaming encoders write. */
function frameWithoutContentSize(payload: Uint8Array): Uint8Array {
  assert.ok(payload.length < 1 << 17)
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58] // no size, not single-segment, window 2^21
  const block = (payload.length << 3) | 1 // raw block, last
  return Uint8Array.from([...header, block & 0xff, (block >> 8) & 0xff, block >> 16, ...payload])
}

describe('zstd decoding for zarrita', () => {
  const reference = new NumcodecsZstd(3)

  it('decodes what the reference encoder wrote, byte for byte, at several sizes and levels', async () => {
    const fast = await fastCodec()
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
    const fast = await fastCodec()
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

  it('encodes with the reference codec', async () => {
    const fast = await fastCodec()
    const raw = field(4096, 11)
    assert.deepEqual(await fast.encode(raw), await reference.encode(raw))
  })

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

  it('is what zarrita uses once a ZarrHAMTStore exists, and round-trips a zstd array', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    // zarrita's own entry makes numcodecs' codec; after the store registers ours, zstd is no longer it.
    const entry = await (zarr.registry.get('zstd') as Loader)()
    const codec = entry.fromConfig({ level: 3, checksum: false }, {} as never)
    assert.ok(!(codec instanceof NumcodecsZstd))
    assert.equal(entry.kind, 'bytes_to_bytes')
    const array = await zarr.create(zarr.root(zarrStore).resolve('temp'), {
      shape: [40, 300],
      chunkShape: [20, 150],
      dtype: 'float32',
      codecs: [
        { name: 'bytes', configuration: { endian: 'little' } },
        { name: 'zstd', configuration: { level: 3, checksum: true } },
      ],
    })
    const values = new Float32Array(field(12_000, 5).buffer)
    await zarr.set(array, null, { data: values, shape: [40, 300], stride: [300, 1] })
    const stored = (await map.get('temp/c/1/1')) as Uint8Array
    assert.ok(zstdFrameContentSize(stored) === 20 * 150 * 4)
    const read = await zarr.get(await zarr.open(zarr.root(zarrStore).resolve('temp'), { kind: 'array' }))
    assert.deepEqual(read.data, values)
  })
})
