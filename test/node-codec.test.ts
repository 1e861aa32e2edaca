import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { Bucket, Link, Node, type Slot } from '../src/hamt/node.js'
import { decodeAnyNode, decodeNode } from '../src/hamt/node-decoder.js'
import { encodeNode } from '../src/hamt/node-encoder.js'
import { decodeCanonicalNode } from '../src/hamt/node-fast-decoder.js'
import { decodeValue } from '../src/hamt/values.js'
import { HAMT, isHamtError, MemoryStore, type StoreId } from '../src/index.js'
import { referenceEncode } from './helpers/node-reference.js'
import { testSeed } from './helpers/random.js'

// fast-check draws from one printed seed (replay with TS_HAMT_SEED).
const seed = testSeed()

await loadBlake3()

const idArb: fc.Arbitrary<StoreId> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => blake3Hasher.digest(b).bytes),
  fc.uint8Array({ minLength: 0, maxLength: 300 }),
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => CID.createV1(0x71, blake3Hasher.digest(b))),
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => CID.createV1(0x55, blake3Hasher.digest(b))),
)
const bucketArb = fc
  .uniqueArray(
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constant('__proto__'),
    ),
    {
      minLength: 1,
      maxLength: 9,
    },
  )
  .filter((keys) => keys.every((k) => k.isWellFormed()))
  .chain((keys) =>
    fc.array(idArb, { minLength: keys.length, maxLength: keys.length }).map((ids) => new Bucket(keys, ids)),
  )
const slotArb: fc.Arbitrary<Slot> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: bucketArb },
  { weight: 1, arbitrary: idArb.map((id) => Link.toStored(id)) },
)
const nodeArb = fc.array(slotArb, { minLength: 256, maxLength: 256 }).map((slots) => new Node(slots))

describe('node encoder', () => {
  it('writes exactly the bytes @ipld/dag-cbor writes, for random nodes', () => {
    fc.assert(
      fc.property(nodeArb, (node) => {
        assert.deepEqual(
          encodeNode(node, () => {
            throw new Error('no dirty children here')
          }),
          referenceEncode(node),
        )
      }),
      { numRuns: 300, seed },
    )
  })

  it('round-trips through the decoder', () => {
    fc.assert(
      fc.property(nodeArb, (node) => {
        const bytes = encodeNode(node, () => new Uint8Array(0))
        assert.deepEqual(
          encodeNode(decodeNode(bytes, 'test'), () => new Uint8Array(0)),
          bytes,
        )
      }),
      { numRuns: 100, seed: seed + 1 },
    )
  })

  it('writes keys whose UTF-8 needs a longer CBOR head than their UTF-16 length does', () => {
    // The encoder writes a key after a head sized for ASCII and moves it when the UTF-8 is longer.
    const keys = [
      'a'.repeat(23),
      'a'.repeat(24),
      '\u00e9'.repeat(12),
      '\u20ac'.repeat(85),
      '\u00e9'.repeat(128),
    ]
    keys.push(`${'\u{1f600}'.repeat(5)}x`, '\u20ac'.repeat(21846), `${'a'.repeat(255)}\u00e9`)
    const node = new Node()
    keys.forEach((key, i) => {
      node.slots[i * 3] = new Bucket([key], [blake3Hasher.digest(Uint8Array.of(i)).bytes])
    })
    node.slots[100] = new Bucket(
      keys,
      keys.map((_, i) => blake3Hasher.digest(Uint8Array.of(i, 1)).bytes),
    )
    assert.deepEqual(
      encodeNode(node, () => new Uint8Array(0)),
      referenceEncode(node),
    )
  })

  it('encodes a dirty child by the ID idOf gives it', () => {
    const child = new Node()
    const parent = new Node()
    parent.slots[7] = Link.toDirty(child)
    const id = blake3Hasher.digest(Uint8Array.of(1)).bytes
    const expected = new Node()
    expected.slots[7] = Link.toStored(id)
    assert.deepEqual(
      encodeNode(parent, (n) => (n === child ? id : new Uint8Array(0))),
      referenceEncode(expected),
    )
  })
})

