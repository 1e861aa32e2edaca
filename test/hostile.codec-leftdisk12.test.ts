// encodeDagCbor's overflow names the depth the value nests to as the encoder walks it: an object
// shared at two depths (met shallow first) is counted where it is deepest, not where it was first seen.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeDagCbor } from '../src/codec/dag-cbor.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const shallow = 100_000 + Math.floor(random() * 1000)
const deep = 100_000 + Math.floor(random() * 1000)

/** Arrays and maps (seeded) `levels` deep around `inner`. */
function wrap(inner: unknown, levels: number): unknown {
  let value = inner
  for (let d = 0; d < levels; d++) value = random() < 0.5 ? [value] : { k: value }
  return value
}

describe(`one object shared at depth 1 and at depth ${deep + 1} (seed ${seed})`, () => {
  it(`the overflow names the whole depth, ${deep + shallow + 1}`, () => {
    const shared = wrap('leaf', shallow)
    // Walked last-in first: the shared object is met at depth 1 before the long way round reaches it.
    const value = [wrap(shared, deep), shared]
    const error = (() => {
      try {
        encodeDagCbor(value)
      } catch (caught) {
        return caught as Error
      }
    })()
    assert.ok(error !== undefined, 'encoded')
    assert.match(error.message, new RegExp(`nested ${deep + shallow + 1} deep`), `seed ${seed}`)
    assert.ok(error.cause instanceof RangeError)
  })

  it('a cycle is not followed without end (cborg refuses it)', () => {
    const cycle: unknown[] = []
    cycle.push(wrap(cycle, 10))
    assert.throws(() => encodeDagCbor(cycle))
  })
})
