import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { blake3, bytesToHex } from '../src/blocks.js'
import { HAMT, isHamtError, MemoryStore } from '../src/index.js'
import { assertSound, firstCharHash, newMap } from './helpers/maps.js'

const code = (c: string) => (err: unknown) => isHamtError(err, c as never)

describe('HAMT basics', () => {
  it('the empty map has py-hamt’s empty root (259 bytes, 99 01 00 a0 …)', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store })
    const root = (await map.flush()) as Uint8Array
    assert.equal(bytesToHex(root), '1e20c1da65b1c16d955814777b59cc72927b5f23bed428fb171add21f176ded942db')
    const block = await store.load(root)
    assert.equal(block.length, 259)
    assert.equal(bytesToHex(block.subarray(0, 4)), '990100a0')
  })

  it('sets, gets, overwrites, deletes and counts', async () => {
    const map = await newMap<unknown>()
    await map.set('a', 1)
    await map.set('b', { nested: ['x', 2.5, null, true], bytes: Uint8Array.of(1, 2) })
    await map.set('a', 'one')
    assert.equal(await map.get('a'), 'one')
    assert.deepEqual(await map.get('b'), { nested: ['x', 2.5, null, true], bytes: Uint8Array.of(1, 2) })
    assert.equal(await map.get('missing'), undefined)
    assert.equal(await map.has('b'), true)
    assert.equal(await map.has('missing'), false)
    assert.equal(await map.size(), 2)
    await map.delete('a')
    assert.equal(await map.has('a'), false)
    assert.equal(await map.size(), 1)
    await assert.rejects(map.delete('a'), code('ERR_KEY_NOT_FOUND'))
  })

  it('stores CIDs inside values and reads them back as CIDs', async () => {
    const map = await newMap<{ link: CID }>()
    const cid = CID.parse('bafyr4igb3js3dqlnsvmbi533lhghfet3l4r35vbi7mlrvxjb6f3n5wkc3m')
    await map.set('k', { link: cid })
    const value = await map.get('k')
    assert.ok(value !== undefined && CID.asCID(value.link)?.equals(cid))
  })

  it('stores bytes verbatim with valuesAreBytes and rejects anything else', async () => {
    const map = await newMap<Uint8Array>({ valuesAreBytes: true })
    await map.set('raw', Uint8Array.of(0xde, 0xad))
    assert.deepEqual(await map.get('raw'), Uint8Array.of(0xde, 0xad))
    await assert.rejects(map.set('bad', 'text' as never), code('ERR_INVALID_VALUE'))
    assert.equal(await map.has('bad'), false)
  })

  it('reads byte ranges of a value: offset+length, offset to end, last n bytes', async () => {
    const map = await newMap<Uint8Array>({ valuesAreBytes: true })
    const value = Uint8Array.from({ length: 100 }, (_, i) => i)
    await map.set('v', value)
    assert.deepEqual(await map.get('v', { range: { offset: 10, length: 5 } }), value.slice(10, 15))
    assert.deepEqual(await map.get('v', { range: { offset: 95 } }), value.slice(95))
    assert.deepEqual(await map.get('v', { range: { suffix: 3 } }), value.slice(97))
    await assert.rejects(
      map.get('v', { range: { offset: 98, length: 5 } }),
      code('ERR_RANGE_NOT_SATISFIABLE'),
    )
    await assert.rejects(map.get('v', { range: { suffix: -1 } }), code('ERR_INVALID_ARGUMENT'))
    assert.equal(await map.get('absent', { range: { suffix: 1 } }), undefined)
  })

  it('returns raw bytes for a range even when values are DAG-CBOR', async () => {
    const map = await newMap<string>()
    await map.set('s', 'hello')
    // DAG-CBOR "hello" is 0x65 followed by the 5 UTF-8 bytes.
    assert.deepEqual(await map.get('s', { range: { suffix: 5 } }), new TextEncoder().encode('hello'))
  })

  it('iterates keys, values and entries, each once', async () => {
    const map = await newMap<number>()
    const expected = new Map(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]))
    for (const [k, v] of expected) await map.set(k, v)
    const seen = new Map<string, number>()
    for await (const [k, v] of map) seen.set(k, v)
    assert.deepEqual(seen, expected)
    const keys = []
    for await (const k of map.keys()) keys.push(k)
    assert.deepEqual(keys.sort(), [...expected.keys()].sort())
    let sum = 0
    for await (const v of map.values()) sum += v
    assert.equal(sum, (299 * 300) / 2)
  })

  it('opens a flushed map by root ID with every value equal', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < 500; i++) await map.set(`key-${i}`, i)
    const root = await map.flush()
    const reopened = await HAMT.open<number>(root, { store, readOnly: true })
    assert.equal(await reopened.size(), 500)
    for (let i = 0; i < 500; i++) assert.equal(await reopened.get(`key-${i}`), i)
    assert.deepEqual(reopened.rootId, root)
    await assertSound(reopened)
  })

  it('gives the same root for the same content whatever the history (canonical shape)', async () => {
    const forward = await newMap<number>()
    for (let i = 0; i < 200; i++) await forward.set(`k${i}`, i)
    const noisy = await newMap<number>()
    for (let i = 199; i >= 0; i--) await noisy.set(`k${i}`, -1)
    for (let i = 200; i < 600; i++) await noisy.set(`k${i}`, i)
    for (let i = 0; i < 200; i++) await noisy.set(`k${i}`, i)
    for (let i = 200; i < 600; i++) await noisy.delete(`k${i}`)
    assert.deepEqual(await noisy.flush(), await forward.flush())
    await assertSound(noisy)
  })

  it('deleting everything gives back the empty root', async () => {
    const map = await newMap<number>()
    const empty = await map.flush()
    for (let i = 0; i < 100; i++) await map.set(`k${i}`, i)
    await map.flush()
    for (let i = 0; i < 100; i++) await map.delete(`k${i}`)
    assert.deepEqual(await map.flush(), empty)
    assert.equal(await map.size(), 0)
  })
})