describe('node decoder rejects what is not a py-hamt node (spec §1)', () => {
  const empty = (): unknown[] => Array.from({ length: 256 }, () => ({}))
  const id = new Uint8Array(34)
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an array', { a: 1 }, /must be an array of 256 slots, got Map/],
    ['a string', 'node', /must be an array of 256 slots, got string/],
    ['255 slots', empty().slice(1), /must have 256 slots, got 255/],
    ['257 slots', [...empty(), {}], /must have 256 slots, got 257/],
    [
      'a slot that is a number',
      Object.assign(empty(), { 3: 5 }),
      /slot 3: must be a bucket \(map\) or a link/,
    ],
    [
      'a slot that is null',
      Object.assign(empty(), { 4: null }),
      /slot 4: must be a bucket \(map\) or a link/,
    ],
    [
      'a two-element link',
      Object.assign(empty(), { 9: [id, id] }),
      /slot 9: a link must be a one-element array, got 2/,
    ],
    ['an empty link', Object.assign(empty(), { 9: [] }), /slot 9: a link must be a one-element array, got 0/],
    [
      'a link to a string',
      Object.assign(empty(), { 10: ['bafy'] }),
      /slot 10: link must be a CID or bytes, got string/,
    ],
    [
      'a pointer that is a number',
      Object.assign(empty(), { 11: { k: 1 } }),
      /slot 11: value pointer of "k" must be a CID or bytes/,
    ],
  ]
  for (const [what, data, message] of cases) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => decodeNode(dagCbor.encode(data), 'N'),
        (err) =>
          isHamtError(err, 'ERR_INVALID_NODE') &&
          message.test((err as Error).message) &&
          /node N/.test((err as Error).message),
      )
    })
  }

  it('rejects a non-string bucket key', async () => {
    const { encode } = await import('cborg')
    const bytes = encode(Array.from({ length: 256 }, (_, i) => (i === 2 ? new Map([[1, id]]) : new Map())))
    assert.throws(() => decodeNode(bytes, 'N'), /slot 2: bucket key must be a string, got number/)
  })

  it('rejects bytes that are not DAG-CBOR', () => {
    assert.throws(
      () => decodeNode(Uint8Array.of(0xff, 0x00), 'N'),
      (err) => isHamtError(err, 'ERR_INVALID_NODE'),
    )
  })

  it('a bucket claiming more entries than its bytes could hold is ERR_INVALID_NODE', () => {
    // 0x99 0x01 0x00: an array of 256; then a map head claiming 2^32 - 1 or 2^16 entries.
    for (const head of [
      [0xba, 0xff, 0xff, 0xff, 0xff],
      [0xb9, 0xff, 0xff],
    ]) {
      const bytes = Uint8Array.of(0x99, 0x01, 0x00, ...head, 0x61, 0x61, 0x41, 0x00)
      assert.equal(decodeCanonicalNode(bytes), undefined)
      assert.throws(
        () => decodeNode(bytes, 'N'),
        (err) => isHamtError(err, 'ERR_INVALID_NODE'),
      )
    }
  })
})

