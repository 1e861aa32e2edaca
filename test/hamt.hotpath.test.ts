// The fast paths of set, flush and get (issue 13, "Speed") against plain references: the key
// hasher's reused buffer against BLAKE3 of TextEncoder's bytes (noble's BLAKE3, not ours).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import fc from 'fast-check'
import { blake3, loadBlake3 } from '../src/blocks.js'
import { decodeDagCbor, encodeDagCbor } from '../src/codec/dag-cbor.js'
import { makeKeyHasher } from '../src/hamt/keys.js'
import { Bucket, Node, placeOf } from '../src/hamt/node.js'
import { encodeNode } from '../src/hamt/node-encoder.js'
import { decodeCanonicalNode } from '../src/hamt/node-fast-decoder.js'
import { blake3ChunkInto } from '../src/hash/blake3-chunk.js'
import { type Codec, HAMT, MemoryStore, type StoreId } from '../src/index.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()

const seed = testSeed()
const encoder = new TextEncoder()

describe('key hashing without an array per key', () => {
  const hasher = makeKeyHasher(blake3)

  it('hashes a key as BLAKE3 of its UTF-8 bytes, across the reused buffer limit', () => {
    // 1024 bytes is the reused buffer: keys around it, in 1-, 2-, 3- and 4-byte characters.
    const lengths = [0, 1, 9, 63, 64, 65, 340, 341, 342, 512, 1023, 1024, 1025, 5000]
    for (const char of ['a', 'é', '€', '😀']) {
      for (const length of lengths) {
        const key = char.repeat(Math.ceil(length / char.length))
        assert.deepEqual(hasher.hash(key), nobleBlake3(encoder.encode(key)), `${length} × ${char}`)
      }
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 600 }), (key) => {
        assert.deepEqual(hasher.hash(key), nobleBlake3(encoder.encode(key)))
      }),
      { numRuns: 2000, seed },
    )
  })

  it('gives each key a digest of its own: a later key does not change an earlier digest', () => {
    const first = hasher.hash('key-1')
    const copy = first.slice()
    hasher.hash('key-2')
    hasher.hash('x'.repeat(3000))
    assert.deepEqual(first, copy)
  })

  it('refuses a lone surrogate before hashing', () => {
    assert.throws(() => hasher.hash('a\uD800b'), { code: 'ERR_INVALID_ARGUMENT' })
  })

  it('the one-chunk JS BLAKE3 agrees with noble for every length from 0 to 1024 bytes', () => {
    const input = new Uint8Array(1024).map((_, i) => (i * 193 + 11) & 255)
    const out = new Uint8Array(40)
    for (let length = 0; length <= 1024; length++) {
      blake3ChunkInto(input, length, out, 5)
      assert.deepEqual(out.subarray(5, 37), nobleBlake3(input.subarray(0, length)), `${length} bytes`)
    }
  })

  it('blake3 of any input length agrees with noble, whatever buffer the input is a view of', () => {
    const big = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 255)
    for (const length of [0, 1, 31, 32, 1023, 1024, 1025, 2048, 4000]) {
      for (const offset of [0, 3]) {
        const view = big.subarray(offset, offset + length)
        assert.deepEqual(blake3(view), nobleBlake3(view), `${length} at ${offset}`)
      }
    }
  })
})

/** DAG-CBOR map key order by bytes: shorter UTF-8 first, then bytewise (the spec, not our comparator). */
function canonicalOrder(keys: readonly string[]): string[] {
  const encoded = keys.map((key) => ({ key, bytes: encoder.encode(key) }))
  encoded.sort((a, b) => {
    if (a.bytes.length !== b.bytes.length) return a.bytes.length - b.bytes.length
    for (let i = 0; i < a.bytes.length; i++)
      if (a.bytes[i] !== b.bytes[i]) return (a.bytes[i] as number) - (b.bytes[i] as number)
    return 0
  })
  return encoded.map((e) => e.key)
}

