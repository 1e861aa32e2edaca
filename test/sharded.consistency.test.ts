// ShardedZarrStore: updates that change nothing leave the root, a shared shard load survives its
// first caller's abort, a failed flush leaves the store as it was, and writes apply in call order.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type AbortOptions,
  type Codec,
  type ContentAddressedStore,
  type LoadOptions,
  ShardedZarrStore,
  type StoreId,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { atEveryStoreCall, FaultStore } from './helpers/fault-injection.js'
import { bytes, newV1, v3Array } from './helpers/sharded.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A real in-memory CID store whose calls can be slowed or failed per call, and which counts saves under way. */
class LatencyStore implements ContentAddressedStore {
  readonly inner: CidMemoryStore
  saveDelay: (data: Uint8Array, codec: Codec) => number = () => 0
  loadDelay: () => number = () => 0
  failSave: (data: Uint8Array, codec: Codec) => boolean = () => false
  savesUnderWay = 0

  constructor(inner: CidMemoryStore) {
    this.inner = inner
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    this.savesUnderWay++
    try {
      await sleep(this.saveDelay(data, codec))
      if (this.failSave(data, codec)) throw new Error('injected save failure')
      return await this.inner.save(data, codec, options)
    } finally {
      this.savesUnderWay--
    }
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    const delay = this.loadDelay()
    if (delay > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delay)
        options?.signal?.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(options.signal?.reason)
        })
      })
    }
    return this.inner.load(id, options)
  }
}

describe('updates that change nothing leave the root as it was (as py-hamt 3.6.0)', () => {
  it('deleting chunks of shards never written keeps them null and the root unchanged', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    await store.set('a/c/0/0', bytes(1))
    const before = await store.flush()
    // Shard 0 holds a/c/0/0; a/c/3/3 (shard 5) and a/c/1/2 (shard 1) were never written.
    await store.delete('a/c/3/3')
    await store.delete('a/c/1/2')
    assert.equal(store.hasUnflushedChanges, false)
    assert.equal(store.cacheStats().dirty, 0)
    assert.equal((await store.flush()).toString(), before.toString())
  })

  it('setting a chunk to the CID it has, or deleting an absent chunk of a written shard, dirties nothing', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    await store.set('a/c/0/0', bytes(1))
    const before = await store.flush()
    await store.set('a/c/0/0', bytes(1))
    await store.delete('a/c/0/1')
    assert.equal(store.cacheStats().dirty, 0)
    assert.equal((await store.flush()).toString(), before.toString())
  })

  it('a shard written and emptied again is saved and linked, as py-hamt does', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    const empty = await store.flush()
    await store.set('a/c/3/3', bytes(1))
    await store.delete('a/c/3/3')
    assert.notEqual((await store.flush()).toString(), empty.toString())
  })
})

describe('a shard load shared by concurrent readers', () => {
  it('survives the abort of the caller that started it', async () => {
    const cas = new LatencyStore(await CidMemoryStore.create())
    const writer = await newV1(cas)
    await writer.set('a/c/0/0', bytes(7))
    const root = await writer.flush()
    const reader = await ShardedZarrStore.open(root, { store: cas })
    cas.loadDelay = () => 30
    const first = new AbortController()
    const aborted = reader.get('a/c/0/0', { signal: first.signal })
    const joined = reader.get('a/c/0/1', { signal: new AbortController().signal })
    const plain = reader.get('a/c/0/0')
    await sleep(5)
    first.abort(new DOMException('stop', 'AbortError'))
    await assert.rejects(aborted, { name: 'AbortError' })
    assert.equal(await joined, undefined)
    assert.deepEqual(await plain, bytes(7))
  })
})

