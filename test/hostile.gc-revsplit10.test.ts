// Outsider attack on MapState.restore beside a collection: a failed setMany used to wind the map's
// write count back, so its collection view's version could repeat a value a collection had already
// seen for other unflushed contents, and the collection skipped asking the map again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { code as dagCborCode } from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core'
import type { CID } from 'multiformats/cid'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, HAMT, ShardedZarrStore } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'
import './helpers/with-resolvers.js'

test('a value set by pointer after a failed setMany survives a collection that began during the setMany', async () => {
  const blockstore = new MemoryBlockstore()
  const store = new BlockstoreStore(blockstore, { writeBufferBytes: 0 })
  // Many keys, one-entry buckets: every root slot links to a child, so most keys' paths need a load.
  const entries = Array.from({ length: 2000 }, (_, i): [string, string] => [`k${i}`, `v${i}`])
  const built = await HAMT.fromEntries(entries, { store, maxBucketSize: 1 })
  const root = built.rootId as CID
  const map = await HAMT.open<string>(root, { store, readOnly: false, maxBucketSize: 1 })
  // A block in the store and in no root, which the map will then hold by pointer only.
  const orphan = (await store.save(new TextEncoder().encode('"held by pointer only"'), 'raw')) as CID

  const get = blockstore.get.bind(blockstore)
  const writeLoad = Promise.withResolvers<void>()
  const writeLoadReached = Promise.withResolvers<void>()
  const gcLoad = Promise.withResolvers<void>()
  const gcLoadReached = Promise.withResolvers<void>()
  let collecting = false
  let heldWrite = false
  let heldGc = false
  blockstore.get = async function* (cid: CID, options?: unknown) {
    // The setMany's first load after its first commit: it fails, so the setMany restores.
    if (!heldWrite && !collecting && map.hasUnflushedChanges) {
      heldWrite = true
      writeLoadReached.resolve()
      await writeLoad.promise
    }
    // The collection's first load (the kept root) waits until the map has changed again.
    if (collecting && !heldGc) {
      heldGc = true
      gcLoadReached.resolve()
      await gcLoad.promise
    }
    yield* get(cid, options as never)
  } as unknown as typeof blockstore.get

  const setMany = map.setMany([
    ['k0', 'new 0'],
    ['k1', 'new 1'],
    ['k2', 'new 2'],
    ['k3', 'new 3'],
  ])
  await writeLoadReached.promise
  // The collection asks the map at its call: it sees the setMany's first change.
  collecting = true
  const collection = collectGarbage(store, { keep: [root] })
  await gcLoadReached.promise
  collecting = false
  writeLoad.reject(new Error('injected load failure'))
  await assert.rejects(setMany)
  assert.equal(await map.get('k0'), 'v0', 'the failed setMany changed nothing')
  await map.setPointer('held', orphan)
  gcLoad.resolve()
  await collection
  assert.equal(await store.hasBlock(orphan), true, 'the block the map holds by pointer was swept')
  const flushed = await HAMT.open<string>(await map.flush(), { store })
  assert.equal(await flushed.getPointer('held').then(String), String(orphan))
})

// The flush's saves were released (`CollectionView.keepingSaves` ended) and its root stored a few
// microtasks before `flush()` returned, and a stored root is in no writer's unflushed set: a collection
// that started in those last ticks (keeping nothing, or another root) swept the root the flush then
// returned. The same for `HAMT.fromEntries`; a sharded store's flush held neither its new shards nor
// its root at all. Now each run's saves are held until a macrotask after it (`SaveHolds`).
interface Writer {
  /** Saves what was written; resolves to the root. */
  flush(): Promise<CID>
  /** Whether the root opens and reads as written. */
  whole(root: CID): Promise<boolean>
}
const writers: Record<string, (store: BlockstoreStore) => Promise<Writer>> = {
  'a HAMT flush': async (store) => {
    const map = await HAMT.create<string>({ store, maxBucketSize: 64 })
    for (let i = 0; i < 5; i++) await map.set(`key ${i}`, `value ${i}`)
    return { flush: async () => (await map.flush()) as CID, whole: (root) => hamtWhole(store, root) }
  },
  'HAMT.fromEntries': async (store) => {
    const entries = Array.from({ length: 5 }, (_, i): [string, string] => [`key ${i}`, `value ${i}`])
    return {
      flush: async () => (await HAMT.fromEntries(entries, { store, maxBucketSize: 64 })).rootId as CID,
      whole: (root) => hamtWhole(store, root),
    }
  },
  'a sharded flush': async (store) => {
    const sharded = await ShardedZarrStore.create({
      store,
      arrayShape: [4, 4],
      chunkShape: [1, 1],
      chunksPerShard: 4,
    })
    for (let i = 0; i < 4; i++) await sharded.set(`a/c/${i}/0`, Uint8Array.of(i, 1, 2))
    const whole = async (root: CID): Promise<boolean> => {
      const reopened = await ShardedZarrStore.open(root, { store })
      for (let i = 0; i < 4; i++) assert.deepEqual(await reopened.get(`a/c/${i}/0`), Uint8Array.of(i, 1, 2))
      return true
    }
    return { flush: () => sharded.flush(), whole: (root) => whole(root).catch(() => false) }
  },
}

async function hamtWhole(store: BlockstoreStore, root: CID): Promise<boolean> {
  try {
    const map = await HAMT.open<string>(root, { store })
    for (let i = 0; i < 5; i++) assert.equal(await map.get(`key ${i}`), `value ${i}`)
    return true
  } catch {
    return false
  }
}

