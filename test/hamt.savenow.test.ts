// Writes over a MemoryStore save values without a promise (SAVE_NOW), and through the store's `save`
// whenever that is not the class's own (a patched instance, a Proxy): such a store sees every value.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT, MemoryStore, type StoreId } from '../src/index.js'
import { testSeed } from './helpers/random.js'
import { ticksToSettle } from './helpers/ticks.js'

await loadBlake3()
const seed = testSeed()
const entries = Array.from({ length: 300 }, (_, i) => [`key-${seed}-${i}`, i] as const)

async function rootBySet(store: MemoryStore): Promise<StoreId> {
  const map = await HAMT.create<number>({ store })
  for (const [key, value] of entries) await map.set(key, value)
  return map.flush()
}

describe('values saved without a promise over a memory store', () => {
  it('a set whose path is in memory is settled when it returns: no await of a save', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    await map.set('a', 1)
    // One tick is the least: the `then` above ran before the first `await Promise.resolve()` resumed.
    assert.equal(await ticksToSettle(map.set('b', 2)), 1)
    assert.equal(await map.get('b'), 2)
  })

  it('a patched save or a Proxy sees every value saved by set and fromEntries, and the roots agree', async () => {
    const plain = await MemoryStore.create()
    const want = await rootBySet(plain)
    assert.deepEqual((await HAMT.fromEntries(entries, { store: plain })).rootId, want)
    const patched = await MemoryStore.create()
    let saved = 0
    const save = patched.save.bind(patched)
    patched.save = async (data, codec, options) => {
      saved++
      return save(data, codec, options)
    }
    const proxied = await MemoryStore.create()
    let trapped = 0
    const proxy = new Proxy(proxied, {
      get(target, name) {
        const got = Reflect.get(target, name, target)
        if (name !== 'save') return typeof got === 'function' ? got.bind(target) : got
        return (data: Uint8Array, codec: 'raw' | 'dag-cbor') => {
          trapped++
          return target.save(data, codec)
        }
      },
    })
    for (const store of [patched, proxy]) {
      assert.deepEqual(await rootBySet(store), want)
      assert.deepEqual((await HAMT.fromEntries(entries, { store })).rootId, want)
    }
    // Every value (twice: set, then fromEntries) plus the nodes of both flushes.
    const nodes = plain.blockCount - entries.length
    assert.equal(saved, 2 * entries.length + 2 * nodes)
    assert.equal(trapped, 2 * entries.length + 2 * nodes)
  })
  it('a store that reads a value after a tick gets each its own bytes, though integers are encoded into one buffer', async () => {
    const plain = await MemoryStore.create()
    const want = await rootBySet(plain)
    const late = await MemoryStore.create()
    const save = late.save.bind(late)
    late.save = async (data, codec, options) => {
      await Promise.resolve() // the next value is encoded meanwhile
      return save(data, codec, options)
    }
    const map = await HAMT.create<number>({ store: late })
    await Promise.all(entries.map(([key, value]) => map.set(key, value)))
    assert.deepEqual(await map.flush(), want)
    assert.deepEqual((await HAMT.fromEntries(entries, { store: late })).rootId, want)
    const built = await HAMT.fromEntries<number>(entries, { store: late })
    for (const [key, value] of entries.slice(0, 30)) assert.equal(await built.get(key), value)
  })
})