describe('a failed flush', () => {
  it('waits for the saves under way and leaves the store as it was; a retry gives the root of an unfailed run', async () => {
    const cas = new LatencyStore(await CidMemoryStore.create())
    const store = await newV1(cas)
    const writes: [string, Uint8Array][] = [
      ['a/c/0/0', bytes(1)],
      ['a/c/1/1', bytes(2)],
      ['a/c/2/2', bytes(3)],
      ['a/c/3/3', bytes(4)],
    ]
    for (const [key, value] of writes) await store.set(key, value)
    const dirty = store.cacheStats().dirty
    assert.equal(dirty, 4)
    // The first shard saved fails at once; the others take a while.
    let shardSaves = 0
    cas.saveDelay = (_, codec) => (codec === 'dag-cbor' ? 40 : 0)
    cas.failSave = (_, codec) => codec === 'dag-cbor' && ++shardSaves === 1
    await assert.rejects(store.flush(), /injected save failure/)
    assert.equal(cas.savesUnderWay, 0, 'no save of the failed flush runs on after it rejected')
    await sleep(100)
    assert.equal(store.cacheStats().dirty, dirty)
    assert.equal(store.hasUnflushedChanges, true)
    assert.throws(() => store.rootId, { code: 'ERR_UNFLUSHED_CHANGES' })

    cas.failSave = () => false
    const retried = await store.flush()
    const control = await newV1(await CidMemoryStore.create())
    for (const [key, value] of writes) await control.set(key, value)
    assert.equal(retried.toString(), (await control.flush()).toString())
    const reopened = await ShardedZarrStore.open(retried, { store: cas })
    for (const [key, value] of writes) assert.deepEqual(await reopened.get(key), value)
  })

  it('a failed root save leaves the shard table as it was', async () => {
    const cas = new LatencyStore(await CidMemoryStore.create())
    const store = await newV1(cas)
    await store.set('a/c/0/0', bytes(1))
    const first = await store.flush()
    await store.set('a/c/3/3', bytes(2))
    // Shard 5 saves, then the root save fails: shard 5 must stay unflushed and unlinked.
    cas.failSave = (data, codec) => codec === 'dag-cbor' && data[0] !== 0x83
    await assert.rejects(store.flush(), /injected save failure/)
    assert.equal(store.cacheStats().dirty, 1)
    cas.failSave = () => false
    const retried = await store.flush()
    assert.notEqual(retried.toString(), first.toString())
    assert.deepEqual(await (await ShardedZarrStore.open(retried, { store: cas })).get('a/c/3/3'), bytes(2))
  })
})

describe('writes apply in call order, whatever their uploads take', () => {
  it('a flush called after a set includes it', async () => {
    const cas = new LatencyStore(await CidMemoryStore.create())
    const store = await newV1(cas)
    await store.set('a/c/0/0', bytes(0))
    cas.saveDelay = (_, codec) => (codec === 'raw' ? 30 : 0)
    const set = store.set('a/c/1/1', bytes(9))
    const root = await store.flush()
    await set
    const reopened = await ShardedZarrStore.open(root, { store: cas })
    assert.deepEqual(await reopened.get('a/c/1/1'), bytes(9))
    assert.equal(store.hasUnflushedChanges, false)
  })

  it('a write called after deleteDir applies after it (v1 and v2)', async () => {
    for (const version of ['v1', 'v2'] as const) {
      const cas = await CidMemoryStore.create()
      const store =
        version === 'v1' ? await newV1(cas) : await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
      const array = version === 'v1' ? 'a' : 'g/a'
      if (version === 'v2')
        await store.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
      await store.set(`${array}/zarr.json`, v3Array([4, 4], [1, 1]))
      await store.set(`${array}/c/0/0`, bytes(1))
      await store.set(`${array}/c/3/3`, bytes(1))
      const calls = [
        store.deleteDir(array),
        store.set(`${array}/zarr.json`, v3Array([4, 4], [1, 1])),
        store.set(`${array}/c/0/0`, bytes(2)),
      ]
      await Promise.all(calls)
      assert.deepEqual(await store.get(`${array}/c/0/0`), bytes(2), version)
      assert.equal(await store.get(`${array}/c/3/3`), undefined, version)
    }
  })

  it('writes issued during a flush: a chunk, then a metadata write that shrinks its array', async () => {
    const cas = new LatencyStore(await CidMemoryStore.create())
    const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 2 })
    await store.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
    await store.set('g/a/zarr.json', v3Array([4, 4], [1, 1]))
    await store.set('g/a/c/0/0', bytes(1))
    cas.saveDelay = (data) => (data.length === 1 && data[0] === 5 ? 30 : 0)
    const flushing = store.flush()
    const chunk = store.set('g/a/c/3/3', bytes(5))
    const shrink = store.set('g/a/zarr.json', v3Array([2, 2], [1, 1]))
    await Promise.all([flushing, chunk, shrink])
    // In call order the chunk was written, then dropped by the shrink.
    assert.deepEqual(store.arrays()[0]?.arrayShape, [2, 2])
    assert.deepEqual(await store.get('g/a/c/0/0'), bytes(1))
    const keys: string[] = []
    for await (const key of store.list()) keys.push(key)
    assert.deepEqual(
      keys.filter((key) => key.includes('/c/')),
      ['g/a/c/0/0'],
    )
  })
})

