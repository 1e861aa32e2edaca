// IDs crafted to collide in the ID map (node cache, stores' buffers, CAR import): each lookup must
// stay cheap, so a stranger's CAR of identity CIDs cannot make an import quadratic. Linear is shown by
// the bytes work counted at N and N/2 IDs (test/helpers/work-count.ts), not by time.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { toHex } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { hashOf, IdMap } from '../src/cas/id-map.js'
import { withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'
import { assertLinear } from './helpers/work-count.js'

const seed = testSeed()
const N = 10_000

/** `count` distinct byte strings: a varying part (from `i` and the seed) placed before or after a fixed part. */
function crafted(count: number, shared: 'tail' | 'prefix', length = 40): Uint8Array[] {
  const fixed = Uint8Array.from({ length: length - 8 }, (_, i) => (seed + i * 13) & 0xff)
  return Array.from({ length: count }, (_, i) => {
    const varying = new Uint8Array(8)
    new DataView(varying.buffer).setUint32(0, i ^ seed)
    new DataView(varying.buffer).setUint32(4, i)
    const out = new Uint8Array(length)
    out.set(shared === 'tail' ? varying : fixed, 0)
    out.set(shared === 'tail' ? fixed : varying, shared === 'tail' ? 8 : length - 8)
    return out
  })
}

function exerciseMap(ids: Array<Uint8Array | CID>): void {
  const map = new IdMap<number>()
  for (const [i, id] of ids.entries()) map.set(id, i)
  assert.equal(map.size, ids.length)
  for (const [i, id] of ids.entries()) assert.equal(map.get(id), i)
  for (const [i, id] of ids.entries()) if (i % 2 === 0) assert.ok(map.delete(id))
  assert.equal(map.size, ids.length / 2)
  for (const [i, id] of ids.entries()) assert.equal(map.has(id), i % 2 === 1)
  assert.equal([...map.entries()].length, ids.length / 2)
}

// Inputs are built before the first budgeted case, so the budgets measure only the map's work.
const cids = crafted(N, 'tail').map((bytes) => CID.createV1(0x55, identity.digest(bytes)))
const prefixed = crafted(N, 'prefix')
const mixedLengths = crafted(N, 'tail', 48).map((id, i) => id.subarray(0, 9 + (i % 40)))
const sameHash = collidingIds(N)

describe('hostile IDs in the ID map', () => {
  it(`${N} identity CIDs sharing a tail: linear`, async () => {
    const outcome = await withinBudget('shared tail', () =>
      assertLinear('shared tail', N, (n) => exerciseMap(cids.slice(0, n))),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
  })

  it(`${N} IDs sharing a prefix, and IDs of many lengths: linear`, async () => {
    for (const [name, ids] of [
      ['shared prefix', prefixed],
      ['mixed lengths', mixedLengths],
    ] as const) {
      const outcome = await withinBudget(name, () =>
        assertLinear(name, N, (n) => exerciseMap(ids.slice(0, n))),
      )
      assert.equal(outcome.error, undefined, String(outcome.error))
    }
  })

  it(`${N} IDs crafted to share one full-ID hash: the chain cap keeps it linear`, async () => {
    const ids = sameHash
    assert.equal(
      new Set(ids.map(hashOf)).size,
      1,
      'the crafted IDs collide (update collidingIds if the hash changed)',
    )
    const outcome = await withinBudget('one hash for all', () =>
      assertLinear('one hash for all', N, (n) => exerciseMap(ids.slice(0, n))),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
  })
})

describe('the ID map against a plain Map of hex strings', () => {
  // 24 IDs sharing one hash (three chains' worth), some of them identity CIDs and the same bytes
  // again as a plain byte ID (one key), and 8 ordinary IDs.
  const cidHeader = Uint8Array.of(0x01, 0x55, 0x00, 0x20)
  const collidingCids = collidingIds(12, cidHeader).map((bytes) => CID.decode(bytes))
  const pool: Array<Uint8Array | CID> = [
    ...collidingIds(12),
    ...collidingCids,
    ...collidingCids.slice(0, 4).map((cid) => cid.bytes.slice()),
    ...crafted(8, 'prefix', 36),
  ]
  const bytesOf = (id: Uint8Array | CID): Uint8Array => (id instanceof Uint8Array ? id : id.bytes)

  type Op = { kind: 'set' | 'delete' | 'get'; id: number; value: number }
  const opArb: fc.Arbitrary<Op> = fc.record({
    kind: fc.constantFrom('set', 'set', 'delete', 'get'),
    id: fc.nat(pool.length - 1),
    value: fc.integer(),
  })

  it('any sequence of set, delete and get, colliding IDs included, agrees on every answer', () => {
    assert.equal(
      new Set(pool.slice(0, 28).map((id) => hashOf(bytesOf(id)))).size,
      1,
      'the crafted IDs collide',
    )
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 300, size: 'max' }), (ops) => {
        const map = new IdMap<number>()
        const model = new Map<string, number>()
        for (const [step, op] of ops.entries()) {
          const id = pool[op.id] as Uint8Array | CID
          const hex = toHex(bytesOf(id))
          const where = `step ${step}: ${op.kind} #${op.id}`
          if (op.kind === 'set') {
            map.set(id, op.value)
            model.set(hex, op.value)
          } else if (op.kind === 'delete') assert.equal(map.delete(id), model.delete(hex), where)
          else assert.equal(map.get(id), model.get(hex), where)
          assert.equal(map.size, model.size, where)
        }
        const entries = new Map([...map.entries()].map(([bytes, value]) => [toHex(bytes), value]))
        assert.equal(entries.size, map.size, 'entries() yields each ID once')
        assert.deepEqual(entries, model)
        for (const [i, id] of pool.entries())
          assert.equal(map.has(id), model.has(toHex(bytesOf(id))), `#${i}`)
      }),
      { numRuns: 300, seed },
    )
  })
})

/**
 * 36-byte IDs that all reach one hash state: any fixed, unkeyed hash can be inverted like this,
 * which is why chains are capped. Mirrors the word loop of `hashOf`. `header` fixes the first bytes
 * (a CID's prefix).
 */
function collidingIds(count: number, header = new Uint8Array(0)): Uint8Array[] {
  const C = 0x9e3779b1
  let inverse = C // Newton's iteration for C⁻¹ mod 2³²
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(C, inverse))
  const target = 0x12345678
  const unshift = (y: number): number => y ^ (y >>> 16) // its own inverse on 32 bits
  return Array.from({ length: count }, (_, n) => {
    const bytes = new Uint8Array(36)
    const view = new DataView(bytes.buffer)
    view.setUint32(8, n ^ seed, true)
    view.setUint32(4, n, true)
    bytes.set(header)
    let h = 36 ^ 0x2c1b3c6d
    for (let i = 0; i < 32; i += 4) {
      h = Math.imul(h ^ view.getInt32(i, true), C)
      h ^= h >>> 16
    }
    view.setInt32(32, h ^ Math.imul(unshift(target), inverse), true)
    return bytes
  })
}
