// Hostile DAG-CBOR text: blocks under 1 MB built so that every string takes the decoder's slow path
// (a re-decode for U+FEFF or U+FFFD), or is one huge key, or is broken at the very end.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { encode } from 'cborg'
import fc from 'fast-check'
import { Bucket, type Node } from '../src/hamt/node.js'
import { decodeNode } from '../src/hamt/node-decoder.js'
import { decodeValue } from '../src/hamt/values.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()
const pointer = new Uint8Array(34)
const node = (bucket: Record<string, Uint8Array>): Uint8Array =>
  dagCbor.encode([bucket, ...Array.from({ length: 255 }, () => ({}))])

describe('hostile DAG-CBOR text', () => {
  it('a value of 250 000 strings that all need a second decode stays within budget', async () => {
    for (const text of ['\ufeff', '\ufffd']) {
      const bytes = dagCbor.encode(Array.from({ length: 250_000 }, () => text))
      assert.ok(bytes.length < 1_100_000)
      const outcome = await withinBudget(`250k × ${JSON.stringify(text)}`, () =>
        decodeValue('k', pointer, bytes),
      )
      assert.equal((outcome.value as string[]).length, 250_000)
      assert.equal((outcome.value as string[])[249_999], text)
    }
  })

  it('a node with one 1 MB key decodes within budget, on both paths', async () => {
    const key = `\ufeff${'k'.repeat(1_000_000)}`
    const bytes = node({ [key]: pointer })
    const outcome = await withinBudget('1 MB key', () => decodeNode(bytes, 'N'))
    assert.equal(outcome.error, undefined)
    // The same key out of canonical order sends the node to the validating path.
    const unsorted = encode(
      [
        new Map([
          [key, pointer],
          ['a', pointer],
        ]),
        ...Array.from({ length: 255 }, () => new Map()),
      ],
      {
        mapSorter: () => 0,
      },
    )
    const slow = await withinBudget('1 MB key, validating path', () => decodeNode(unsorted, 'N'))
    assert.equal(slow.error, undefined)
    const slot = (slow.value as Node).slots[0]
    assert.ok(slot instanceof Bucket)
    // Held in canonical key order, as every bucket is.
    assert.deepEqual(slot.keys, ['a', key])
  })
  it('random bytes in a big value string: correct text or ERR_INVALID_VALUE, within budget', async () => {
    const cases = fc.sample(fc.tuple(fc.nat(), fc.integer({ min: 0x80, max: 0xff })), { seed, numRuns: 10 })
    const text = `\ufeff${'é'.repeat(100_000)}`
    const clean = dagCbor.encode({ text })
    const body = clean.length - new TextEncoder().encode(text).length
    for (const [at, byte] of cases) {
      const bytes = clean.slice()
      bytes[body + (at % (bytes.length - body))] = byte
      const outcome = await withinBudget('broken big string', () => decodeValue('k', pointer, bytes))
      if (outcome.error !== undefined) assertTypedError(outcome, 'ERR_INVALID_VALUE')
      else assert.equal(typeof (outcome.value as { text: string }).text, 'string')
    }
  })
})