/** Drains a listing in the background. */
async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const key of keys) out.push(key)
  return out
}

describe('a shard load that outlives a structural change (listings take no lock)', () => {
  it('v2: after deleteDir and a new array at the same path, the old shard does not come back', async () => {
    const cas = new LatencyStore(await CidMemoryStore.create())
    const writer = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    await writer.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
    await writer.set('g/a/zarr.json', v3Array([4, 4], [1, 1]))
    await writer.set('g/a/c/0/0', bytes(1))
    await writer.set('g/a/c/0/1', bytes(2))
    const root = await writer.flush()
    const store = await ShardedZarrStore.open(root, { store: cas, readOnly: false })
    cas.loadDelay = () => 30
    const listing = collect(store.list())
    await sleep(5) // the listing now loads shard 0 of g/a
    cas.loadDelay = () => 0
    await store.deleteDir('g/a')
    await store.set('g/a/zarr.json', v3Array([4, 4], [1, 1]))
    await store.set('g/a/c/0/2', bytes(3))
    await listing
    const reopened = await ShardedZarrStore.open(await store.flush(), { store: cas })
    const chunks = (await collect(reopened.list())).filter((key) => key.includes('/c/'))
    assert.deepEqual(chunks, ['g/a/c/0/2'])
    assert.equal(await store.get('g/a/c/0/0'), undefined)
  })
})

describe('store failures are typed', () => {
  it('loading the root, a shard or a chunk, and saving: StoreError naming the call, cause kept', async () => {
    const inner = await CidMemoryStore.create()
    const writer = await newV1(inner)
    await writer.set('a/c/0/0', bytes(1))
    const root = await writer.flush()
    const cause = new Error('connection reset')
    let failLoads = false
    let failSaves = false
    const cas: ContentAddressedStore = {
      load: (id, options) => (failLoads ? Promise.reject(cause) : inner.load(id, options)),
      save: (data, codec, options) => (failSaves ? Promise.reject(cause) : inner.save(data, codec, options)),
    }
    const isStoreError = (error: unknown): boolean => {
      const e = error as { code?: string; cause?: unknown; message?: string }
      return e.code === 'ERR_STORE' && e.cause === cause && /connection reset/.test(e.message ?? '')
    }
    failLoads = true
    await assert.rejects(ShardedZarrStore.open(root, { store: cas }), isStoreError)
    failLoads = false
    const store = await ShardedZarrStore.open(root, { store: cas, readOnly: false })
    failLoads = true
    await assert.rejects(store.get('a/c/0/0'), isStoreError) // the shard
    failLoads = false
    await store.get('a/c/0/0')
    failLoads = true
    await assert.rejects(store.get('a/c/0/0'), isStoreError) // the chunk (shard now cached)
    failLoads = false
    failSaves = true
    await assert.rejects(store.set('a/c/1/1', bytes(2)), isStoreError)
    await store.delete('a/c/0/0')
    await assert.rejects(store.flush(), isStoreError)
  })
})

/** Everything a user can observe of a store, as one comparable string. */
async function observe(store: ShardedZarrStore): Promise<string> {
  const keys = (await collect(store.list())).sort()
  const values = await Promise.all(keys.map(async (key) => Array.from((await store.get(key)) ?? [])))
  let root: string
  try {
    root = store.rootId.toString()
  } catch (error) {
    root = (error as { code: string }).code
  }
  return JSON.stringify({
    version: store.version,
    root,
    unflushed: store.hasUnflushedChanges,
    dirty: store.cacheStats().dirty,
    arrays: store.arrays(),
    metadata: store.metadataKeys().sort(),
    entries: keys.map((key, i) => [key, values[i]]),
  })
}

const GROUP = new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}')

/** A v2 store with two arrays, flushed, then changed in both arrays' shards and the metadata. */
async function changedV2(cas: ContentAddressedStore): Promise<ShardedZarrStore> {
  const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
  await store.set('g/zarr.json', GROUP)
  await store.set('g/a/zarr.json', v3Array([4, 4], [1, 1]))
  await store.set('g/b/zarr.json', v3Array([3, 3], [1, 1]))
  for (const key of ['g/a/c/0/0', 'g/a/c/2/1', 'g/b/c/1/1']) await store.set(key, bytes(key.length))
  await store.flush()
  for (const key of ['g/a/c/0/1', 'g/a/c/3/3', 'g/b/c/0/0', 'g/b/c/2/2'])
    await store.set(key, bytes(key.charCodeAt(2)))
  await store.delete('g/a/c/2/1')
  await store.set('g/b/zarr.json', v3Array([3, 4], [1, 1]))
  return store
}