for (const [name, writer] of Object.entries(writers)) {
  test(`a collection started in any microtask before ${name} returns keeps the root it returns`, async () => {
    const lost: number[] = []
    let startedBefore = 0
    for (let ticks = 0; ticks < 80; ticks++) {
      const blockstore = new MemoryBlockstore()
      const store = new BlockstoreStore(blockstore, { writeBufferBytes: 0 })
      const { flush, whole } = await writer(store)
      let collecting: Promise<unknown> | undefined
      let returned = false
      let startedBeforeReturn = false
      const put = blockstore.put.bind(blockstore)
      blockstore.put = async (cid, bytes, options) => {
        const done = await put(cid, bytes, options)
        // Its first node is written: a collection starts `ticks` microtasks later.
        if (cid.code === dagCborCode && collecting === undefined) {
          collecting = (async () => {
            for (let t = 0; t < ticks; t++) await null
            startedBeforeReturn = !returned
            return collectGarbage(store, { keep: [], all: true })
          })()
        }
        return done
      }
      const root = await flush().finally(() => {
        returned = true
      })
      await collecting
      if (!startedBeforeReturn) continue
      startedBefore++
      if (!(await whole(root))) lost.push(ticks)
    }
    // The sweep reaches past the return: some offsets start the collection after it.
    assert.ok(
      startedBefore > 0 && startedBefore < 80,
      `${startedBefore} collections started before the return`,
    )
    assert.deepEqual(
      lost,
      [],
      'collections started these many microtasks after the first node was written broke it',
    )
  })
}

test('random writes with failing blockstore calls, beside collections keeping the last flushed root, lose nothing', async () => {
  const seed = testSeed()
  const random = mulberry32(seed)
  const pick = (n: number): number => Math.floor(random() * n)
  const blockstore = new MemoryBlockstore()
  let failRate = 0
  const get = blockstore.get.bind(blockstore)
  const put = blockstore.put.bind(blockstore)
  blockstore.get = async function* (cid: CID, options?: unknown) {
    if (random() < failRate) throw new Error('injected get failure')
    yield* get(cid, options as never)
  } as unknown as typeof blockstore.get
  blockstore.put = async (cid, bytes, options) => {
    if (random() < failRate) throw new Error('injected put failure')
    return put(cid, bytes, options)
  }
  const store = new BlockstoreStore(blockstore, { writeBufferBytes: 0 })
  const map = await HAMT.create<string>({ store, maxBucketSize: 1, cacheBytes: 1 })
  const model = new Map<string, string>()
  let kept = (await map.flush()) as CID
  for (let step = 0; step < 80; step++) {
    const where = `seed ${seed} step ${step}`
    failRate = random() < 0.5 ? 0.15 : 0
    const collection = random() < 0.3 ? collectGarbage(store, { keep: [kept] }).catch(() => {}) : undefined
    const k = `k${pick(20)}`
    const v = `${seed} ${step} ${random()}`
    const kind = pick(4)
    if (kind === 0)
      await map.set(k, v).then(
        () => model.set(k, v),
        () => {},
      )
    else if (kind === 1)
      await map
        .setMany([
          [k, v],
          [`${k}z`, `${v}z`],
        ])
        .then(
          () => model.set(k, v).set(`${k}z`, `${v}z`),
          () => {},
        )
    else if (kind === 2 && model.has(k))
      await map.delete(k).then(
        () => model.delete(k),
        () => {},
      )
    else
      await map.flush().then(
        (root) => {
          kept = root as CID
        },
        () => {},
      )
    failRate = 0
    await collection
    for (const [key, value] of model) assert.equal(await map.get(key), value, `${where}: ${key}`)
  }
  failRate = 0
  await collectGarbage(store, { keep: [kept] })
  const reopened = await HAMT.open<string>(await map.flush(), { store })
  assert.equal(await reopened.size(), model.size, seed.toString())
  for (const [key, value] of model) assert.equal(await reopened.get(key), value, `seed ${seed}: ${key}`)
})

test('a set called while enableWrite is queued has its value kept by a collection before its turn', async () => {
  const blockstore = new MemoryBlockstore()
  const store = new BlockstoreStore(blockstore, { writeBufferBytes: 0 })
  const root = (await HAMT.fromEntries([['a', 'b']], { store })).rootId as CID
  const map = await HAMT.open<string>(root, { store })
  // A makeReadOnly whose store flush waits holds the lock: enableWrite queues behind it, the set too.
  const flushing = Promise.withResolvers<void>()
  const flush = store.flush.bind(store)
  let held = false
  store.flush = async (options) => {
    if (!held) {
      held = true
      await flushing.promise
    }
    return flush(options)
  }
  const put = blockstore.put.bind(blockstore)
  const valuePut = Promise.withResolvers<void>()
  blockstore.put = async (cid, bytes, options) => {
    const done = await put(cid, bytes, options)
    valuePut.resolve()
    return done
  }
  const readOnly = map.makeReadOnly()
  const enabling = map.enableWrite()
  const setting = map.set('new', 'a value only this set holds')
  await valuePut.promise
  // The set's value is written, its turn not come: a collection now must keep it.
  await collectGarbage(store, { keep: [root] })
  flushing.resolve()
  await Promise.all([readOnly, enabling, setting])
  store.flush = flush
  assert.equal(await map.get('new'), 'a value only this set holds')
})
