// A value nested deeper than the runtime's stack encodes (cborg's encoder recurses): `set` refuses it
// with a typed error naming the depth, as the decoder names a stranger's block's. Seeded depth and shape.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeDagCbor } from '../src/codec/dag-cbor.js'
import { HAMT, isHamtError, MemoryStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const depth = 200_000 + Math.floor(random() * 1000)

/** Arrays and maps (seeded), `depth` deep, around a leaf. */
function nested(): unknown {
  let value: unknown = 'leaf'
  for (let d = 0; d < depth; d++) value = random() < 0.5 ? [value] : { k: value }
  return value
}

describe(`a value nested ${depth} deep (seed ${seed})`, () => {
  it('encodeDagCbor names the depth', () => {
    const error = (() => {
      try {
        encodeDagCbor(nested())
      } catch (caught) {
        return caught as Error
      }
    })()
    assert.ok(error !== undefined, 'encoded')
    assert.match(error.message, new RegExp(`nested ${depth} deep`))
    assert.ok(error.cause instanceof RangeError, 'the overflow kept as the cause')
  })

  it('set refuses it, typed, naming the key and the depth; the map is as before', async () => {
    const map = await HAMT.create({ store: await MemoryStore.create() })
    await map.set('kept', 1)
    const value = nested()
    const outcome = await withinBudget('set of a deep value', () => map.set('deep', value))
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.match((outcome.error as Error).message, new RegExp(`"deep".*nested ${depth} deep`))
    assert.ok(isHamtError(outcome.error))
    assert.equal(await map.size(), 1)
    assert.equal(await map.get('kept'), 1)
  })
})