describe('a flush failing or aborted at every store call', () => {
  it('leaves everything as it was, and a retry gives the root of a clean run', async () => {
    const clean = (await (await changedV2(await CidMemoryStore.create())).flush()).toString()
    for (const mode of ['fail', 'abort'] as const) {
      const { failures, result } = await atEveryStoreCall({
        mode,
        build: changedV2,
        run: (store, signal) => store.flush({ signal }),
        observe,
        unchanged: 'the store is as it was',
        afterFailure: async (store, error, n) => {
          const { name, code } = error as { name?: string; code?: string }
          if (mode === 'abort') assert.equal(name, 'AbortError', `call ${n}: the caller's abort, unwrapped`)
          else assert.equal(code, 'ERR_STORE', `call ${n}: a StoreError`)
          assert.equal((await store.flush()).toString(), clean, `${mode} at call ${n}: the retry`)
        },
      })
      assert.equal(result.toString(), clean, `${mode}: the unfailed flush`)
      assert.ok(failures >= 5, `${mode}: every call of the flush was failed once (${failures})`)
    }
  })

  it('writes issued at each call of a failing flush apply after it, in call order', async () => {
    const issued: [string, Uint8Array | null][] = []
    for (let n = 1; n <= 6; n++) {
      const cas = new FaultStore(await CidMemoryStore.create())
      const store = await changedV2(cas)
      const writes: Promise<void>[] = []
      issued.length = 0
      cas.onCall = (call) => {
        const key = `g/a/c/${call % 4}/${(call * 3) % 4}`
        const value = call % 3 === 0 ? null : bytes(100 + call)
        issued.push([key, value])
        writes.push(value === null ? store.delete(key) : store.set(key, value))
      }
      cas.arm(n)
      await assert.rejects(store.flush(), { code: 'ERR_STORE' })
      cas.onCall = () => {}
      await Promise.all(writes)
      const control = await changedV2(await CidMemoryStore.create())
      for (const [key, value] of issued)
        await (value === null ? control.delete(key) : control.set(key, value))
      assert.equal(
        (await store.flush()).toString(),
        (await control.flush()).toString(),
        `failure at call ${n}`,
      )
    }
  })
})

/** A v1 store with chunks and metadata (`temp` under the root group), flushed. */
async function flushedV1(cas: ContentAddressedStore): Promise<ShardedZarrStore> {
  const store = await newV1(cas)
  await store.set('zarr.json', GROUP)
  await store.set('temp/zarr.json', v3Array([4, 4], [1, 1]))
  for (const key of ['temp/c/0/0', 'temp/c/1/2', 'temp/c/3/3']) await store.set(key, bytes(key.length))
  await store.flush()
  return store
}

describe('migrateToV2 is all or nothing', () => {
  it('failed or aborted at any store call, the store stays v1 as it was; a retry gives the clean root', async () => {
    const clean = (await (await flushedV1(await CidMemoryStore.create())).migrateToV2('0/temp')).toString()
    const { failures, result } = await atEveryStoreCall({
      build: flushedV1,
      run: (store) => store.migrateToV2('0/temp'),
      observe,
      unchanged: 'still the v1 store it was',
      afterFailure: async (store, error, n) => {
        assert.equal((error as { code?: string }).code, 'ERR_STORE', `call ${n}: a StoreError`)
        assert.equal((await store.migrateToV2('0/temp')).toString(), clean, `retry after call ${n}`)
      },
    })
    assert.equal(result.toString(), clean, 'the unfailed migration')
    assert.ok(failures >= 2, `every call of the migration was failed once (${failures})`)
  })
})

describe('a v1 root that does not record its array (older py-hamt)', () => {
  it('an abort while its array is inferred rejects the open; a store failure keeps the default, as py-hamt', async () => {
    const cas = new FaultStore(await CidMemoryStore.create())
    const writer = await newV1(cas)
    await writer.set('temp/zarr.json', v3Array([4, 4], [1, 1])) // no chunk yet: nothing recorded
    const root = await writer.flush()
    assert.equal((await ShardedZarrStore.open(root, { store: cas })).arrays()[0]?.path, 'temp')
    const signal = cas.arm(2, 'abort') // call 1 loads the root, call 2 the array's zarr.json
    await assert.rejects(ShardedZarrStore.open(root, { store: cas, signal }), { name: 'AbortError' })
    cas.arm(2)
    assert.equal((await ShardedZarrStore.open(root, { store: cas })).arrays()[0]?.path, '')
  })
})

