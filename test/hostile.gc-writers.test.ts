// Garbage collection beside open writers: maps on one DiskStore set, delete and flush at random
// while collections keep only each map's last flushed root; every map's unflushed values must
// survive (they may already be on disk, written when the buffer filled or at another map's flush).
// Replay a run with TS_HAMT_SEED=<seed printed>.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { HAMT, ShardedZarrStore, type StoreId } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { reachable } from './helpers/gc-store.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-writers-'))
after(() => rm(scratch, { recursive: true, force: true }))

type Writer = { map: HAMT<string>; model: Map<string, string>; root: StoreId; flushed: Map<string, string> }

describe('collectGarbage beside several writers on one DiskStore', () => {
  it('random sets, deletes, flushes, reopens and collections keeping the last flushed roots lose nothing', async () => {
    const seed = testSeed()
    const next = mulberry32(seed)
    const pick = (n: number): number => Math.floor(next() * n)
    // A small buffer: values go to disk while their maps still hold them unflushed.
    const store = await DiskStore.open(join(scratch, `run-${seed}`), { writeBufferBytes: 2048 })
    const writers: Writer[] = []
    for (let i = 0; i < 4; i++) {
      const map = await HAMT.create<string>({ store })
      writers.push({ map, model: new Map(), root: await map.flush(), flushed: new Map() })
    }
    const step = async (w: Writer, op: number): Promise<void> => {
      const key = `k${pick(80)}`
      if (op < 0.55) {
        const value = `${seed}/${op}/`.padEnd(20 + pick(300), String.fromCharCode(97 + pick(26)))
        await w.map.set(key, value)
        w.model.set(key, value)
      } else if (op < 0.75) {
        if (w.model.has(key)) {
          await w.map.delete(key)
          w.model.delete(key)
        }
      } else if (op < 0.9) {
        w.root = await w.map.flush()
        w.flushed = new Map(w.model)
      } else {
        // Unflushed changes dropped: a writer opened from some map's last flushed root.
        const from = writers[pick(writers.length)] as Writer
        w.map = await HAMT.open<string>(from.root, { store, readOnly: false })
        w.model = new Map(from.flushed)
        w.root = from.root
        w.flushed = new Map(from.flushed)
      }
    }
    for (let round = 0; round < 300; round++) {
      const w = writers[pick(writers.length)] as Writer
      if (next() < 0.06) {
        const keep = writers.map((x) => CID.asCID(x.root) as CID)
        let began: () => void = () => {}
        const marking = new Promise<void>((resolve) => {
          began = resolve
        })
        const collecting = collectGarbage(store, { keep, onProgress: () => began() })
        // Some writes while it runs (once it holds the store: a write at its start refuses it).
        await Promise.race([marking, collecting])
        for (let i = pick(4); i > 0; i--) await step(writers[pick(writers.length)] as Writer, next() * 0.9)
        await collecting
      } else await step(w, next())
    }
    for (const w of writers) {
      const root = await w.map.flush()
      // Every block under the root is there and matches its CID.
      await reachable(store, [CID.asCID(root) as CID])
      const reopened = await HAMT.open<string>(root, { store })
      const entries = new Map<string, string>()
      for await (const [key, value] of reopened.entries()) entries.set(key, value)
      assert.deepEqual(entries, w.model, `seed ${seed}`)
    }
  })
})

describe('collectGarbage beside a map made writable again', () => {
  it('values set after enableWrite on a read-only map, written when the buffer filled, survive a collection', async () => {
    const store = await DiskStore.open(join(scratch, 'enable-write'), { writeBufferBytes: 4096 })
    const first = await HAMT.create<string>({ store })
    await first.set('a', 'one')
    const base = await first.flush()
    const map = await HAMT.open<string>(base, { store })
    await map.enableWrite()
    for (let i = 0; i < 40; i++) await map.set(`k${i}`, `${i}`.padEnd(200, '.'))
    await collectGarbage(store, { keep: [CID.asCID(base) as CID] })
    const reopened = await HAMT.open<string>(await map.flush(), { store })
    for (let i = 0; i < 40; i++) assert.equal(await reopened.get(`k${i}`), `${i}`.padEnd(200, '.'))
  })
})

describe('collectGarbage beside a sharded Zarr writer', () => {
  it('chunks set from a kept root, written when the buffer filled but in no flushed shard, survive a collection', async () => {
    const store = await DiskStore.open(join(scratch, 'sharded'), { writeBufferBytes: 4096 })
    const create = await ShardedZarrStore.create({
      store,
      arrayShape: [8, 8],
      chunkShape: [1, 1],
      chunksPerShard: 4,
    })
    await create.set('a/c/0/0', new Uint8Array(10).fill(1))
    const base = await create.flush()
    const writer = await ShardedZarrStore.open(base, { store, readOnly: false })
    const chunk = (i: number, j: number): Uint8Array => new Uint8Array(200).fill(i * 8 + j)
    for (let i = 0; i < 8; i++) for (let j = 0; j < 5; j++) await writer.set(`a/c/${i}/${j}`, chunk(i, j))
    await collectGarbage(store, { keep: [base] })
    const reopened = await ShardedZarrStore.open(await writer.flush(), { store })
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 5; j++)
        assert.deepEqual(await reopened.get(`a/c/${i}/${j}`), chunk(i, j), `a/c/${i}/${j}`)
  })
})
