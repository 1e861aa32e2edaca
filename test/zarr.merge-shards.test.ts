// A sharded merge settles a shard only one writer changed as a whole shard (its chunks never held):
// generated writers of disjoint chunks, with sets and deletes, shards shared or not, merged in either
// order, give exactly the root of one writer making both change sets.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mergeZarrRoots, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, v3Array } from './helpers/sharded.js'

const seed = testSeed()

type Write = [key: string, value: number | string | undefined]

describe('sharded merge of writers of disjoint chunks (generated)', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`${version}: either order gives the one-writer root`, async () => {
      const random = mulberry32(seed + (version === 'v1' ? 0 : 1))
      const int = (n: number): number => Math.floor(random() * n)
      for (let run = 0; run < 30; run++) {
        const cas = await CidMemoryStore.create()
        const [rows, cols, perShard] = [2 + int(5), 1 + int(4), 1 + int(5)]
        const store =
          version === 'v1'
            ? await ShardedZarrStore.create({
                store: cas,
                arrayShape: [rows, cols],
                chunkShape: [1, 1],
                chunksPerShard: perShard,
              })
            : await ShardedZarrStore.create({ store: cas, chunksPerShard: perShard })
        const path = version === 'v1' ? 'a' : 'g/a'
        if (version === 'v2') await store.set(`${path}/zarr.json`, v3Array([rows, cols], [1, 1]))
        const keys = Array.from(
          { length: rows * cols },
          (_, i) => `${path}/c/${Math.floor(i / cols)}/${i % cols}`,
        )
        for (const key of keys) if (random() < 0.5) await store.set(key, bytes(int(4)))
        const base = await store.flush()
        // Each chunk is one writer's at most; a writer sets (often a value another chunk has) or deletes.
        const writes: { a: Write[]; b: Write[] } = { a: [], b: [] }
        for (const key of keys) {
          const owner = random()
          if (owner < 0.6) writes[owner < 0.3 ? 'a' : 'b'].push([key, random() < 0.25 ? undefined : int(4)])
        }
        const write = async (list: Write[], from = base) => {
          const writer = await ShardedZarrStore.open(from, { store: cas, readOnly: false })
          for (const [key, value] of list)
            await (value === undefined
              ? writer.delete(key)
              : writer.set(key, typeof value === 'string' ? new TextEncoder().encode(value) : bytes(value)))
          return writer.flush()
        }
        // Sometimes a writer also retitles the array: same encoding, so no refusal.
        if (version === 'v2' && random() < 0.4) {
          const document = JSON.stringify({
            ...JSON.parse(new TextDecoder().decode(v3Array([rows, cols], [1, 1]))),
            attributes: { t: 1 },
          })
          writes[random() < 0.5 ? 'a' : 'b'].push([`${path}/zarr.json`, document])
        }
        const [a, b] = [await write(writes.a), await write(writes.b)]
        const single = await write([...writes.a, ...writes.b])
        const context = `seed ${seed} run ${run}: ${rows}x${cols}, ${perShard} a shard, ${JSON.stringify(writes)}`
        assert.equal(String(await mergeZarrRoots(base, a, b, { store: cas })), String(single), context)
        assert.equal(String(await mergeZarrRoots(base, b, a, { store: cas })), String(single), context)
      }
    })
  }
})