describe('a metadata write failing at any store call', () => {
  it('v2: an array document under a new group registers nothing unless it is all written', async () => {
    const build = async (cas: ContentAddressedStore): Promise<ShardedZarrStore> => {
      const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
      await store.set('g/zarr.json', GROUP)
      await store.set('g/a/zarr.json', v3Array([4, 4], [1, 1]))
      await store.set('g/a/c/0/0', bytes(1))
      await store.flush()
      return store
    }
    const write = (store: ShardedZarrStore): Promise<void> =>
      store.set('g/h/b/zarr.json', v3Array([3, 3], [1, 1])) // saves the document, then group g/h
    const control = await build(await CidMemoryStore.create())
    await write(control)
    const clean = await control.flush()
    const { failures } = await atEveryStoreCall({
      build,
      run: write,
      observe,
      unchanged: 'nothing registered or recorded',
      afterFailure: async (store, _error, n) => {
        await write(store)
        assert.equal((await store.flush()).toString(), clean.toString(), `retry after call ${n}`)
      },
    })
    assert.ok(failures >= 2, `every call of the write was failed once (${failures})`)
  })
})

describe('graft is all or nothing', () => {
  it('failing at any store call, the target is as it was; a retry gives the clean root', async () => {
    const build = async (
      cas: ContentAddressedStore,
    ): Promise<{ target: ShardedZarrStore; source: string }> => {
      const create = { store: cas, chunkShape: [1, 1], chunksPerShard: 4 }
      const source = await ShardedZarrStore.create({ ...create, arrayShape: [3, 3] })
      for (const [i, key] of ['a/c/0/0', 'a/c/1/2', 'a/c/2/1', 'a/c/2/2'].entries())
        await source.set(key, bytes(i))
      const writer = await ShardedZarrStore.create({ ...create, arrayShape: [8, 8] })
      for (const key of ['a/c/3/3', 'a/c/4/5', 'a/c/5/4', 'a/c/7/7']) await writer.set(key, bytes(7))
      const root = await writer.flush()
      // Reopened, keeping no clean shard: the graft must load the target's shards, and each load can fail.
      const target = await ShardedZarrStore.open(root, { store: cas, readOnly: false, cacheBytes: 0 })
      return { target, source: (await source.flush()).toString() }
    }
    const control = await build(await CidMemoryStore.create())
    await control.target.graft(control.source, [3, 3])
    const clean = await control.target.flush()
    const { failures } = await atEveryStoreCall({
      build,
      run: ({ target, source }) => target.graft(source, [3, 3]),
      observe: ({ target }) => observe(target),
      unchanged: 'the target is as it was',
      afterFailure: async ({ target, source }, _error, n) => {
        await target.graft(source, [3, 3])
        assert.equal((await target.flush()).toString(), clean.toString(), `retry after call ${n}`)
      },
    })
    assert.ok(failures >= 4, `every call of the graft was failed once (${failures})`)
  })
})

describe('deleteDir is all or nothing', () => {
  it('v1: failing at any store call, the store is as it was; a retry gives the clean root', async () => {
    const build = async (cas: ContentAddressedStore): Promise<ShardedZarrStore> => {
      const writer = await flushedV1(cas)
      await writer.set('temp/c/2/0', bytes(4))
      await writer.set('other/zarr.json', GROUP)
      const root = await writer.flush()
      return ShardedZarrStore.open(root, { store: cas, readOnly: false, cacheBytes: 0 })
    }
    const control = await build(await CidMemoryStore.create())
    await control.deleteDir('temp')
    const clean = await control.flush()
    const { failures } = await atEveryStoreCall({
      build,
      run: (store) => store.deleteDir('temp'),
      observe,
      unchanged: 'the store is as it was',
      afterFailure: async (store, _error, n) => {
        await store.deleteDir('temp')
        assert.equal((await store.flush()).toString(), clean.toString(), `retry after call ${n}`)
      },
    })
    assert.ok(failures >= 4, `every call of deleteDir was failed once (${failures})`)
  })
})