describe('fast node decoder (checked against the validating cborg path)', () => {
  const noChildren = () => new Uint8Array(0)
  const outcome = (decode: () => Node | undefined): string => {
    try {
      const node = decode()
      return node === undefined
        ? 'declined'
        : `node ${Buffer.from(encodeNode(node, noChildren)).toString('hex')}`
    } catch {
      return 'error'
    }
  }

  it('decodes random canonical nodes exactly as the validating path does', () => {
    fc.assert(
      fc.property(nodeArb, (node) => {
        const bytes = encodeNode(node, noChildren)
        const fast = decodeCanonicalNode(bytes)
        assert.ok(fast !== undefined, 'a canonical node takes the fast path')
        assert.equal(
          outcome(() => fast),
          outcome(() => decodeAnyNode(bytes, 'n')),
        )
        const referenceSlots = decodeAnyNode(bytes, 'n').slots
        fast.slots.forEach((slot, i) => {
          const reference = referenceSlots[i]
          if (slot instanceof Link)
            assert.equal(CID.asCID(slot.id) !== null, CID.asCID((reference as Link).id) !== null)
        })
      }),
      { numRuns: 200, seed: seed + 2 },
    )
  })

  it('never accepts corrupted bytes that the validating path rejects or reads differently', () => {
    const corruption = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'delete'),
      value: fc.integer({ min: 0, max: 255 }),
    })
    fc.assert(
      fc.property(nodeArb, fc.array(corruption, { minLength: 1, maxLength: 3 }), (node, changes) => {
        let bytes = Array.from(encodeNode(node, noChildren))
        for (const { at, kind, value } of changes) {
          const i = at % bytes.length
          if (kind === 'flip') bytes[i] = (bytes[i] as number) ^ (1 << (value & 7))
          else if (kind === 'set') bytes[i] = value
          else if (kind === 'truncate') bytes = bytes.slice(0, i)
          else if (kind === 'insert') bytes.splice(i, 0, value)
          else bytes.splice(i, 1)
        }
        const data = Uint8Array.from(bytes)
        const fast = outcome(() => decodeCanonicalNode(data))
        if (fast !== 'declined')
          assert.equal(
            fast,
            outcome(() => decodeAnyNode(data, 'n')),
          )
        assert.notEqual(fast, 'error', 'the fast path declines, it never throws')
      }),
      { numRuns: 2000, seed: seed + 3 },
    )
  })

  it('declines valid but non-canonical encodings, which the validating path still reads', async () => {
    const id = blake3Hasher.digest(Uint8Array.of(1)).bytes
    // Written by hand (encoders sort keys): slot 0 is {"bb": id, "a": id}, keys out of canonical order,
    // which cborg reads but py-hamt never writes.
    const pointer = [0x58, id.length, ...id]
    const unsorted = Uint8Array.from([
      0x99,
      0x01,
      0x00,
      0xa2,
      0x62,
      0x62,
      0x62,
      ...pointer,
      0x61,
      0x61,
      ...pointer,
      ...new Array(255).fill(0xa0),
    ])
    assert.equal(decodeCanonicalNode(unsorted), undefined)
    // Read, and held in canonical key order like every bucket (the encoder no longer sorts).
    const bucket = decodeNode(unsorted, 'n').slots[0] as Bucket
    assert.deepEqual(bucket.keys, ['a', 'bb'])
    assert.deepEqual(bucket.pointers.length, 2)
  })
})

