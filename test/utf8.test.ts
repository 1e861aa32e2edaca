import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { compareUtf8, utf8Encode, utf8Length } from '../src/hamt/utf8.js'

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
      { numRuns: 3000 },
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
      { numRuns: 3000 },
    )
    // The case UTF-16 order gets wrong: U+FF5E (one unit, 0xFF5E) sorts before U+1F600 (units 0xD83D 0xDE00).
    assert.ok(compareUtf8('\uff5e', '😀') < 0)
  })
})
