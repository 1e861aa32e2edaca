import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import * as zarr from 'zarrita'
import {
  EncryptedZarrHAMTStore,
  HAMT,
  isHamtError,
  MemoryStore,
  type StoreId,
  ZarrHAMTStore,
} from '../src/index.js'

const zstd = [
  { name: 'bytes', configuration: { endian: 'little' } },
  { name: 'zstd', configuration: { level: 3, checksum: false } },
]

async function newZarr(): Promise<{ map: HAMT<Uint8Array>; store: MemoryStore; zarrStore: ZarrHAMTStore }> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  return { map, store, zarrStore: new ZarrHAMTStore(map) }
}

/** A flat C-order pattern for a shape, typed for the dtype. */
function pattern(dtype: string, size: number): ArrayLike<unknown> {
  const values = Array.from({ length: size }, (_, i) => (i * 7) % 251)
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values, (v) => v / 4 - 10)
    case 'float64':
      return Float64Array.from(values, (v) => v * 1.5e-3)
    case 'int16':
      return Int16Array.from(values, (v) => v * 100 - 12000)
    case 'uint8':
      return Uint8Array.from(values)
    case 'int64':
      return BigInt64Array.from(values, (v) => BigInt(v) * 10_000_000_000n)
    default:
      throw new Error(dtype)
  }
}

