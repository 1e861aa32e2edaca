// An outsider's review of the writable ShardedZarrStore's streaming list(): writes, deletes, flushes
// and resizes called while it runs and *not awaited* (so they race the listing's shard loads), over a
// cache too small to hold a shard, compared with a model of the keys (a Set changed in call order).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, v3Array } from './helpers/sharded.js'

const seed = testSeed()

describe('a writable ShardedZarrStore listed while unawaited changes race it', () => {
  it('lists the keys at its start, and the changes all land in call order (generated)', async () => {
    const random = mulberry32(seed)
    for (let run = 0; run < 12; run++) {
      const side = 4 + Math.floor(random() * 5)
      const perShard = 1 + Math.floor(random() * 5)
      const inner = await CidMemoryStore.create()
      const writer = await ShardedZarrStore.create({ store: inner, chunksPerShard: perShard })
      const model = new Set<string>(['zarr.json', 'g/zarr.json', 'g/a/zarr.json']) // the root group the store writes
      await writer.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
      await writer.set('g/a/zarr.json', v3Array([side, side], [1, 1]))
      const chunk = await inner.save(bytes(1), 'raw')
      for (let i = 0; i < side; i++) {
        for (let j = 0; j < side; j++) {
          if (random() < 0.3) continue
          await writer.setPointer(`g/a/c/${i}/${j}`, chunk)
          model.add(`g/a/c/${i}/${j}`)
        }
      }
      const root = await writer.flush()
      // A cache of 0 bytes: every shard the listing reads is loaded, and loads race the writes.
      const store = await ShardedZarrStore.open(root, { store: inner, readOnly: false, cacheBytes: 0 })
      let shape = [side, side]
      const keyAt = (): string =>
        `g/a/c/${Math.floor(random() * (shape[0] as number))}/${Math.floor(random() * (shape[1] as number))}`
      const change = (): Promise<unknown> => {
        const pick = random()
        if (pick < 0.4) {
          const key = keyAt()
          model.add(key)
          return store.set(key, bytes(3))
        }
        if (pick < 0.8) {
          const key = keyAt()
          model.delete(key)
          return store.delete(key)
        }
        if (pick < 0.9) return store.flush()
        shape = shape[0] === side ? [side - 1, side + 1] : [side, side]
        for (const key of [...model]) {
          const [i, j] = key.split('/').slice(3).map(Number)
          if (
            key.includes('/c/') &&
            ((i as number) >= (shape[0] as number) || (j as number) >= (shape[1] as number))
          )
            model.delete(key)
        }
        return store.set('g/a/zarr.json', v3Array(shape, [1, 1]))
      }
      // Changes before the listing, not awaited: the listing still sees them (call order).
      const pending: Promise<unknown>[] = []
      for (let i = 0; i < 6; i++) pending.push(change())
      const expected = [...model].sort()
      const listed: string[] = []
      for await (const key of store.list()) {
        listed.push(key)
        for (let i = Math.floor(random() * 3); i > 0; i--) pending.push(change())
      }
      await Promise.all(pending)
      assert.deepEqual(listed.sort(), expected, `seed ${seed} run ${run}: the listing`)
      const after: string[] = []
      for await (const key of store.list()) after.push(key)
      assert.deepEqual(
        after.sort(),
        [...model].sort(),
        `seed ${seed} run ${run}: the store after the changes`,
      )
    }
  })
})