describe('HAMT spec facts', () => {
  it('BLAKE3 of "5", "15", "123", "317", "349" starts with 0xb3; of "0", "993", "1498" with 0x4d', async () => {
    await newMap()
    for (const key of ['5', '15', '123', '317', '349'])
      assert.equal(blake3(new TextEncoder().encode(key))[0], 0xb3)
    for (const key of ['0', '993', '1498']) assert.equal(blake3(new TextEncoder().encode(key))[0], 0x4d)
  })

  it('five keys colliding at the root split into a child; deleting one collapses it back', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    for (const key of ['5', '15', '123', '317']) await map.set(key, 1)
    const fourRoot = await map.flush()
    const rootBlock = await store.load(fourRoot)
    assert.equal(rootBlock.length > 259, true)
    await map.set('349', 1)
    await assertSound(map)
    const fiveRoot = await map.flush()
    const { problems, keyCount } = await map.verify()
    assert.deepEqual([problems, keyCount], [[], 5])
    // slot 0xb3 of the root now holds a link: a one-element array.
    const node = await store.load(fiveRoot)
    assert.notDeepEqual(node, rootBlock)
    await map.delete('349')
    assert.deepEqual(await map.flush(), fourRoot)
  })
})

describe('HAMT modes and cache', () => {
  it('refuses writes when read-only, allows them after enableWrite', async () => {
    const map = await newMap<number>()
    await map.set('a', 1)
    const root = await map.makeReadOnly()
    assert.equal(map.readOnly, true)
    await assert.rejects(map.set('b', 2), code('ERR_READ_ONLY'))
    await assert.rejects(map.delete('a'), code('ERR_READ_ONLY'))
    assert.equal(await map.get('a'), 1)
    await map.enableWrite()
    await map.set('b', 2)
    assert.notDeepEqual(await map.flush(), root)
  })

  it('rootId throws while changes are unflushed', async () => {
    const map = await newMap<number>()
    assert.throws(() => map.rootId, code('ERR_UNFLUSHED_CHANGES'))
    assert.equal(map.hasUnflushedChanges, true)
    const root = await map.flush()
    assert.deepEqual(map.rootId, root)
    await map.set('x', 1)
    assert.throws(() => map.rootId, code('ERR_UNFLUSHED_CHANGES'))
  })

  it('reports dirty and cached memory, and the cache stays within its byte budget', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store, cacheBytes: 20_000 })
    for (let i = 0; i < 3000; i++) await map.set(`k${i}`, i)
    const before = await map.cacheStats()
    assert.ok(before.dirtyNodes > 1 && before.dirtyBytes > 259 * before.dirtyNodes)
    const root = await map.flush()
    const after = await map.cacheStats()
    assert.equal(after.dirtyNodes, 0)
    assert.ok(after.cachedBytes <= 20_000, `cache holds ${after.cachedBytes} bytes`)
    await map.clearCache()
    assert.equal((await map.cacheStats()).cachedBytes, 0)
    const reader = await HAMT.open<number>(root, { store, readOnly: true, cacheBytes: 5_000 })
    for (let i = 0; i < 3000; i += 7) assert.equal(await reader.get(`k${i}`), i)
    assert.ok((await reader.cacheStats()).cachedBytes <= 5_000)
  })

  it('reads repeated keys from the cache instead of the store', async () => {
    const { InstrumentedStore } = await import('./helpers/instrumented-store.js')
    const store = new InstrumentedStore(await MemoryStore.create())
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 2000; i++) await writer.set(`k${i}`, i)
    const root = await writer.flush()
    const reader = await HAMT.open<number>(root, { store, readOnly: true })
    await reader.getPointer('k1')
    const loadsAfterFirst = store.loads
    for (let r = 0; r < 5; r++) await reader.getPointer('k1')
    assert.equal(store.loads, loadsAfterFirst, 'no store load for cached nodes')
  })

  it('loads a node once when concurrent lookups need it, and another caller’s abort is not shared', async () => {
    const { InstrumentedStore } = await import('./helpers/instrumented-store.js')
    const store = new InstrumentedStore(await MemoryStore.create())
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 2000; i++) await writer.set(`k${i}`, i)
    const root = await writer.flush()

    const sequential = await HAMT.open<number>(root, { store, readOnly: true })
    let before = store.loads
    for (let i = 0; i < 2000; i += 10) await sequential.getPointer(`k${i}`)
    const distinctNodes = store.loads - before

    const concurrent = await HAMT.open<number>(root, { store, readOnly: true })
    before = store.loads
    const keys = Array.from({ length: 200 }, (_, j) => `k${j * 10}`)
    const values = await Promise.all(keys.map((key) => concurrent.get(key)))
    assert.deepEqual(
      values,
      keys.map((_, j) => j * 10),
    )
    assert.equal(store.loads - before, distinctNodes + keys.length, 'each node once, plus one load per value')

    // The first caller aborts (with its own reason); the second, sharing its load, still gets its answer.
    const third = await HAMT.open<number>(root, { store, readOnly: true })
    const controller = new AbortController()
    const aborted = third.get('k5', { signal: controller.signal })
    const other = third.get('k6')
    controller.abort(new Error('the user pressed cancel'))
    await assert.rejects(aborted, /the user pressed cancel/)
    assert.equal(await other, 6)
  })

  it('a caller that joins a slow shared load and aborts gets its abort at once', async () => {
    const inner = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store: inner })
    for (let i = 0; i < 500; i++) await writer.set(`k${i}`, i)
    const root = await writer.flush()
    // A store whose loads wait, once armed, until the test releases them: a stalled gateway.
    let gate: Promise<void> | undefined
    let release: () => void = () => {}
    const stalled = {
      save: inner.save.bind(inner),
      load: async (...args: Parameters<MemoryStore['load']>) => {
        if (gate !== undefined) await gate
        return inner.load(...args)
      },
    }
    const slow = await HAMT.open<number>(root, { store: stalled, readOnly: true })
    gate = new Promise<void>((resolve) => {
      release = resolve
    })
    // getPointer: node loads only (the value load would wait on this signal-deaf store too).
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`)
    const first = Promise.all(keys.map((key) => slow.getPointer(key)))
    const controller = new AbortController()
    const second = Promise.all(keys.map((key) => slow.getPointer(key, { signal: controller.signal })))
    controller.abort()
    await assert.rejects(second, { name: 'AbortError' })
    release()
    assert.equal((await first).filter((pointer) => pointer !== undefined).length, 500)
  })
})

describe('HAMT bad input', () => {
  it('rejects non-string and non-Unicode keys, naming the problem', async () => {
    const map = await newMap()
    for (const key of [1, null, undefined, {}, Uint8Array.of(1)]) {
      await assert.rejects(map.set(key as never, 1), code('ERR_INVALID_ARGUMENT'))
      await assert.rejects(map.get(key as never), /key must be a string/)
    }
    await assert.rejects(map.set('\ud800', 1), /lone surrogate/)
  })

  it('rejects a bucket size below 1 and other bad options', async () => {
    const store = await MemoryStore.create()
    for (const maxBucketSize of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(
        HAMT.create({ store, maxBucketSize }),
        /maxBucketSize must be an integer of at least 1/,
      )
    }
    await assert.rejects(HAMT.create({} as never), /options.store/)
    await assert.rejects(HAMT.create({ store, cacheBytes: -5 }), code('ERR_INVALID_ARGUMENT'))
  })

  it('rejects a hash function that does not return bytes, at creation', async () => {
    const store = await MemoryStore.create()
    await assert.rejects(HAMT.create({ store, hashFn: () => 'abc' as never }), code('ERR_INVALID_HASH'))
    await assert.rejects(HAMT.create({ store, hashFn: () => [1, 2] as never }), /got Array/)
    await assert.rejects(HAMT.create({ store, hashFn: () => new Uint8Array(0) }), /empty hash/)
  })

  it('rejects values DAG-CBOR cannot encode, and leaves the map unchanged', async () => {
    const map = await newMap()
    await map.set('ok', 1)
    const root = await map.flush()
    for (const value of [undefined, Number.NaN, () => 1, Symbol('s')]) {
      await assert.rejects(map.set('bad', value), code('ERR_INVALID_VALUE'))
    }
    assert.deepEqual(await map.flush(), root)
  })

  it('reports an unknown root ID as ERR_BLOCK_NOT_FOUND and a non-ID as ERR_INVALID_ARGUMENT', async () => {
    const store = await MemoryStore.create()
    await assert.rejects(HAMT.open(new Uint8Array(34), { store }), code('ERR_BLOCK_NOT_FOUND'))
    await assert.rejects(HAMT.open('bafy' as never, { store }), code('ERR_INVALID_ARGUMENT'))
  })

  it('reports a value that is not DAG-CBOR clearly', async () => {
    const store = await MemoryStore.create()
    const bytesMap = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await bytesMap.set('k', Uint8Array.of(0xff, 0xff))
    const root = await bytesMap.flush()
    const cborMap = await HAMT.open(root, { store })
    await assert.rejects(cborMap.get('k'), /is not DAG-CBOR; was it written with valuesAreBytes/)
  })

  it('fails with ERR_HASH_EXHAUSTED when more keys share the whole hash than a bucket holds', async () => {
    const map = await newMap<number>({ hashFn: firstCharHash, maxBucketSize: 2 })
    await map.set('a1', 1)
    await map.set('a2', 2)
    await map.set('b1', 3)
    const root = await map.flush()
    await assert.rejects(map.set('a3', 3), code('ERR_HASH_EXHAUSTED'))
    assert.deepEqual(await map.flush(), root, 'the failed set changed nothing')
    assert.equal(await map.size(), 3)
    await map.set('a2', 22)
    assert.equal(await map.get('a2'), 22)
  })
})
