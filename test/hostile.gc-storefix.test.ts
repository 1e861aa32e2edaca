// Garbage collection beside writes under way: an import or a HAMT flush that wrote some blocks
// (a small write buffer) before a collection began, and finishes after it swept. The finished
// root must be whole: never a root with children gone.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import type { CID } from 'multiformats/cid'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import {
  BlockstoreStore,
  HAMT,
  importCar,
  MemoryStore,
  ShardedZarrStore,
  type StoreId,
} from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type Block, carOf, cborBlock, rawBlock } from './helpers/car-blocks.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, v3Array } from './helpers/sharded.js'
import './helpers/with-resolvers.js'

await loadBlake3()
const seed = testSeed()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-storefix-'))
after(() => rm(scratch, { recursive: true, force: true }))

type Target = { name: string; open: () => Promise<BlockstoreStore> }
const targets: Target[] = [
  {
    name: 'DiskStore',
    open: () => DiskStore.open(join(scratch, `disk-${Math.random()}`), { writeBufferBytes: 0 }),
  },
  {
    name: 'BlockstoreStore',
    open: async () => new BlockstoreStore(new MemoryBlockstore(), { writeBufferBytes: 0 }),
  },
]

/**
 * Runs `write` with `store.load` held at a gate from its first load (every block it saved is written
 * by then: no buffer), collects keeping only `root` meanwhile, then lets the write finish.
 */
async function collectWhileLoadsWait(
  store: BlockstoreStore,
  root: StoreId,
  write: () => Promise<void>,
): Promise<void> {
  const gate = Promise.withResolvers<void>()
  const loading = Promise.withResolvers<void>()
  const load = store.load.bind(store)
  store.load = async (id, options) => {
    loading.resolve()
    await gate.promise
    return load(id, options)
  }
  const writing = write()
  await loading.promise
  assert.equal(store.bufferedBytes, 0)
  await collectGarbage(store, { keep: [root] })
  gate.resolve()
  await writing
}

/** A CAR of children first and their parent (the root) last, as a stream that waits at `gate` before the root. */
async function childrenFirstCar(
  n: number,
): Promise<{ root: CID; children: Block[]; head: Uint8Array; tail: Uint8Array }> {
  const random = mulberry32(seed)
  const children: Block[] = []
  for (let i = 0; i < n; i++) children.push(await rawBlock(`child ${i} of ${seed} ${random()}`))
  const root = await cborBlock({ children: children.map((child) => child.cid) })
  const car = await carOf([root.cid], [...children, root])
  // The root's section is the CAR's last: its length (a varint), CID and bytes.
  const length = root.cid.bytes.length + root.bytes.length
  assert.ok(length < 1 << 14)
  const rootSection = (length < 128 ? 1 : 2) + length
  return { root: root.cid, children, head: car.subarray(0, -rootSection), tail: car.subarray(-rootSection) }
}

for (const target of targets) {
  describe(`collectGarbage on a ${target.name} while an importCar is under way`, () => {
    it('blocks the import wrote before the collection began stay: the root it returns is whole', async () => {
      const store = await target.open()
      const { root, children, head, tail } = await childrenFirstCar(12)
      const gate = Promise.withResolvers<void>()
      const sentHead = Promise.withResolvers<void>()
      async function* stream(): AsyncIterable<Uint8Array> {
        yield head
        sentHead.resolve()
        await gate.promise
        yield tail
      }
      let putChildren = Promise.withResolvers<void>()
      const importing = importCar(store, stream(), {
        onProgress: ({ blocks }) => {
          if (blocks === children.length) putChildren.resolve()
        },
      }).catch((error: unknown) => error)
      await sentHead.promise
      await putChildren.promise
      putChildren = Promise.withResolvers<void>()
      // Every child is written (no buffer): in no root yet, and the import has not finished.
      assert.equal(store.bufferedBytes, 0)
      await collectGarbage(store, { keep: [], all: true })
      gate.resolve()
      const outcome = await importing
      assert.ok(!(outcome instanceof Error), `the import failed: ${outcome}`)
      assert.deepEqual((outcome as { roots: CID[] }).roots, [root])
      for (const child of children) {
        assert.equal(await store.hasBlock(child.cid), true, `the imported root's child ${child.cid} is gone`)
      }
    })
  })

  for (const mode of ['flush', 'fromEntries'] as const) {
    describe(`collectGarbage on a ${target.name} while a HAMT ${mode} is under way`, () => {
      it('values and nodes written before the collection began stay: the root returned is whole', async () => {
        // 120 keys in one-entry buckets: about 28 pairs share a root slot, so the tree has more than 2 nodes
        // for every seed (60 keys left only 2 nodes for ~1% of seeds, e.g. TS_HAMT_SEED=1348618492).
        const keys = Array.from({ length: 120 }, (_, i) => `key ${i} ${seed}`)
        // How many nodes the flush saves (the root last), counted on a memory store.
        const counting = await HAMT.create<string>({ store: await MemoryStore.create(), maxBucketSize: 1 })
        for (const key of keys) await counting.set(key, key)
        let nodes = 0
        const memory = counting.store as MemoryStore
        const memorySave = memory.save.bind(memory)
        memory.save = (data, codec, options) => {
          if (codec === 'dag-cbor') nodes++
          return memorySave(data, codec, options)
        }
        await counting.flush()
        assert.ok(nodes > 2, `${nodes} nodes`)

        const store = await target.open()
        const map = mode === 'flush' ? await HAMT.create<string>({ store, maxBucketSize: 1 }) : undefined
        for (const key of keys) await map?.set(key, key)
        // The write waits before it saves the root: every value and other node is written by then.
        const gate = Promise.withResolvers<void>()
        const atRoot = Promise.withResolvers<void>()
        let saves = 0
        const save = store.save.bind(store)
        store.save = async (data, codec, options) => {
          if (codec === 'dag-cbor' && ++saves === nodes) {
            atRoot.resolve()
            await gate.promise
          }
          return save(data, codec, options)
        }
        const writing = (
          map === undefined
            ? HAMT.fromEntries<string>(
                keys.map((key) => [key, key]),
                { store, maxBucketSize: 1 },
              ).then((built) => built.rootId)
            : map.flush()
        ).catch((error: unknown) => error)
        await atRoot.promise
        await collectGarbage(store, { keep: [], all: true })
        gate.resolve()
        const root = await writing
        assert.ok(!(root instanceof Error), `the ${mode} failed: ${root}`)
        const again = await HAMT.open<string>(root as CID, { store })
        for (const key of keys) assert.equal(await again.get(key), key)
      })
    })
  }
}

