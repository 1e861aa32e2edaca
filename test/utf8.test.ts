import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { blake3Hasher, linksOf, loadBlake3 } from '../src/blocks.js'
import { decodeDagCbor, decodeUtf8, encodeDagCbor } from '../src/codec/dag-cbor.js'
import { compareUtf8, utf8Encode, utf8Length } from '../src/hamt/utf8.js'
import { testSeed } from './helpers/random.js'

// fast-check draws from one printed seed (replay with TS_HAMT_SEED).
const seed = testSeed()

await loadBlake3()

const encoder = new TextEncoder()
const wellFormed = fc
  .oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string())
  .filter((s) => s.isWellFormed())

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++)
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

describe('utf8 (checked against TextEncoder)', () => {
  it('encodes and measures exactly as TextEncoder', () => {
    fc.assert(
      fc.property(wellFormed, (s) => {
        const expected = encoder.encode(s)
        assert.deepEqual(utf8Encode(s), expected)
        assert.equal(utf8Length(s), expected.length)
      }),
      { numRuns: 3000, seed },
    )
  })

  it('orders strings as their UTF-8 bytes order', () => {
    fc.assert(
      fc.property(wellFormed, wellFormed, (a, b) => {
        assert.equal(
          Math.sign(compareUtf8(a, b)),
          Math.sign(compareBytes(encoder.encode(a), encoder.encode(b))),
        )
      }),
      { numRuns: 3000, seed: seed + 1 },
    )
    // The case UTF-16 order gets wrong: U+FF5E (one unit, 0xFF5E) sorts before U+1F600 (units 0xD83D 0xDE00).
    assert.ok(compareUtf8('\uff5e', '😀') < 0)
  })
})

// Python's bytes.decode('utf-8'): keeps a leading U+FEFF, rejects invalid UTF-8, normalises nothing.
const python = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const withBoms = fc.tuple(fc.nat({ max: 2 }), wellFormed).map(([boms, s]) => '\ufeff'.repeat(boms) + s)

describe('utf8 decoding (as Python decodes)', () => {
  it('decodeUtf8 gives back every string exactly, a leading U+FEFF included', () => {
    fc.assert(
      fc.property(withBoms, (s) => {
        assert.equal(decodeUtf8(encoder.encode(s)), s)
      }),
      { numRuns: 3000, seed: seed + 2 },
    )
    for (const length of [4096, 4097, 65_536, 125_000, 1 << 20]) {
      const s = 'a'.repeat(length)
      assert.equal(decodeUtf8(encoder.encode(s)), s, `${length} ASCII bytes`)
    }
  })

  it('decodeUtf8 rejects what is not UTF-8', () => {
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0x80]]) {
      assert.throws(() => decodeUtf8(Uint8Array.from(bad)), TypeError, bad.join(','))
    }
  })

  it('decodeDagCbor reads every string of a value exactly, in keys and in values', () => {
    const value = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        withBoms,
        fc.integer(),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(withBoms, tie('value'), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).value
    fc.assert(
      fc.property(value, (v) => {
        const bytes = dagCbor.encode(v)
        assert.deepEqual(decodeDagCbor(bytes), v)
        assert.deepEqual(dagCbor.encode(decodeDagCbor(bytes)), bytes)
        assert.deepEqual(encodeDagCbor(v), bytes, 'encodeDagCbor writes what @ipld/dag-cbor writes')
      }),
      { numRuns: 1000, seed: seed + 3 },
    )
    assert.deepEqual(decodeDagCbor(dagCbor.encode({ '': 1, '\ufeff': 2 })), { '': 1, '\ufeff': 2 })
  })

  it('decodeDagCbor rejects a text string that is not UTF-8, where cborg reads U+FFFD', () => {
    // The strings "\ufeff" + "abc" and "ab", with their last byte replaced by lone lead bytes.
    for (const bytes of [
      Uint8Array.of(0x66, 0xef, 0xbb, 0xbf, 0x61, 0x62, 0xe2),
      Uint8Array.of(0x62, 0x61, 0xff),
    ]) {
      assert.throws(() => decodeDagCbor(bytes), /text string at byte 1 is not valid UTF-8/)
    }
    // Only text: byte strings and a string that really holds U+FFFD are left as they are.
    assert.deepEqual(decodeDagCbor(Uint8Array.of(0x42, 0xef, 0xbb)), Uint8Array.of(0xef, 0xbb))
    assert.equal(decodeDagCbor(Uint8Array.of(0x63, 0xef, 0xbf, 0xbd)), '\ufffd')
  })

  it("agrees with a strict decoder that keeps U+FEFF (as Python's bytes.decode) on random string bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (body) => {
        const bytes = dagCbor.encode(new TextDecoder().decode(new Uint8Array(body.length)))
        bytes.set(body, bytes.length - body.length)
        let expected: string | undefined
        try {
          expected = python.decode(body)
        } catch {}
        if (expected === undefined) assert.throws(() => decodeDagCbor(bytes))
        else assert.equal(decodeDagCbor(bytes), expected)
      }),
      { numRuns: 3000, seed: seed + 4 },
    )
  })

  it('a CAR walk reads the links of a block whose map has the keys "" and "\ufeff"', () => {
    const link = CID.createV1(0x55, blake3Hasher.digest(Uint8Array.of(1)))
    const bytes = dagCbor.encode({ '': link, '\ufeff': [link] })
    const cid = CID.createV1(dagCbor.code, blake3Hasher.digest(bytes))
    assert.deepEqual(linksOf(cid, bytes).map(String), [link, link].map(String))
  })
})