describe('buckets kept in DAG-CBOR key order', () => {
  const keyArb = fc.oneof(
    fc.constantFrom('a', 'b', 'bb', 'é', 'z', '\uE000', '😀', '\uFFFF', 'aa'),
    fc.string({ unit: 'grapheme', maxLength: 4 }),
  )
  const pointer = (n: number): Uint8Array => Uint8Array.of(n & 255, n >> 8)

  it('with() and without() keep the keys in order and agree with a Map model', () => {
    const opArb = fc.array(fc.tuple(fc.boolean(), keyArb, fc.nat(1000)), { maxLength: 40 })
    fc.assert(
      fc.property(opArb, (ops) => {
        let bucket: Bucket | undefined
        const model = new Map<string, number>()
        for (const [add, key, value] of ops) {
          if (add || bucket === undefined) {
            bucket =
              bucket === undefined ? new Bucket([key], [pointer(value)]) : bucket.with(key, pointer(value))
            model.set(key, value)
          } else {
            const index = bucket.indexOf(key)
            if (index < 0) continue
            bucket = bucket.without(index)
            model.delete(key)
          }
          const keys = bucket?.keys ?? []
          assert.deepEqual(keys, canonicalOrder([...model.keys()]))
          for (const [i, k] of keys.entries()) {
            assert.deepEqual(bucket?.pointers[i], pointer(model.get(k) as number))
          }
        }
      }),
      { numRuns: 1000, seed },
    )
  })

  it('a bucket made from entries in any order holds them sorted, each key with its pointer', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 8 }), (keys) => {
        const bucket = new Bucket(
          keys,
          keys.map((_, i) => pointer(i)),
        )
        assert.deepEqual(bucket.keys, canonicalOrder(keys))
        for (const [i, k] of bucket.keys.entries()) {
          assert.deepEqual(bucket.pointers[i], pointer(keys.indexOf(k)))
        }
      }),
      { numRuns: 1000, seed },
    )
  })
})

describe('gets answered without waiting when they may be', () => {
  it('a get after a set still waiting for its upload sees that set, not the tree before it', async () => {
    const inner = await MemoryStore.create()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let held = false
    const store = {
      save: async (data: Uint8Array, codec: Codec): Promise<StoreId> => {
        if (held) await gate
        return inner.save(data, codec)
      },
      load: inner.load.bind(inner),
    }
    const map = await HAMT.create<number>({ store })
    await map.set('a', 1)
    held = true
    const set = map.set('a', 2)
    const got = map.get('a')
    const pointer = map.getPointer('b')
    release()
    await set
    assert.equal(await got, 2)
    assert.equal(await pointer, undefined)
  })

  it('an aborted signal fails a warm get at once', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    await map.set('a', 1)
    const signal = AbortSignal.abort()
    await assert.rejects(map.getPointer('a', { signal }), { name: 'AbortError' })
    await assert.rejects(map.get('a', { signal }), { name: 'AbortError' })
  })
})

describe('integer values read and written without cborg', () => {
  const edges = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]
  const integers = [...edges, ...edges.map((n) => -1 - n), -0, 0.5, -1.5]

  it('encodes and decodes exactly as @ipld/dag-cbor', () => {
    const check = (n: number): void => {
      const expected = dagCbor.encode(n)
      assert.deepEqual(encodeDagCbor(n), expected, `encode ${n}`)
      assert.ok(Object.is(decodeDagCbor(expected), dagCbor.decode(expected)), `decode ${n}`)
    }
    for (const n of integers) check(n)
    fc.assert(fc.property(fc.maxSafeInteger(), check), { numRuns: 3000, seed })
  })

  it('refuses what cborg refuses: integers not in shortest form, bytes after the integer', () => {
    for (const bytes of [[0x18, 0x05], [0x39, 0x00, 0x10], [0x1a, 0, 0, 0xff, 0xff], [0x01, 0x00], [0x18]]) {
      assert.throws(() => decodeDagCbor(Uint8Array.from(bytes)), `${bytes}`)
      assert.throws(() => dagCbor.decode(Uint8Array.from(bytes)), `${bytes} (cborg)`)
    }
  })
})

