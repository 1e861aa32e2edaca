// Outsider attack on BlockIndex's lookup + addAt and growth by kept hashes: IDs of odd lengths (as
// gc.ts indexes identity CIDs and other multihashes by length), from small alphabets so that repeats
// and near-duplicates are common, through many growths, against a Map of hex strings.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from 'multiformats/bytes'
import { BlockIndex } from '../src/cas/block-index.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

describe('BlockIndex with IDs of odd lengths', () => {
  for (const length of [1, 2, 3, 5, 7, 33, 37, 128]) {
    it(`${length}-byte IDs: insert, lookup/addAt and get agree with a Map across growths`, () => {
      const random = mulberry32(seed + length)
      const index = new BlockIndex(length)
      const model = new Map<string, number>()
      // Few byte values at most positions: many IDs repeat or differ in one byte.
      const alphabet = 2 + Math.floor(random() * 6)
      const steps = length === 1 ? 2000 : 12_000
      for (let step = 0; step < steps; step++) {
        const id = new Uint8Array(length)
        for (let i = 0; i < length; i++)
          id[i] = random() < 0.9 ? Math.floor(random() * alphabet) : Math.floor(random() * 256)
        const hex = toHex(id)
        const value = random() < 0.5 ? -1 - step : step * 8193.25
        const r = random()
        if (r < 0.4) {
          const found = index.lookup(id)
          assert.equal(
            found >= 0 ? index.valueAt(found) : undefined,
            model.get(hex),
            `step ${step} lookup ${hex}`,
          )
          if (found < 0) {
            index.addAt(found, id.slice(), value)
            model.set(hex, value)
          }
        } else if (r < 0.6) {
          if (model.has(hex)) assert.throws(() => index.insert(id, value), RangeError)
          else {
            index.insert(id, value)
            model.set(hex, value)
          }
        } else if (r < 0.7) {
          assert.equal(index.update(id, value), model.has(hex))
          if (model.has(hex)) model.set(hex, value)
        } else assert.equal(index.get(id), model.get(hex), `step ${step} get ${hex}`)
        // The caller's bytes are copied: changing them afterwards changes nothing.
        id.fill(0xee)
      }
      assert.equal(index.size, model.size)
      assert.deepEqual(
        [...index.entries()].map(([id, value]) => [toHex(id), value]),
        [...model.entries()],
      )
      for (const hex of model.keys()) {
        const id = Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16))
        assert.equal(index.get(id), model.get(hex))
      }
      assert.equal(index.get(new Uint8Array(length + 1)), undefined)
    })
  }
})
