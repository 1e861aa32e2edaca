import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { Bucket, Link, Node, type Slot } from '../src/hamt/node.js'
import { decodeAnyNode, decodeNode } from '../src/hamt/node-decoder.js'
import { encodeNode } from '../src/hamt/node-encoder.js'
import { decodeCanonicalNode } from '../src/hamt/node-fast-decoder.js'
import { blake3Hasher, isHamtError, loadBlake3, type StoreId } from '../src/index.js'

await loadBlake3()

/** The reference: the same node built as plain IPLD data and encoded by @ipld/dag-cbor. */
function referenceEncode(node: Node): Uint8Array {
  return dagCbor.encode(
    node.slots.map((slot) => {
      if (slot === undefined) return {}
      if (slot instanceof Link) return [slot.id]
      const bucket: Record<string, StoreId> = Object.create(null)
      slot.keys.forEach((key, i) => {
        bucket[key] = slot.pointers[i] as StoreId
      })
      return bucket
    }),
  )
}

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
      { numRuns: 300 },
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
      { numRuns: 100 },
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
        fast.slots.forEach((slot, i) => {
          const reference = decodeAnyNode(bytes, 'n').slots[i]
          if (slot instanceof Link)
            assert.equal(CID.asCID(slot.id) !== null, CID.asCID((reference as Link).id) !== null)
        })
      }),
      { numRuns: 200 },
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
      { numRuns: 2000 },
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
    assert.deepEqual((decodeNode(unsorted, 'n').slots[0] as Bucket).keys, ['bb', 'a'])
  })
})