describe('links remember their cached node, and forget it when the cache does', () => {
  /** A memory store that counts node loads (dag-cbor blocks are nodes; values are raw). */
  async function countingStore(): Promise<{ store: MemoryStore; nodeLoads: () => number }> {
    const inner = await MemoryStore.create()
    const nodes = new Set<string>()
    let loads = 0
    const store = Object.create(inner) as MemoryStore
    store.save = async (data, codec) => {
      const id = await inner.save(data, codec)
      if (codec === 'dag-cbor') nodes.add(Buffer.from(id).toString('hex'))
      return id
    }
    store.load = async (id, options) => {
      if (nodes.has(Buffer.from(id as Uint8Array).toString('hex'))) loads++
      return inner.load(id, options)
    }
    return { store, nodeLoads: () => loads }
  }

  it('after clearCache a get loads its nodes again instead of following a remembered one', async () => {
    const { store, nodeLoads } = await countingStore()
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 3000; i++) await writer.set(`key-${i}`, i)
    const map = await HAMT.open<number>(await writer.flush(), { store, readOnly: true })
    assert.equal(await map.get('key-7'), 7)
    const warm = nodeLoads()
    assert.equal(await map.get('key-7'), 7)
    assert.equal(nodeLoads(), warm, 'a warm get loads nothing')
    await map.clearCache()
    assert.equal(await map.get('key-7'), 7)
    assert.ok(nodeLoads() > warm, 'the cleared cache is not bypassed')
    assert.equal((await map.cacheStats()).cachedNodes > 0, true)
  })

  it('a small cache still answers every key, and its evicted nodes are loaded again', async () => {
    const { store, nodeLoads } = await countingStore()
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 5000; i++) await writer.set(`key-${i}`, i)
    const root = await writer.flush()
    const map = await HAMT.open<number>(root, { store, readOnly: true, cacheBytes: 4000 })
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i += 7) assert.equal(await map.get(`key-${i}`), i)
    }
    assert.ok((await map.cacheStats()).cachedBytes <= 4000)
    // Two rounds over ~60 leaf nodes through a cache of a few: most loads repeat.
    assert.ok(nodeLoads() > 120, `${nodeLoads()} node loads`)
  })
})

describe('decoded buckets hold byte IDs as places in their node block', () => {
  it('a read node keeps no view per pointer, yet every pointer reads back as the bytes written', () => {
    // IDs of 34 bytes (the usual), and lengths around the largest a place holds (255).
    const ids = [34, 1, 254, 255, 256, 300].map((n) => new Uint8Array(n).map((_, i) => (i * 31 + n) & 255))
    const slots = new Array<Bucket | undefined>(256).fill(undefined)
    ids.forEach((id, i) => {
      slots[i] = new Bucket([`k${i}`], [id])
    })
    slots[200] = new Bucket(['a', 'b', 'c'], ids.slice(0, 3))
    const read = decodeCanonicalNode(encodeNode(new Node(slots), () => new Uint8Array(0)))
    assert.ok(read !== undefined)
    ids.forEach((id, i) => {
      const bucket = read.slots[i] as Bucket
      assert.deepEqual(bucket.pointerAt(0), id, `${id.length}-byte ID`)
      assert.deepEqual(bucket.pointers, [id])
      // A place is a number: a view is made only when asked for (~96 bytes of V8 objects each).
      assert.equal(typeof bucket.pointerOrPointers, id.length < 256 ? 'number' : 'object')
    })
    const three = read.slots[200] as Bucket
    assert.deepEqual(three.pointers, ids.slice(0, 3))
    assert.ok((three.pointerOrPointers as unknown[]).every((p) => typeof p === 'number'))
    // A write to such a bucket gives an ordinary one, with every other pointer kept.
    const changed = three.with('b', ids[5] as Uint8Array)
    assert.deepEqual(changed.pointers, [ids[0], ids[5], ids[2]])
    assert.deepEqual(three.without(0)?.pointers, [ids[1], ids[2]])
  })

  it('a place is a small integer (below 2^30, no heap number); an ID beyond what one holds stays a view', () => {
    assert.equal(placeOf(2 ** 22 - 1, 255), 2 ** 30 - 1)
    assert.equal(placeOf(0, 0), 0)
    assert.equal(placeOf(2 ** 22, 34), undefined)
    assert.equal(placeOf(10, 256), undefined)
  })

  it('reads ASCII keys of every length the in-place reader takes (0 to 33 bytes) exactly', () => {
    const keys = Array.from({ length: 34 }, (_, n) => 'abcdefghijklmnopqrstuvwxyz0123456789'.slice(0, n))
    const slots = new Array<Bucket | undefined>(256).fill(undefined)
    keys.forEach((key, i) => {
      slots[i] = new Bucket([key, `${key}~\u00e9`], [new Uint8Array([i]), new Uint8Array([i, 1])])
    })
    const read = decodeCanonicalNode(encodeNode(new Node(slots), () => new Uint8Array(0)))
    assert.ok(read !== undefined)
    keys.forEach((key, i) => {
      assert.deepEqual((read.slots[i] as Bucket).keys, [key, `${key}~\u00e9`])
    })
  })
})
