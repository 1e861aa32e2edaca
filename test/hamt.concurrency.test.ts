import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, MemoryStore } from '../src/index.js'
import { assertSound } from './helpers/maps.js'

describe('HAMT under concurrency', () => {
  it('many concurrent sets, gets and deletes end in the same map as running them one by one', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store, maxBucketSize: 2 })
    const tasks: Promise<unknown>[] = []
    for (let i = 0; i < 2000; i++) tasks.push(map.set(`k${i}`, i))
    for (let i = 0; i < 2000; i += 3) tasks.push(map.get(`k${i}`))
    await Promise.all(tasks)
    await Promise.all(Array.from({ length: 1000 }, (_, i) => map.delete(`k${i * 2}`)))
    await assertSound(map)
    const sequential = await HAMT.create<number>({ store, maxBucketSize: 2 })
    for (let i = 1; i < 2000; i += 2) await sequential.set(`k${i}`, i)
    assert.deepEqual(await map.flush(), await sequential.flush())
  })

  it('iteration during writes sees exactly the snapshot taken when it started, without deadlock', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create(), maxBucketSize: 1 })
    for (let i = 0; i < 500; i++) await map.set(`k${i}`, i)
    const seen = new Map<string, number>()
    let step = 0
    for await (const [key, value] of map) {
      seen.set(key, value)
      // Writes from inside the loop: overwrite, delete (collapses) and add keys in place.
      await map.set(`k${step}`, -1)
      if (step % 2 === 0) await map.delete(`k${(step * 7) % 500}`).catch(() => {})
      await map.set(`new${step}`, step)
      step++
    }
    assert.equal(seen.size, 500)
    for (let i = 0; i < 500; i++) assert.equal(seen.get(`k${i}`), i, `k${i} from the snapshot`)
    await assertSound(map)
  })

  it('a flush while an iteration is under way neither changes what it sees nor blocks it', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    for (let i = 0; i < 300; i++) await map.set(`k${i}`, i)
    let count = 0
    for await (const [key, value] of map) {
      assert.equal(value, Number(key.slice(1)))
      if (count % 50 === 0) {
        await map.set(`extra${count}`, 0)
        await map.flush()
      }
      count++
    }
    assert.equal(count, 300)
  })

  it('reads on a read-only map run in parallel with no lock', async () => {
    const store = await MemoryStore.create()
    const writer = await HAMT.create<number>({ store })
    for (let i = 0; i < 1000; i++) await writer.set(`k${i}`, i)
    const reader = await HAMT.open<number>(await writer.flush(), { store, readOnly: true })
    const values = await Promise.all(Array.from({ length: 1000 }, (_, i) => reader.get(`k${i}`)))
    assert.deepEqual(
      values,
      Array.from({ length: 1000 }, (_, i) => i),
    )
  })

  it('a switch to read-only waits for pending writes, and their result is in the root', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    const writes = Array.from({ length: 200 }, (_, i) => map.set(`k${i}`, i))
    const rootPromise = map.makeReadOnly()
    await Promise.all(writes)
    await rootPromise
    assert.equal(await map.size(), 200)
    assert.equal(map.hasUnflushedChanges, false)
  })
})