describe('collectGarbage between two flushes of a writable ShardedZarrStore being listed', () => {
  it('the listing reads the shards it began with: they stay while it runs', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    const side = 6
    const sharded = await ShardedZarrStore.create({ store, chunksPerShard: 2, cacheBytes: 0 })
    await sharded.set('a/zarr.json', v3Array([side, side], [1, 1]))
    const chunk = await store.save(bytes(1 + (seed % 7)), 'raw')
    const keys = new Set(['zarr.json', 'a/zarr.json'])
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        await sharded.setPointer(`a/c/${i}/${j}`, chunk)
        keys.add(`a/c/${i}/${j}`)
      }
    }
    // Reopened with no cache: the listing loads each shard block by its CID when it reaches it.
    const root = await sharded.flush()
    const writer = await ShardedZarrStore.open(root, { store, readOnly: false, cacheBytes: 0 })
    const listing = writer.list()
    const listed = new Set<string>()
    while (listed.size < 3) listed.add((await listing.next()).value as string)
    // Every chunk deleted (all shards change), flushed, and only the new root kept.
    for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) await writer.delete(`a/c/${i}/${j}`)
    const emptied = await writer.flush()
    await collectGarbage(store, { keep: [emptied] })
    for await (const key of listing) listed.add(key)
    assert.deepEqual([...listed].sort(), [...keys].sort())
  })
})

describe('collectGarbage through one DiskStore while another store on the same directory writes', () => {
  it('the other store’s unflushed values (on disk already) stay: its later flush gives a whole root', async () => {
    const directory = join(scratch, `two-stores-${seed}`)
    const collecting = await DiskStore.open(directory)
    const writing = await DiskStore.open(directory, { writeBufferBytes: 0 })
    const map = await HAMT.create<string>({ store: writing })
    const keys = Array.from({ length: 20 }, (_, i) => `two stores ${i} ${seed}`)
    for (const key of keys) await map.set(key, key.repeat(3))
    assert.equal(writing.bufferedBytes, 0)
    await collectGarbage(collecting, { keep: [], all: true })
    const root = await map.flush()
    const again = await HAMT.open<string>(root, { store: await DiskStore.open(directory) })
    for (const key of keys) assert.equal(await again.get(key), key.repeat(3))
  })
})

describe('collectGarbage while a HAMT set waits for its turn (its value already written)', () => {
  it('the value stays: the set commits and the flushed root is whole', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore(), { writeBufferBytes: 0 })
    const first = await HAMT.create<string>({ store })
    await first.set(`base ${seed}`, 'base')
    const root = await first.flush()
    const map = await HAMT.open<string>(root, { store, readOnly: false, cacheBytes: 0 })
    // The set's path loads wait: its value is saved and written, its pointer in no node yet.
    const value = `in flight ${seed}`.repeat(20)
    await collectWhileLoadsWait(store, root, () => map.set('late', value))
    const again = await HAMT.open<string>(await map.flush(), { store })
    assert.equal(await again.get('late'), value)
  })
})

describe('collectGarbage while a ShardedZarrStore chunk write waits for its shard (its chunk already written)', () => {
  it('the chunk stays: the write lands and the flushed root is whole', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore(), { writeBufferBytes: 0 })
    const first = await ShardedZarrStore.create({ store, chunksPerShard: 4 })
    await first.set('a/zarr.json', v3Array([4, 4], [1, 1]))
    await first.set('a/c/0/0', bytes(seed % 5))
    const root = await first.flush()
    const sharded = await ShardedZarrStore.open(root, { store, readOnly: false, cacheBytes: 0 })
    // The write's shard load waits: its chunk is saved and written, in no shard yet.
    const chunk = bytes(7 + (seed % 3))
    await collectWhileLoadsWait(store, root, () => sharded.set('a/c/0/1', chunk))
    const again = await ShardedZarrStore.open(await sharded.flush(), { store })
    assert.deepEqual(await again.get('a/c/0/1'), chunk)
  })
})
