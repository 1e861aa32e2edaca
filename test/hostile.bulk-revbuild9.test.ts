// Outsider attack on the promise-free value saves of a bulk build (SAVE_NOW): a store whose `save`
// changes between its own and a patched one while the entries are read must still give each key its value.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT, MemoryStore } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()

describe('fromEntries over a store whose save is patched and restored mid-read', () => {
  it('each key keeps its own value (a batched value is not overtaken by one saved at once)', async () => {
    const random = mulberry32(seed)
    const count = 50 + Math.floor(random() * 200)
    const entries = Array.from({ length: count }, (_, i) => [`k${seed}-${i}`, i] as const)
    const want = (await HAMT.fromEntries(entries, { store: await MemoryStore.create() })).rootId
    const store = await MemoryStore.create()
    const save = store.save.bind(store)
    // Patched for the first entries (a counting wrapper, say), then restored: saves go through the
    // patched `save` in a batch, then at once through the class's own.
    const switchAt = 1 + Math.floor(random() * (count - 2))
    function* read() {
      store.save = (data, codec, options) => save(data, codec, options)
      for (let i = 0; i < count; i++) {
        if (i === switchAt) delete (store as { save?: unknown }).save
        yield entries[i] as readonly [string, number]
      }
    }
    const map = await HAMT.fromEntries(read(), { store })
    for (const [key, value] of entries)
      assert.equal(await map.get(key), value, `${key} (switch at ${switchAt})`)
    assert.deepEqual(map.rootId, want)
  })

  it('an async iterable, with the patch toggled at random between entries', async () => {
    const random = mulberry32(seed ^ 0x5bd1e995)
    const count = 100 + Math.floor(random() * 300)
    const entries = Array.from({ length: count }, (_, i) => [`a${seed}-${i}`, { i }] as const)
    const want = (await HAMT.fromEntries(entries, { store: await MemoryStore.create() })).rootId
    const store = await MemoryStore.create()
    const save = store.save.bind(store)
    async function* read() {
      for (const entry of entries) {
        if (random() < 0.1) {
          if (Object.hasOwn(store, 'save')) delete (store as { save?: unknown }).save
          else store.save = (data, codec, options) => save(data, codec, options)
        }
        yield entry
      }
    }
    const map = await HAMT.fromEntries(read(), { store })
    for (const [key, value] of entries) assert.deepEqual(await map.get(key), value, key)
    assert.deepEqual(map.rootId, want)
  })

  for (const kind of ['Uint8Array', 'Buffer'] as const)
    it(`byte values from one reused ${kind} keep what each entry held when read (as set of each would)`, async () => {
      const random = mulberry32(seed ^ 0x2545f491)
      const count = 20 + Math.floor(random() * 60)
      const want = new Map<string, Uint8Array>()
      for (let i = 0; i < count; i++)
        want.set(
          `b${seed}-${i}`,
          Uint8Array.from({ length: 8 }, () => random() * 256),
        )
      const plain = await MemoryStore.create()
      const wantRoot = (await HAMT.fromEntries(want, { store: plain, valuesAreBytes: true })).rootId
      // A store that is not saved to at once (any store but MemoryStore's own save): a batched value.
      const store = await MemoryStore.create()
      const save = store.save.bind(store)
      store.save = (data, codec, options) => save(data, codec, options)
      function* read() {
        // A reader that fills one buffer per row, as a stream parser does.
        // A Node Buffer's own `slice` is a view, not a copy.
        const buffer = kind === 'Buffer' ? Buffer.alloc(8) : new Uint8Array(8)
        for (const [key, bytes] of want) {
          buffer.set(bytes)
          yield [key, buffer] as const
        }
      }
      const map = await HAMT.fromEntries(read(), { store, valuesAreBytes: true })
      for (const [key, bytes] of want) assert.deepEqual(await map.get(key), bytes, key)
      assert.deepEqual(map.rootId, wantRoot)
    })
})
