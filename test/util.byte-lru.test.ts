// The one byte-bounded LRU (shard cache, dataset chunk cache) against a plain model: the least
// recently used unpinned entries go first, the budget holds whenever something unpinned is left.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ByteLru } from '../src/util/byte-lru.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

type Op =
  | { op: 'set'; key: number; bytes: number }
  | { op: 'get'; key: number }
  | { op: 'delete'; key: number }
  | { op: 'resize'; key: number; bytes: number }
  | { op: 'pin' | 'unpin'; key: number }

const key = fc.nat(4)
const bytes = fc.nat(30)
const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key, bytes }),
    fc.record({ op: fc.constant('get' as const), key }),
    fc.record({ op: fc.constant('delete' as const), key }),
    fc.record({ op: fc.constant('resize' as const), key, bytes }),
    fc.record({ op: fc.constantFrom('pin' as const, 'unpin' as const), key }),
  ),
  { maxLength: 80 },
)

describe('ByteLru', () => {
  it('evicts the least recently used first: a get counts as a use, a pinned key is passed over', () => {
    const lru = new ByteLru<string, number>(20)
    lru.set('a', 1, 10)
    lru.set('b', 2, 10)
    assert.equal(lru.get('a'), 1)
    lru.set('c', 3, 10)
    assert.deepEqual([lru.peek('a'), lru.peek('b'), lru.peek('c')], [1, undefined, 3])
    const dirty = new Set(['x'])
    const pinned = new ByteLru<string, number>(15, (k) => dirty.has(k))
    pinned.set('x', 1, 10)
    pinned.set('y', 2, 10)
    assert.deepEqual([pinned.peek('x'), pinned.peek('y'), pinned.bytes], [1, undefined, 10])
    pinned.set('big', 3, 16) // larger than the whole budget: not kept
    assert.equal(pinned.has('big'), false)
    pinned.resize('x', 30) // pinned: kept over budget until unpinned
    assert.equal(pinned.bytes, 30)
    dirty.clear()
    pinned.evict()
    assert.equal(pinned.size, 0)
  })

  it('matches a list model: order of use, pinned keys passed over, budget kept', () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 0, max: 60 }), (list: Op[], max: number) => {
        const pinned = new Set<number>()
        const lru = new ByteLru<number, string>(max, (k) => pinned.has(k))
        let model: Array<{ key: number; bytes: number }> = [] // least recently used first
        const total = (): number => model.reduce((n, e) => n + e.bytes, 0)
        const evict = (): void => {
          for (const entry of [...model]) {
            if (total() <= max) break
            if (!pinned.has(entry.key)) model = model.filter((e) => e !== entry)
          }
        }
        for (const step of list) {
          const at = model.findIndex((e) => e.key === step.key)
          if (step.op === 'set') {
            lru.set(step.key, `v${step.key}`, step.bytes)
            if (at >= 0) model.splice(at, 1)
            if (step.bytes <= max || pinned.has(step.key)) model.push({ key: step.key, bytes: step.bytes })
            evict()
          } else if (step.op === 'get') {
            assert.equal(lru.get(step.key), at >= 0 ? `v${step.key}` : undefined)
            if (at >= 0) model.push(...model.splice(at, 1))
          } else if (step.op === 'delete') {
            lru.delete(step.key)
            if (at >= 0) model.splice(at, 1)
          } else if (step.op === 'resize') {
            lru.resize(step.key, step.bytes)
            if (at >= 0) (model[at] as { bytes: number }).bytes = step.bytes
            evict()
          } else if (step.op === 'pin') {
            pinned.add(step.key)
          } else {
            pinned.delete(step.key)
            lru.evict()
            evict()
          }
          assert.equal(lru.bytes, total())
          assert.equal(lru.size, model.length)
          for (const e of model) assert.equal(lru.peek(e.key), `v${e.key}`)
          // Over budget only when nothing unpinned is left to evict.
          assert.ok(lru.bytes <= max || model.every((e) => pinned.has(e.key)), `${lru.bytes} > ${max}`)
        }
      }),
      { seed, numRuns: 1500 },
    )
  })
})
