// MemoryStore's block index (typed arrays, open addressing) against a Map model, and IDs chosen to
// share every byte but a few: lookups must stay exact and cheap whatever IDs come.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { toHex } from 'multiformats/bytes'
import { BlockIndex } from '../src/cas/block-index.js'
import { withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()
const ID = 34

describe('BlockIndex', () => {
  it('agrees with a Map model through growth, repeats and lookups of absent or wrong-length IDs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: ID, maxLength: ID }), { maxLength: 3000 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 50 }),
        (ids, probes) => {
          const index = new BlockIndex(ID)
          const model = new Map<string, number>()
          ids.forEach((id, i) => {
            const value = i % 3 === 0 ? -1 - i : i * 8193.5
            if (i % 2 === 0) {
              if (index.get(id) === undefined) index.insert(id, value)
            } else {
              // lookup finds what is there, or where addAt puts a new ID.
              const found = index.lookup(id)
              assert.equal(found >= 0 ? index.valueAt(found) : undefined, model.get(toHex(id)))
              if (found < 0) index.addAt(found, id, value)
            }
            if (!model.has(toHex(id))) model.set(toHex(id), value)
          })
          assert.equal(index.size, model.size)
          for (const id of [...ids, ...probes]) assert.equal(index.get(id), model.get(toHex(id)))
          assert.deepEqual(
            [...index.entries()].map(([id, value]) => [toHex(id), value]),
            [...model.entries()],
          )
          assert.deepEqual([...index.values()], [...model.values()])
        },
      ),
      { seed, numRuns: 60 },
    )
  })

  it('refuses to insert an ID of another length, or one already there', () => {
    assert.throws(() => new BlockIndex(ID).insert(new Uint8Array(33), 1), RangeError)
    assert.throws(() => new BlockIndex(ID).lookup(new Uint8Array(35)), RangeError)
    const index = new BlockIndex(ID)
    index.insert(new Uint8Array(ID), 1)
    assert.throws(() => index.insert(new Uint8Array(ID), 2), RangeError)
    assert.equal(index.get(new Uint8Array(ID)), 1)
  })

  it('finds an ID read where it sits in a larger block, and nothing for a range past the bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: ID, maxLength: ID }), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.nat(64),
        (ids, pick, pad) => {
          const index = new BlockIndex(ID)
          ids.forEach((id, i) => {
            if (index.get(id) === undefined) index.insert(id, i)
          })
          const id = ids[pick % ids.length] as Uint8Array
          const block = new Uint8Array(pad + ID + pad).fill(0xa5)
          block.set(id, pad)
          assert.equal(index.get(block, pad, ID), index.get(id))
          // A range reaching past the block, before it, or of another length finds nothing.
          assert.equal(index.get(block, pad + ID + pad - ID + 1, ID), undefined)
          assert.equal(index.get(block, -1, ID), undefined)
          assert.equal(index.get(block, pad, ID - 1), undefined)
          assert.equal(index.get(id, 1, ID), undefined)
        },
      ),
      { seed, numRuns: 60 },
    )
  })

  it('IDs that differ in three bytes only, 100k of them, stay cheap to add and find', async () => {
    const outcome = await withinBudget('100k near-identical IDs', async () => {
      const index = new BlockIndex(ID)
      const id = new Uint8Array(ID).fill(seed & 0xff)
      for (let i = 0; i < 100_000; i++) {
        id[7] = i & 0xff
        id[30] = (i >> 8) & 0xff
        id[19] = i >> 16
        if (index.get(id) !== undefined) throw new Error(`id ${i} found before it was added`)
        index.insert(id, i)
      }
      for (let i = 0; i < 100_000; i++) {
        id[7] = i & 0xff
        id[30] = (i >> 8) & 0xff
        id[19] = i >> 16
        assert.equal(index.get(id), i)
      }
      assert.equal(index.size, 100_000)
    })
    assert.equal(outcome.error, undefined)
  })
})
