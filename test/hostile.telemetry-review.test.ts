// Retrieval stats under keys a stranger chooses: what the collector keeps is bounded by its limits,
// however long the keys it counts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { HAMT, MemoryStore } from '../src/index.js'
import { collectRetrievalStats } from '../src/telemetry/index.js'
import { withinBudget } from './helpers/hostile.js'

setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
const heapUsed = (): number => {
  collectGarbage()
  return process.memoryUsage().heapUsed
}

describe('collectRetrievalStats with long keys', () => {
  it('400 lookups of distinct 200 KB keys: the collector keeps a bounded part of each (not 80 MB)', async () => {
    const map = await HAMT.create({ store: await MemoryStore.create() })
    const long = 'k'.repeat(200_000)
    const before = heapUsed()
    const stats = collectRetrievalStats()
    const outcome = await withinBudget('long keys', async () => {
      for (let i = 0; i < 400; i++) await map.get(`${i}:${long}`)
      // The case is about memory; 80 MB of keys hashed took 5.9 s at load 13 (2.2 s alone at 12).
    })
    assert.equal(outcome.error, undefined)
    const kept = heapUsed() - before
    const snapshot = stats.snapshot()
    stats.stop()
    assert.ok(kept < 16 * 2 ** 20, `the collector keeps ${(kept / 2 ** 20).toFixed(1)} MiB`)
    assert.equal(snapshot.lookups.requests, 400)
    assert.equal(snapshot.topKeys.length, 20)
    for (const { key, requests } of snapshot.topKeys) {
      assert.equal(requests, 1)
      assert.ok(key.length < 2000, `a tracked key of ${key.length} characters`)
    }
  })
})