describe('ZarrHAMTStore with zarrita', () => {
  const cases: Array<{ dtype: string; shape: number[]; chunks: number[]; compressed: boolean }> = [
    { dtype: 'float32', shape: [10], chunks: [4], compressed: true },
    { dtype: 'float64', shape: [6, 7], chunks: [4, 3], compressed: false },
    { dtype: 'int16', shape: [3, 5, 4], chunks: [2, 2, 4], compressed: true },
    { dtype: 'uint8', shape: [2, 3, 4, 5], chunks: [1, 2, 3, 5], compressed: false },
    { dtype: 'int64', shape: [5, 5], chunks: [2, 5], compressed: true },
  ]
  for (const { dtype, shape, chunks, compressed } of cases) {
    it(`writes and reads a ${shape.length}-D ${dtype} array (${compressed ? 'zstd' : 'uncompressed'}), reopened by root`, async () => {
      const { map, store, zarrStore } = await newZarr()
      const group = await zarr.create(zarr.root(zarrStore), { attributes: { title: 'test' } })
      const array = await zarr.create(group.resolve(`v_${dtype}`), {
        shape,
        chunkShape: chunks,
        dtype: dtype as 'float32',
        ...(compressed ? { codecs: zstd } : {}),
        // zarrita 0.7 cannot turn its default null fill value into a BigInt for int64, nor write 0n to JSON.
        ...(dtype === 'int64' ? { fillValue: 0 as never } : {}),
        attributes: { units: 'm' },
      })
      const size = shape.reduce((a, b) => a * b, 1)
      const data = pattern(dtype, size)
      await zarr.set(array, null, { data, shape, stride: strides(shape) } as never)
      const root = await map.flush()
      const reopened = new ZarrHAMTStore(
        await HAMT.open<Uint8Array>(root, { store, readOnly: true, valuesAreBytes: true }),
      )
      const again = await zarr.open(zarr.root(reopened).resolve(`v_${dtype}`), { kind: 'array' })
      const chunk = await zarr.get(again)
      assert.deepEqual(Array.from(chunk.data as ArrayLike<unknown>), Array.from(data))
      assert.deepEqual(again.attrs, { units: 'm' })
      const rootGroup = await zarr.open(zarr.root(reopened), { kind: 'group' })
      assert.deepEqual(rootGroup.attrs, { title: 'test' })
    })
  }

  it('writes part of a chunk without losing the rest of it', async () => {
    const { zarrStore } = await newZarr()
    const array = await zarr.create(zarr.root(zarrStore).resolve('a'), {
      shape: [4, 4],
      chunkShape: [4, 4],
      dtype: 'int32',
      fillValue: -1,
    })
    await zarr.set(array, [zarr.slice(1, 3), zarr.slice(1, 3)], 7)
    await zarr.set(array, [0, 0], 5)
    const { data } = await zarr.get(array)
    assert.deepEqual(
      Array.from(data as Int32Array),
      [5, -1, -1, -1, -1, 7, 7, -1, -1, 7, 7, -1, -1, -1, -1, -1],
    )
  })

  it('lists keys, by prefix and the direct children of a directory (each once)', async () => {
    const { zarrStore } = await newZarr()
    const group = await zarr.create(zarr.root(zarrStore))
    const temp = await zarr.create(group.resolve('temp'), {
      shape: [4, 4],
      chunkShape: [2, 2],
      dtype: 'float32',
    })
    await zarr.set(temp, null, 1)
    await zarr.create(group.resolve('sub/inner'), { shape: [2], chunkShape: [2], dtype: 'uint8' })
    const all = []
    for await (const key of zarrStore.list()) all.push(key)
    assert.deepEqual(all.sort(), [
      'sub/inner/zarr.json',
      'temp/c/0/0',
      'temp/c/0/1',
      'temp/c/1/0',
      'temp/c/1/1',
      'temp/zarr.json',
      'zarr.json',
    ])
    const prefixed = []
    for await (const key of zarrStore.listPrefix('temp/c/')) prefixed.push(key)
    assert.equal(prefixed.length, 4)
    const children = async (dir: string) => {
      const out = []
      for await (const child of zarrStore.listDir(dir)) out.push(child)
      return out.sort()
    }
    assert.deepEqual(await children(''), ['sub', 'temp', 'zarr.json'])
    assert.deepEqual(await children('temp'), ['c', 'zarr.json'])
    assert.deepEqual(await children('/temp/c/'), ['0', '1'])
  })

  it('reads a missing key as undefined; deletes (a missing key is no error); has()', async () => {
    const { zarrStore } = await newZarr()
    assert.equal(await zarrStore.get('/nothing/zarr.json'), undefined)
    assert.equal(await zarrStore.getRange('/nothing', { suffixLength: 4 }), undefined)
    await zarrStore.set('/a/c/0', Uint8Array.of(1, 2, 3, 4))
    assert.deepEqual(await zarrStore.getRange('/a/c/0', { offset: 1, length: 2 }), Uint8Array.of(2, 3))
    assert.deepEqual(await zarrStore.getRange('/a/c/0', { suffixLength: 1 }), Uint8Array.of(4))
    assert.equal(await zarrStore.has('a/c/0'), true)
    await zarrStore.delete('/a/c/0')
    await zarrStore.delete('/a/c/0')
    assert.equal(await zarrStore.has('a/c/0'), false)
  })

  it('keeps cached metadata in step with writes and deletes', async () => {
    const { map, zarrStore } = await newZarr()
    await zarrStore.set('/zarr.json', new TextEncoder().encode('{"v":1}'))
    assert.equal(new TextDecoder().decode(await zarrStore.get('/zarr.json')), '{"v":1}')
    await zarrStore.set('/zarr.json', new TextEncoder().encode('{"v":2}'))
    assert.equal(new TextDecoder().decode(await zarrStore.get('/zarr.json')), '{"v":2}')
    const loadsBefore = (await map.cacheStats()).cachedNodes
    assert.equal(new TextDecoder().decode(await zarrStore.get('/zarr.json')), '{"v":2}')
    assert.equal((await map.cacheStats()).cachedNodes, loadsBefore)
    await zarrStore.delete('/zarr.json')
    assert.equal(await zarrStore.get('/zarr.json'), undefined)
  })

  it('deletes a key once when deletes of it run at once: none fails, and the key is gone', async () => {
    const { map, zarrStore } = await newZarr()
    const other = new ZarrHAMTStore(map)
    for (const key of ['/a/c/0', '/zarr.json']) {
      await zarrStore.set(key, Uint8Array.of(1, 2, 3))
      const results = await Promise.allSettled([
        zarrStore.delete(key),
        zarrStore.delete(key),
        other.delete(key),
        map.delete(key.slice(1)),
      ])
      // Exactly one delete removed it: the HAMT's own delete says so when it was not that one.
      const failed = results.filter((r) => r.status === 'rejected')
      assert.ok(
        failed.length <= 1,
        `${key}: ${failed.map((r) => String((r as PromiseRejectedResult).reason))}`,
      )
      for (const r of failed) assert.ok(isHamtError((r as PromiseRejectedResult).reason, 'ERR_KEY_NOT_FOUND'))
      assert.equal(await zarrStore.has(key), false)
      assert.equal(await zarrStore.get(key), undefined)
      assert.equal(await map.size(), 0)
    }
  })

  it('never serves stale metadata: changes made directly or through another store are seen', async () => {
    const { map, zarrStore } = await newZarr()
    const text = (bytes: Uint8Array | undefined) =>
      bytes === undefined ? undefined : new TextDecoder().decode(bytes)
    const json = (v: number) => new TextEncoder().encode(`{"v":${v}}`)
    await zarrStore.set('/temp/zarr.json', json(1))
    assert.equal(text(await zarrStore.get('/temp/zarr.json')), '{"v":1}')
    await map.set('temp/zarr.json', json(2))
    assert.equal(text(await zarrStore.get('/temp/zarr.json')), '{"v":2}')
    assert.equal(text(await zarrStore.getRange('/temp/zarr.json', { suffixLength: 2 })), '2}')
    await new ZarrHAMTStore(map).set('/temp/zarr.json', json(3))
    assert.equal(text(await zarrStore.get('/temp/zarr.json')), '{"v":3}')
    await map.delete('temp/zarr.json')
    assert.equal(await zarrStore.get('/temp/zarr.json'), undefined)
    assert.equal(await zarrStore.getRange('/temp/zarr.json', { offset: 0, length: 1 }), undefined)
    assert.equal(await zarrStore.has('/temp/zarr.json'), false)
    // Back to an earlier value: the same bytes again, whatever was cached in between.
    await map.set('temp/zarr.json', json(1))
    assert.equal(text(await zarrStore.get('/temp/zarr.json')), '{"v":1}')
    // A caller changing the bytes it got back changes nothing stored or cached.
    const got = (await zarrStore.get('/temp/zarr.json')) as Uint8Array
    got.fill(0)
    assert.equal(text(await zarrStore.get('/temp/zarr.json')), '{"v":1}')
  })

  it('refuses writes on a read-only store with a clear error, and honours an AbortSignal', async () => {
    const { map, store } = await newZarr()
    await map.set('zarr.json', Uint8Array.of(1))
    const root = await map.flush()
    const readOnly = new ZarrHAMTStore(
      await HAMT.open<Uint8Array>(root, { store, readOnly: true, valuesAreBytes: true }),
    )
    await assert.rejects(
      readOnly.set('/x', Uint8Array.of(1)),
      (e) => isHamtError(e, 'ERR_READ_ONLY') && /Zarr store/.test(String(e)),
    )
    await assert.rejects(readOnly.delete('/zarr.json'), (e) => isHamtError(e, 'ERR_READ_ONLY'))
    await assert.rejects(readOnly.get('/c/0', { signal: AbortSignal.abort() }), { name: 'AbortError' })
    assert.throws(
      () => new ZarrHAMTStore(map as never, {}) && new ZarrHAMTStore({ valuesAreBytes: false } as never),
      /valuesAreBytes: true/,
    )
  })
})

