// ts-hamt/zstd against zarrita's real global registry: nothing changes until registerZstdCodec() is
// called, Node picks zlib where it has zstd, and reads never load zarrita's own zstd module (numcodecs'
// WASM, ~243 KB gzip in a browser) unless a frame needs it. One process, so the order below matters.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import NumcodecsZstd from 'numcodecs/zstd'
import * as zarr from 'zarrita'
import { HAMT, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { registerZstdCodec as registerForBrowsers } from '../src/zstd/index.js'
import { registerZstdCodec } from '../src/zstd/node.js'
import { climateField as field, frameWithoutContentSize } from './helpers/zstd.js'

type Loader = NonNullable<ReturnType<typeof zarr.registry.get>>
const NAMES = ['zstd', 'numcodecs.zstd'] as const

/** Node's zlib decodes zstd from 22.15 and 23.8 (nodejs/node#52100). */
function nodeHasZstd(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  return major >= 24 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15)
}

describe('ts-hamt/zstd and the global zarrita registry', () => {
  const zarritaOwn = new Map(NAMES.map((name) => [name, zarr.registry.get(name) as Loader]))

  it('creating a ZarrHAMTStore changes nothing global', async () => {
    const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
    new ZarrHAMTStore(map)
    for (const name of NAMES) assert.equal(zarr.registry.get(name), zarritaOwn.get(name), name)
  })

  it("picks Node's zlib where Node has zstd, else zstddec; the browser entry always zstddec", () => {
    // Fresh registries: the choice, without touching the global one yet.
    const fresh = () => new Map(zarritaOwn)
    assert.equal(registerZstdCodec({}, fresh()).name, nodeHasZstd() ? 'node:zlib' : 'zstddec')
    assert.equal(registerForBrowsers({}, fresh()).name, 'zstddec')
    console.log(
      `Node ${process.version}: registerZstdCodec() decodes with ${registerZstdCodec({}, fresh()).name}`,
    )
  })

  it("reads zstd chunks without loading zarrita's own zstd; encoding loads it", async () => {
    // zarrita's real entries, counted: each call is a load of numcodecs/zstd.
    let loads = 0
    for (const [name, loader] of zarritaOwn) {
      zarr.registry.set(name, () => {
        loads++
        return loader()
      })
    }
    try {
      registerZstdCodec()
      for (const name of NAMES) assert.notEqual(zarr.registry.get(name), zarritaOwn.get(name))

      const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
      const store = new ZarrHAMTStore(map)
      const location = zarr.root(store).resolve('temp')
      await zarr.create(location, {
        shape: [4, 300],
        chunkShape: [2, 150],
        dtype: 'float32',
        codecs: [
          { name: 'bytes', configuration: { endian: 'little' } },
          { name: 'zstd', configuration: { level: 3, checksum: false } },
        ],
      })
      // Chunks as zarr-python writes them (one frame declaring its size), encoded outside zarrita.
      const values = field(1200, 3)
      const encoder = new NumcodecsZstd(3)
      for (const [y, x] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ] as const) {
        const chunk = new Float32Array(300)
        for (let i = 0; i < 2; i++)
          chunk.set(values.subarray((y * 2 + i) * 300 + x * 150, (y * 2 + i) * 300 + x * 150 + 150), i * 150)
        await store.set(`/temp/c/${y}/${x}`, await encoder.encode(new Uint8Array(chunk.buffer)))
      }
      const read = await zarr.get(await zarr.open(location, { kind: 'array' }))
      assert.deepEqual(read.data, values)
      assert.equal(loads, 0, "reading sized frames loaded zarrita's own zstd")

      // A whole frame without a declared size: the fast decoder too, bounded by what its blocks hold.
      const unsized = new Float32Array(300).fill(1.5)
      await store.set('/temp/c/1/1', frameWithoutContentSize(new Uint8Array(unsized.buffer)))
      const again = await zarr.get(await zarr.open(location, { kind: 'array' }), [
        zarr.slice(2, 4),
        zarr.slice(150, 300),
      ])
      assert.deepEqual(again.data, unsized)
      assert.equal(loads, 0, 'the unsized frame went to the reference')

      // Encoding goes to the reference too, and what it wrote reads back.
      const before = loads
      const written = field(1200, 8)
      const array = await zarr.open(location, { kind: 'array' })
      await zarr.set(array, null, { data: written, shape: [4, 300], stride: [300, 1] })
      assert.ok(loads > before, 'encoding loaded the reference')
      assert.deepEqual((await zarr.get(await zarr.open(location, { kind: 'array' }))).data, written)
    } finally {
      for (const [name, loader] of zarritaOwn) zarr.registry.set(name, loader)
    }
  })
})