describe('text is read exactly as Python reads it (issue 11)', () => {
  const noChildren = () => new Uint8Array(0)
  const pointer = new Uint8Array(34)
  /** A node whose slot 0 holds `keys` (sorted canonically by the encoder). */
  const nodeWithKeys = (keys: string[]): Uint8Array => {
    const bucket: Record<string, Uint8Array> = Object.create(null)
    for (const key of keys) bucket[key] = pointer
    return dagCbor.encode([bucket, ...Array.from({ length: 255 }, () => ({}))])
  }
  const keysOf = (node: Node): readonly string[] => (node.slots[0] as Bucket).keys

  it('keeps a leading U+FEFF in bucket keys, on the fast and on the validating path', () => {
    const keys = ['', 'k', '\ufeff', '\ufeffk', '\ufeff\ufeffk', 'a\ufeff']
    const bytes = nodeWithKeys(keys)
    const fast = decodeCanonicalNode(bytes)
    assert.ok(fast !== undefined)
    assert.deepEqual(new Set(keysOf(fast)), new Set(keys))
    assert.deepEqual(new Set(keysOf(decodeAnyNode(bytes, 'n'))), new Set(keys))
    assert.deepEqual(encodeNode(fast, noChildren), bytes, 'and writes the same bytes again')
  })

  it('reads ASCII keys of 64 KB, 125 KB and 1 MB on both paths', () => {
    for (const length of [65_536, 125_000, 1 << 20]) {
      const key = 'k'.repeat(length - 1) + String(length % 10)
      const bytes = nodeWithKeys([key, 'short'])
      const fast = decodeCanonicalNode(bytes)
      assert.ok(fast !== undefined, `${length}: fast path`)
      assert.ok(keysOf(fast).includes(key))
      assert.ok(keysOf(decodeAnyNode(bytes, 'n')).includes(key))
    }
  })

  it('rejects a bucket key that is not UTF-8, instead of reading U+FFFD', () => {
    const bytes = nodeWithKeys(['kx'])
    const at = bytes.indexOf(0x78) // the "x" of "kx"
    bytes[at] = 0xff
    assert.equal(decodeCanonicalNode(bytes), undefined)
    assert.throws(
      () => decodeNode(bytes, 'N'),
      (err) => isHamtError(err, 'ERR_INVALID_NODE') && /not valid UTF-8/.test((err as Error).message),
    )
  })

  it('a map keeps keys with a leading U+FEFF and long keys after flush and reopen', async () => {
    const keys = ['', 'k', '\ufeff', '\ufeffk', 'x'.repeat(65_536), 'y'.repeat(125_000), 'z'.repeat(1 << 20)]
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true, maxBucketSize: 2 })
    for (const [i, key] of keys.entries()) await map.set(key, Uint8Array.of(i))
    const root = await map.flush()
    const again = await HAMT.open<Uint8Array>(root, {
      store,
      valuesAreBytes: true,
      maxBucketSize: 2,
      readOnly: false,
    })
    for (const [i, key] of keys.entries())
      assert.deepEqual(await again.get(key), Uint8Array.of(i), `key ${i}`)
    const read: string[] = []
    for await (const key of again.keys()) read.push(key)
    assert.deepEqual(read.sort(), [...keys].sort())
    assert.deepEqual((await again.verify()).problems, [])
    await again.set('k', Uint8Array.of(99))
    assert.deepEqual(
      await (await HAMT.open<Uint8Array>(await again.flush(), { store, valuesAreBytes: true })).get(
        '\ufeffk',
      ),
      Uint8Array.of(3),
      'a later write keeps the key as it was',
    )
  })

  it('DAG-CBOR values keep strings with a leading U+FEFF, also as map keys', async () => {
    const values: unknown[] = [
      { '\ufeffname': '\ufeffvalue' },
      { '': 1, '\ufeff': 2 },
      ['\ufeff', '\ufeff\ufeff', 'x\ufeff', '\ufeff'.repeat(40)],
      '\ufeff'.repeat(3) + 'long'.repeat(100),
    ]
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store })
    for (const [i, value] of values.entries()) await map.set(`v${i}`, value)
    const again = await HAMT.open(await map.flush(), { store })
    for (const [i, value] of values.entries()) assert.deepEqual(await again.get(`v${i}`), value)
  })

  it('a value with a lone surrogate is ERR_INVALID_VALUE (no UTF-8 form), not stored as U+FFFD', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store })
    await map.set('k', 'kept')
    for (const value of ['\ud800', { '\udc00': 1 }, ['ok', { deep: 'x\udbff' }]]) {
      await assert.rejects(
        () => map.set('k', value),
        (err) => isHamtError(err, 'ERR_INVALID_VALUE') && /lone surrogate/.test((err as Error).message),
      )
    }
    assert.equal(await map.get('k'), 'kept', 'a failed set changes nothing')
    await map.set('k', '\u{1f600}\ufeff')
    assert.equal(await (await HAMT.open(await map.flush(), { store })).get('k'), '\u{1f600}\ufeff')
  })

  it('a DAG-CBOR value whose string is not UTF-8 is ERR_INVALID_VALUE, not U+FFFD', () => {
    const bytes = dagCbor.encode({ name: 'ab' })
    bytes[bytes.length - 1] = 0xc3 // "a" then a lead byte with no continuation
    assert.throws(
      () => decodeValue('k', pointer, bytes),
      (err) =>
        isHamtError(err, 'ERR_INVALID_VALUE') &&
        err.cause instanceof Error &&
        /not valid UTF-8/.test(err.cause.message),
    )
  })
})