describe('EncryptedZarrHAMTStore', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3)
  const header = new TextEncoder().encode('ts-hamt-test')

  it('round-trips arrays through zarrita, with every stored value sealed as py-hamt does', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const encrypted = new EncryptedZarrHAMTStore(map, { key, header })
    const array = await zarr.create(zarr.root(encrypted).resolve('temp'), {
      shape: [6],
      chunkShape: [4],
      dtype: 'float64',
      codecs: zstd,
    })
    await zarr.set(array, null, { data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [6], stride: [1] } as never)
    const root = await map.flush()
    const reader = new EncryptedZarrHAMTStore(
      await HAMT.open<Uint8Array>(root, { store, readOnly: true, valuesAreBytes: true }),
      {
        key,
        header,
      },
    )
    const { data } = await zarr.get(await zarr.open(zarr.root(reader).resolve('temp'), { kind: 'array' }))
    assert.deepEqual(Array.from(data as Float64Array), [1, 2, 3, 4, 5, 6])
    // The stored bytes: nonce (24) || tag (16) || ciphertext, header as associated data.
    const sealed = (await map.get('temp/zarr.json')) as Uint8Array
    const nonce = sealed.subarray(0, 24)
    const tag = sealed.subarray(24, 40)
    const ciphertext = sealed.subarray(40)
    const plain = xchacha20poly1305(key, nonce, header).decrypt(Uint8Array.from([...ciphertext, ...tag]))
    assert.match(new TextDecoder().decode(plain), /"zarr_format":\s*3/)
    assert.deepEqual(await reader.getRange('/temp/zarr.json', { suffixLength: 1 }), plain.slice(-1))
  })

  it('a wrong key, a wrong header or a changed value gives one clear decryption error', async () => {
    const memory = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: memory, valuesAreBytes: true })
    await new EncryptedZarrHAMTStore(map, { key, header }).set('/zarr.json', new TextEncoder().encode('{}'))
    const wrongKey = new EncryptedZarrHAMTStore(map, { key: key.map((b) => b ^ 1), header })
    const wrongHeader = new EncryptedZarrHAMTStore(map, { key, header: new TextEncoder().encode('other') })
    for (const store of [wrongKey, wrongHeader]) {
      await assert.rejects(
        store.get('/zarr.json'),
        (e) => isHamtError(e, 'ERR_DECRYPTION') && /wrong key or header/.test(String(e)),
      )
    }
    const pointer = (await map.getPointer('zarr.json')) as StoreId
    const stored = await memory.load(pointer)
    stored[stored.length - 1] = (stored.at(-1) as number) ^ 0x01
    await map.set('zarr.json', stored)
    await assert.rejects(new EncryptedZarrHAMTStore(map, { key, header }).get('/zarr.json'), (e) =>
      isHamtError(e, 'ERR_DECRYPTION'),
    )
    await map.set('zarr.json', Uint8Array.of(1, 2, 3))
    await assert.rejects(new EncryptedZarrHAMTStore(map, { key, header }).get('/zarr.json'), /too short/)
  })

  it('deletes at once without an error and never serves stale metadata', async () => {
    const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
    const first = new EncryptedZarrHAMTStore(map, { key, header })
    const second = new EncryptedZarrHAMTStore(map, { key, header })
    await first.set('/zarr.json', new TextEncoder().encode('{"v":1}'))
    assert.equal(new TextDecoder().decode(await first.get('/zarr.json')), '{"v":1}')
    await second.set('/zarr.json', new TextEncoder().encode('{"v":2}'))
    assert.equal(new TextDecoder().decode(await first.get('/zarr.json')), '{"v":2}')
    assert.deepEqual(await first.getRange('/zarr.json', { offset: 5, length: 1 }), Uint8Array.of(0x32))
    await Promise.all([first.delete('/zarr.json'), second.delete('/zarr.json'), first.delete('/zarr.json')])
    assert.equal(await first.get('/zarr.json'), undefined)
    assert.equal(await first.has('/zarr.json'), false)
  })

  it('requires a 32-byte key', async () => {
    const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
    for (const bad of [new Uint8Array(16), new Uint8Array(33), 'secret']) {
      assert.throws(
        () => new EncryptedZarrHAMTStore(map, { key: bad as never, header }),
        /key must be 32 bytes/,
      )
    }
  })
})

function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length)
  let step = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = step
    step *= shape[i] as number
  }
  return out
}
