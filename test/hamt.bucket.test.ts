// Buckets of one entry (most buckets of a large map) hold their key and pointer themselves, not two
// one-element arrays; larger ones keep parallel arrays. Every way of reading and changing a bucket
// must agree with a sorted list of entries, across the one-entry/array boundary both ways.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { StoreId } from '../src/cas/interface.js'
import { Bucket } from '../src/hamt/node.js'
import { compareDagCborKeys } from '../src/hamt/utf8.js'
import { mulberry32, testSeed } from './helpers/random.js'

const id = (n: number): StoreId => Uint8Array.of(0x1e, 0x20, n & 0xff, n >> 8)

/** What a bucket must read as: entries in DAG-CBOR key order. */
function assertReads(bucket: Bucket, model: [string, StoreId][]): void {
  assert.equal(bucket.size, model.length)
  assert.deepEqual(
    bucket.keys,
    model.map(([key]) => key),
  )
  assert.deepEqual(
    bucket.pointers,
    model.map(([, pointer]) => pointer),
  )
  model.forEach(([key, pointer], i) => {
    assert.equal(bucket.keyAt(i), key)
    assert.equal(bucket.pointerAt(i), pointer)
    assert.equal(bucket.indexOf(key), i)
  })
  assert.equal(bucket.indexOf('absent key'), -1)
}

describe('Bucket', () => {
  it('holds one entry without arrays', () => {
    for (const bucket of [
      Bucket.of('a', id(1)),
      new Bucket(['a'], [id(1)]),
      new Bucket(['a', 'b'], [id(1), id(2)]).without(1),
    ]) {
      assert.ok(bucket !== undefined)
      assert.equal(bucket.keyOrKeys, 'a')
      assert.ok(!Array.isArray(bucket.pointerOrPointers))
      assert.equal(
        Object.values(bucket).some((field) => Array.isArray(field)),
        false,
        'no array in a one-entry bucket',
      )
    }
    assert.ok(Array.isArray(new Bucket(['b', 'a'], [id(2), id(1)]).keyOrKeys))
  })

  it('every bucket has one shape: its three fields in one order, block always bytes', () => {
    // V8 keeps code optimised for a shape; a field that is undefined in some buckets and bytes in
    // others (or made in another order) changed the shape under the hot paths once per process.
    const buckets = [
      Bucket.of('a', id(1)),
      new Bucket(['a'], [id(1)]),
      new Bucket(['b', 'a'], [id(2), id(1)]),
      new Bucket(['a', 'b'], [id(1), id(2)], true),
      new Bucket(['a', 'b'], [0, 0], true, Uint8Array.of(1)),
      Bucket.of('a', id(1)).with('b', id(2)),
      Bucket.of('a', id(1)).with('b', id(2)).without(0),
    ]
    for (const bucket of buckets) {
      assert.ok(bucket !== undefined)
      assert.deepEqual(Object.keys(bucket), ['keyOrKeys', 'pointerOrPointers', 'block'])
      assert.ok(bucket.block instanceof Uint8Array)
    }
    // A bucket without places reads its pointers as given (the same arrays, no copies).
    const ids = [id(1), id(2)]
    assert.equal(new Bucket(['a', 'b'], ids, true).pointers, ids)
  })

  it('reads and changes as a sorted list of entries (generated)', () => {
    const random = mulberry32(testSeed())
    const keys = ['a', 'b', 'aa', 'é', 'z', 'key-1', 'key-10', 'key-2', '']
    for (let run = 0; run < 300; run++) {
      let model: [string, StoreId][] = []
      let bucket: Bucket | undefined
      for (let step = 0; step < 12; step++) {
        if (bucket !== undefined && random() < 0.35) {
          const index = Math.floor(random() * model.length)
          model = model.filter((_, i) => i !== index)
          bucket = bucket.without(index)
        } else {
          const key = keys[Math.floor(random() * keys.length)] as string
          const pointer = id(Math.floor(random() * 1000))
          model = [...model.filter(([k]) => k !== key), [key, pointer]]
          model.sort(([a], [b]) => compareDagCborKeys(a, b))
          bucket = bucket === undefined ? Bucket.of(key, pointer) : bucket.with(key, pointer)
        }
        if (model.length === 0) assert.equal(bucket, undefined)
        else {
          assert.ok(bucket !== undefined)
          assertReads(bucket, model)
          // Built from its entries in any order, a bucket reads the same.
          const shuffled = [...model].sort(() => random() - 0.5)
          assertReads(
            new Bucket(
              shuffled.map(([key]) => key),
              shuffled.map(([, pointer]) => pointer),
            ),
            model,
          )
        }
      }
    }
  })
})
