import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { HAMT, type HashFn, isHamtError, MemoryStore } from '../src/index.js'
import { assertSound } from './helpers/maps.js'
import { mulberry32, testSeed } from './helpers/random.js'

// Histories and the rebuild's insertion order come from one printed seed (replay with TS_HAMT_SEED).
const seed = testSeed()
const shuffle = mulberry32(seed)

type Op =
  | { kind: 'set'; key: string; value: number }
  | { kind: 'delete'; key: string }
  | { kind: 'get'; key: string }

/** Keys from a small alphabet so histories revisit keys; a 2-byte hash makes deep collisions common. */
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 150 }).map(String),
  fc.string({ minLength: 0, maxLength: 3 }),
)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
)
/** Two hash bytes from a weak mix of the key bytes: many keys share each prefix. */
const twoByteHash: HashFn = (data) => {
  let h = 0x811c
  for (const byte of data) h = ((h ^ byte) * 31) & 0xffff
  return Uint8Array.of(h >> 8, h & 0xff)
}

async function runHistory(ops: Op[], maxBucketSize: number, hashFn: HashFn | undefined): Promise<void> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<number>({ store, maxBucketSize, hashFn })
  const model = new Map<string, number>()
  for (const [step, op] of ops.entries()) {
    const where = `step ${step} ${JSON.stringify(op)}`
    if (op.kind === 'get') {
      assert.equal(await map.get(op.key), model.get(op.key), where)
      continue
    }
    try {
      if (op.kind === 'set') {
        await map.set(op.key, op.value)
        model.set(op.key, op.value)
      } else {
        await map.delete(op.key)
        assert.ok(model.delete(op.key), `${where}: deleted a key the model does not have`)
      }
    } catch (err) {
      // A missing delete, or a 2-byte hash running out, is a legal refusal that must change nothing.
      const allowed = isHamtError(err, 'ERR_KEY_NOT_FOUND')
        ? !model.has(op.key)
        : isHamtError(err, 'ERR_HASH_EXHAUSTED')
      assert.ok(allowed, `${where}: unexpected ${String(err)}`)
    }
    await assertSound(map, where)
    if (step % 25 === 0) assert.equal(await map.size(), model.size, where)
  }
  // The final map holds exactly the model, and its root equals a fresh build of the same content.
  const entries = new Map<string, number>()
  for await (const [k, v] of map) entries.set(k, v)
  assert.deepEqual(entries, model)
  const fresh = await HAMT.create<number>({ store, maxBucketSize, hashFn })
  for (const [k, v] of [...model].sort(() => 0.5 - shuffle())) await fresh.set(k, v)
  assert.deepEqual(await map.flush(), await fresh.flush(), 'canonical: same content, same root')
  const reopened = await HAMT.open<number>(map.rootId, { store, readOnly: true, hashFn })
  for (const [k, v] of model) assert.equal(await reopened.get(k), v)
}

describe('HAMT against a Map model', () => {
  it('random histories with BLAKE3, bucket sizes 1–8', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 8 }),
        (ops, m) => runHistory(ops, m, undefined),
      ),
      { numRuns: 40, seed },
    )
  })

  it('random histories with a 2-byte hash (deep collisions, hash exhaustion), bucket sizes 1–8', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 8 }),
        (ops, m) => runHistory(ops, m, twoByteHash),
      ),
      { numRuns: 40, seed: seed + 1 },
    )
  })

  it('a long history of 5000 operations with interleaved flushes', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store, maxBucketSize: 3 })
    const model = new Map<string, number>()
    const ops = fc.sample(opArb, { numRuns: 5000, seed: 42 })
    for (const [step, op] of ops.entries()) {
      if (op.kind === 'set') {
        await map.set(op.key, op.value)
        model.set(op.key, op.value)
      } else if (op.kind === 'delete') {
        if (model.delete(op.key)) await map.delete(op.key)
        else await assert.rejects(map.delete(op.key), (e) => isHamtError(e, 'ERR_KEY_NOT_FOUND'))
      } else {
        assert.equal(await map.get(op.key), model.get(op.key))
      }
      if (step % 100 === 0) {
        await map.flush()
        await assertSound(map, `step ${step}`)
      }
    }
    assert.equal(await map.size(), model.size)
    await assertSound(map)
  })
})
