// Bytes we keep or hand out are copies even when they come as Node Buffers, whose own `slice()` is a
// view: a caller who wipes or reuses a Buffer afterwards must not change our key, cache or blocks,
// and bytes we hand out must not be views into what we keep (or into a CID).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { buildUnixfsFile } from '../src/cas/unixfs-builder.js'
import {
  BlockstoreStore,
  type ContentAddressedStore,
  EncryptedZarrHAMTStore,
  HAMT,
  KuboStore,
  MemoryStore,
  ShardedZarrStore,
  TrustlessGatewayStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const randomBytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => (random() * 256) | 0)
const text = (value: string): Uint8Array => new TextEncoder().encode(value)

/** A Buffer holding `bytes` at an offset into a larger pool, as Node's small Buffers are. */
function pooled(bytes: Uint8Array): Buffer {
  const pool = Buffer.alloc(bytes.length + 64, 0xee)
  const at = 1 + Math.floor(random() * 32)
  pool.set(bytes, at)
  return pool.subarray(at, at + bytes.length)
}

/** A store answering every load with a fresh Buffer (as one over `fs.readFile` would). */
function buffersOut(inner: ContentAddressedStore): ContentAddressedStore {
  return {
    save: (data, codec, options) => inner.save(data, codec, options),
    load: async (id, options) => pooled(await inner.load(id, options)),
  }
}

describe('EncryptedZarrHAMTStore given a Buffer key and header', () => {
  it('wiping them after construction changes neither what is written nor what it reads', async () => {
    const key = randomBytes(32)
    const header = text(`copysweep-${seed}`)
    const keyBuffer = pooled(key)
    const headerBuffer = pooled(header)
    const memory = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: memory, valuesAreBytes: true })
    const store = new EncryptedZarrHAMTStore(map, { key: keyBuffer, header: headerBuffer })
    keyBuffer.fill(0)
    headerBuffer.fill(0)
    const value = text(`{"seed":${seed}}`)
    await store.set('/zarr.json', value)
    await store.set('/c/0', randomBytes(100))
    assert.deepEqual(await store.get('/zarr.json'), value)
    // Written under the key given, not under zeros: a store with a plain copy of that key opens it.
    const reader = new EncryptedZarrHAMTStore(
      await HAMT.open<Uint8Array>(await map.flush(), { store: memory, readOnly: true, valuesAreBytes: true }),
      { key, header },
    )
    assert.deepEqual(await reader.get('/zarr.json'), value)
  })
})

describe('ShardedZarrStore given a Buffer metadata value', () => {
  it('reusing the Buffer after set does not change what get answers', async () => {
    const store = await ShardedZarrStore.create({ store: await CidMemoryStore.create(), chunksPerShard: 4 })
    const value = text(`{"zarr_format":3,"node_type":"group","attributes":{"seed":${seed}}}`)
    const buffer = pooled(value)
    await store.set('g/zarr.json', buffer)
    buffer.fill(0x20)
    assert.deepEqual(await store.get('g/zarr.json'), value)
    // Nor does writing into what get handed out.
    ;(await store.get('g/zarr.json'))?.fill(0x20)
    assert.deepEqual(await store.get('g/zarr.json'), value)
  })
})

describe('ZarrHAMTStore over a store that loads Buffers', () => {
  it('metadata handed out is a copy: writing into it leaves the cached value as stored', async () => {
    const inner = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: buffersOut(inner), valuesAreBytes: true })
    const value = text(`{"zarr_format":3,"node_type":"group","attributes":{"seed":${seed}}}`)
    await new ZarrHAMTStore(map).set('/zarr.json', value)
    const reader = new ZarrHAMTStore(
      await HAMT.open<Uint8Array>(await map.flush(), {
        store: buffersOut(inner),
        readOnly: true,
        valuesAreBytes: true,
      }),
    )
    const first = await reader.get('/zarr.json')
    assert.deepEqual(first, value)
    first?.fill(0)
    assert.deepEqual(await reader.get('/zarr.json'), value)
    // A byte range of it too (the range is cut from the cached value).
    const offset = Math.floor(random() * (value.length - 1))
    const part = await reader.getRange('/zarr.json', { offset, length: value.length - offset })
    assert.deepEqual(part, value.subarray(offset))
    part?.fill(0)
    assert.deepEqual(await reader.get('/zarr.json'), value)
  })
})

describe('buildUnixfsFile over a Buffer', () => {
  it('its blocks still hash to their CIDs after the Buffer is wiped', async () => {
    const chunkSize = 16 + Math.floor(random() * 64)
    const data = randomBytes(chunkSize * (2 + Math.floor(random() * 5)) + Math.floor(random() * chunkSize))
    const buffer = pooled(data)
    const { blocks } = await buildUnixfsFile(buffer, chunkSize, (bytes) => sha256.digest(bytes))
    buffer.fill(0)
    for (const { cid, bytes } of blocks)
      assert.deepEqual((await sha256.digest(bytes)).digest, cid.multihash.digest, cid.toString())
  })
})

describe('identity CIDs decoded from a Buffer', () => {
  const inline = randomBytes(8 + Math.floor(random() * 24))
  const cidOfBuffer = (): CID => CID.decode(pooled(CID.createV1(raw.code, identity.digest(inline)).bytes))

  it('a gateway store hands out copies of their bytes, not views into the CID', async () => {
    // The inline bytes are answered without asking the gateway, so none needs to run.
    const gateway = new TrustlessGatewayStore({ gateways: 'http://127.0.0.1:9' })
    for (const read of [
      (cid: CID) => gateway.getBlock(cid),
      (cid: CID) => gateway.load(cid),
      (cid: CID) => gateway.load(cid, { range: { offset: 0 } }),
    ]) {
      const cid = cidOfBuffer()
      ;(await read(cid)).fill(0)
      assert.deepEqual(cid.multihash.digest, inline)
    }
  })

  it('a blockstore store hands out copies of their bytes, not views into the CID', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    for (const read of [(cid: CID) => store.getBlock(cid), (cid: CID) => store.load(cid)]) {
      const cid = cidOfBuffer()
      ;(await read(cid)).fill(0)
      assert.deepEqual(cid.multihash.digest, inline)
    }
  })
})

describe('an unverified gateway read of a range, answered whole in Buffer chunks', () => {
  it('hands out a copy, not a view into the chunk its fetch gave', async () => {
    const data = randomBytes(40 + Math.floor(random() * 200))
    const chunk = pooled(data)
    // A caller's own fetch (one over a Node stream, say) may answer with Buffer chunks.
    const fetch = async (): Promise<Response> =>
      new Response(
        new ReadableStream({
          start: (controller) => {
            controller.enqueue(chunk)
            controller.close()
          },
        }),
        { status: 200 },
      )
    const store = new KuboStore({
      rpcUrl: null,
      gateways: 'http://127.0.0.1:9',
      verify: false,
      fetch,
      retries: 0,
    })
    const cid = CID.createV1(0x70, await sha256.digest(data))
    const offset = Math.floor(random() * 20)
    for (const range of [{ offset, length: 10 }, { suffix: 10 }, { offset }]) {
      const got = await store.load(cid, { range })
      const want =
        'suffix' in range ? data.slice(-10) : data.slice(offset, offset + (range.length ?? data.length))
      assert.deepEqual(got, want, JSON.stringify(range))
      got.fill(0)
      assert.deepEqual(Uint8Array.from(chunk), data, `${JSON.stringify(range)}: the chunk changed`)
    }
  })
})
