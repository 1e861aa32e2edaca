// A store that copies at its save call (MemoryStore) gets flushed nodes as views into the encoder's
// one scratch buffer, not an array each: at 1M keys those arrays' external memory started two full
// garbage collections of the whole tree during a flush. A store that holds the bytes past the call,
// even one carrying MemoryStore's mark, must still get bytes of its own.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { copiesAtSave, copyAtSave } from '../src/cas/copy-at-save.js'
import {
  type AbortOptions,
  type Codec,
  type ContentAddressedStore,
  HAMT,
  MemoryStore,
  type StoreId,
} from '../src/index.js'

const KEYS = 3000

async function fill(map: HAMT<number>): Promise<void> {
  for (let i = 0; i < KEYS; i++) await map.set(`key-${i}`, i)
}

describe('flush into a store that copies at save', () => {
  it('MemoryStore is marked; a wrapper that overrides save is not, whatever it copies', async () => {
    const store = await MemoryStore.create()
    assert.equal(copiesAtSave(store), true)
    const wrapper = {
      [copyAtSave]: (store as unknown as { [copyAtSave]: unknown })[copyAtSave],
      save: (data: Uint8Array, codec: Codec, options?: AbortOptions) => store.save(data, codec, options),
      load: (id: StoreId) => store.load(id),
    }
    assert.equal(copiesAtSave(wrapper as unknown as ContentAddressedStore), false)
  })

  it('hands MemoryStore every node in one reused buffer, not an array per node', async (t) => {
    const store = await MemoryStore.create()
    const buffers = new Set<ArrayBufferLike>()
    let nodes = 0
    const save = MemoryStore.prototype.save
    t.mock.method(
      MemoryStore.prototype,
      'save',
      function (this: MemoryStore, ...args: Parameters<typeof save>) {
        if (args[1] === 'dag-cbor') {
          nodes++
          buffers.add(args[0].buffer)
        }
        return save.apply(this, args)
      },
    )
    const map = await HAMT.create<number>({ store })
    await fill(map)
    await map.flush()
    const bulk = await HAMT.fromEntries<number>(
      Array.from({ length: KEYS }, (_, i) => [`bulk-${i}`, i] as const),
      { store },
    )
    assert.ok(bulk.rootId)
    assert.ok(nodes > 20, `${nodes} nodes saved`)
    // The writer's buffer grows at most a few times (a root of 256 links is ~9.5 KB).
    assert.ok(buffers.size <= 3, `${nodes} nodes came in ${buffers.size} buffers`)
  })

  it('a store that holds the bytes across an await gets stable bytes: same root, same blocks', async () => {
    const plain = await MemoryStore.create()
    const plainMap = await HAMT.create<number>({ store: plain })
    await fill(plainMap)
    const want = await plainMap.flush()

    const inner = await MemoryStore.create()
    // Carries MemoryStore's mark but saves a tick later: the bytes must still be the node's.
    const slow = {
      [copyAtSave]: (inner as unknown as { [copyAtSave]: unknown })[copyAtSave],
      async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
        await new Promise((resolve) => setImmediate(resolve))
        return inner.save(data, codec, options)
      },
      load: (id: StoreId) => inner.load(id),
    } as unknown as ContentAddressedStore
    const map = await HAMT.create<number>({ store: slow })
    await fill(map)
    assert.deepEqual(await map.flush(), want)
    const bulk = await HAMT.fromEntries<number>(
      Array.from({ length: KEYS }, (_, i) => [`key-${i}`, i] as const),
      { store: slow },
    )
    assert.deepEqual(bulk.rootId, want)
    const reopened = await HAMT.open<number>(want, { store: inner })
    for (let i = 0; i < KEYS; i += 7) assert.equal(await reopened.get(`key-${i}`), i)
    assert.deepEqual((await reopened.verify()).problems, [])
  })
})
