// HAMT.nodes(): the public node walk the CLI's stats use. Checked against the store's own blocks.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type ContentAddressedStore,
  HAMT,
  type HAMTNode,
  isHamtError,
  type LoadOptions,
  MemoryStore,
  type StoreId,
} from '../src/index.js'

async function collect(map: HAMT<unknown>, concurrency?: number): Promise<HAMTNode[]> {
  const out: HAMTNode[] = []
  for await (const node of map.nodes({ concurrency })) out.push(node)
  return out
}

async function filledMap(count: number): Promise<{ store: MemoryStore; map: HAMT<number> }> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<number>({ store, maxBucketSize: 1 })
  for (let i = 0; i < count; i++) await map.set(`key-${i}`, i)
  return { store, map }
}

describe('HAMT.nodes', () => {
  it('yields every stored node once, level by level, with its stored size and bucket sizes', async () => {
    const { store, map } = await filledMap(600)
    await map.flush()
    for (const concurrency of [1, 3, undefined]) {
      const nodes = await collect(map, concurrency)
      assert.equal(
        nodes.reduce((sum, node) => sum + node.buckets.reduce((a, b) => a + b, 0), 0),
        600,
      )
      assert.deepEqual(
        nodes.map((node) => node.depth),
        nodes.map((node) => node.depth).sort((a, b) => a - b),
        'level order',
      )
      assert.equal(nodes[0]?.depth, 0)
      assert.ok(nodes.length > 2 && (nodes.at(-1)?.depth ?? 0) >= 1)
      // The links out of one level are the nodes of the next (a canonical tree links each node once).
      const linksAt = (depth: number): number =>
        nodes.filter((n) => n.depth === depth).reduce((sum, n) => sum + n.links, 0)
      for (let depth = 1; depth <= (nodes.at(-1)?.depth ?? 0); depth++) {
        assert.equal(nodes.filter((n) => n.depth === depth).length, linksAt(depth - 1), `depth ${depth}`)
      }
      for (const node of nodes) {
        assert.equal(node.bytes, (await store.load(node.id as StoreId)).length)
      }
    }
  })

  it('leaves the node cache as it was: one scan does not push out what lookups use', async () => {
    const { store, map } = await filledMap(600)
    const opened = await HAMT.open(await map.flush(), { store, readOnly: true })
    const before = await opened.cacheStats()
    const nodes = await collect(opened)
    assert.ok(nodes.length > 100)
    assert.deepEqual(await opened.cacheStats(), before)
    // A node already cached reports the size it was cached with.
    assert.equal(nodes[0]?.bytes, (await store.load(nodes[0]?.id as StoreId)).length)
  })

  it('walks unflushed nodes too (no ID, no size yet) and agrees with size()', async () => {
    const { map } = await filledMap(50)
    const nodes = await collect(map)
    assert.ok(nodes.every((node) => node.id === undefined && node.bytes === undefined))
    const keys = nodes.reduce((sum, node) => sum + node.buckets.reduce((a, b) => a + b, 0), 0)
    assert.equal(keys, await map.size())
  })

  it('a failed load ends the walk with its typed error once every load of its group has settled', async () => {
    const { store, map } = await filledMap(600)
    const root = await map.flush()
    let inFlight = 0
    let calls = 0
    const failing: ContentAddressedStore = {
      save: (data, codec) => store.save(data, codec),
      async load(id: StoreId, options?: LoadOptions) {
        calls++
        if (calls === 4) throw Object.assign(new Error('disk on fire'), { code: 'EIO' })
        inFlight++
        await new Promise((resolve) => setTimeout(resolve, 20))
        inFlight--
        return store.load(id, options)
      },
    }
    const opened = await HAMT.open(root, { store: failing, readOnly: true })
    await assert.rejects(collect(opened, 8), (error: unknown) => {
      assert.ok(isHamtError(error, 'ERR_STORE'), String(error))
      return true
    })
    assert.equal(inFlight, 0, 'no load of the walk outlives it')
  })

  it('checks its concurrency option', async () => {
    const { map } = await filledMap(1)
    await assert.rejects(collect(map, 0), (error: unknown) => isHamtError(error, 'ERR_INVALID_ARGUMENT'))
  })
})
