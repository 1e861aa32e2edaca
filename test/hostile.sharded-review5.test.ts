// Review 5 of the sharded store: a writable store's `list()` streams (a shard at a time, as the
// reader's does) instead of collecting every key first, and still lists the store as it was when
// the listing began: writes called after it, a flush, a resize are not seen, whatever their order.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, v3Array } from './helpers/sharded.js'

const seed = testSeed()

/** A flushed v2 store with one array `a` of `side`×`side` 1×1 chunks, `perShard` a shard, every chunk set. */
async function filled(
  side: number,
  perShard: number,
): Promise<{ inner: CidMemoryStore; root: Awaited<ReturnType<ShardedZarrStore['flush']>> }> {
  const inner = await CidMemoryStore.create()
  const writer = await ShardedZarrStore.create({ store: inner, chunksPerShard: perShard })
  await writer.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
  await writer.set('g/a/zarr.json', v3Array([side, side], [1, 1]))
  const chunk = await inner.save(bytes(1), 'raw')
  for (let i = 0; i < side; i++)
    for (let j = 0; j < side; j++) await writer.setPointer(`g/a/c/${i}/${j}`, chunk)
  return { inner, root: await writer.flush() }
}

describe('a writable ShardedZarrStore lists as it streams', () => {
  it('the first chunk key comes after one shard load, not after all of them', async () => {
    const { inner, root } = await filled(20, 10) // 40 shards
    const counted = new InstrumentedStore(inner)
    const store = await ShardedZarrStore.open(root, { store: counted, readOnly: false })
    const loadsBefore = counted.loads
    const keys = store.list()[Symbol.asyncIterator]()
    let key = (await keys.next()).value as string
    while (!key.includes('/c/')) key = (await keys.next()).value as string
    assert.ok(
      counted.loads - loadsBefore <= 1,
      `${counted.loads - loadsBefore} shard loads before the first chunk key`,
    )
    await keys.return?.(undefined)
  })

  it('writes, deletes, a flush and a resize called during the listing are not seen (generated)', async () => {
    const random = mulberry32(seed)
    for (let run = 0; run < 20; run++) {
      const side = 4 + Math.floor(random() * 5)
      const { inner, root } = await filled(side, 1 + Math.floor(random() * 5))
      const store = await ShardedZarrStore.open(root, { store: inner, readOnly: false })
      let shape = [side, side]
      const keyAt = (): string =>
        `g/a/c/${Math.floor(random() * (shape[0] as number))}/${Math.floor(random() * (shape[1] as number))}`
      // Unflushed changes before the listing: some shards dirty, some clean.
      for (let i = 0; i < 5; i++) {
        if (random() < 0.5) await store.delete(keyAt())
        else await store.set(keyAt(), bytes(2))
      }
      const expected: string[] = []
      for await (const key of store.list()) expected.push(key)
      const listed: string[] = []
      for await (const key of store.list()) {
        listed.push(key)
        // Changes called while the listing runs, awaited before the next key is asked for.
        const pick = random()
        if (pick < 0.4) await store.set(keyAt(), bytes(3))
        else if (pick < 0.8) await store.delete(keyAt())
        else if (pick < 0.9) await store.flush()
        else {
          shape = [side - 1, side + 1]
          await store.set('g/a/zarr.json', v3Array(shape, [1, 1]))
        }
      }
      assert.deepEqual(listed, expected, `seed ${seed} run ${run}`)
    }
  })
})
