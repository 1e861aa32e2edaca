// Shard read modes (py-hamt 3.6.0's shard_read_mode): full, sparse and auto read the same bytes;
// what each costs in loads and bytes, counted by a store wrapper; auto's switch after 256 reads of
// one shard; concurrency, writable stores and aborts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { openDataset } from '../src/dataset.js'
import { isHamtError, openZarrRoot, ShardedZarrStore, type ShardReadMode } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { shardedDriver } from './helpers/python.js'

const SIDE = 32
const PER_SHARD = 300 // 1024 chunks: shards of 300, 300, 300 and 124

/** Chunk (i, j)'s bytes, or undefined for the chunks left unwritten (nulls in their shards). */
const chunkOf = (i: number, j: number): Uint8Array | undefined =>
  (i * 7 + j * 3) % 11 === 0 ? undefined : Uint8Array.from([i, j, (i * j) & 0xff])

const cas = await CidMemoryStore.create()
const written = await ShardedZarrStore.create({
  store: cas,
  arrayShape: [SIDE, SIDE],
  chunkShape: [1, 1],
  chunksPerShard: PER_SHARD,
  primaryArrayPath: 'a',
})
for (let i = 0; i < SIDE; i++)
  for (let j = 0; j < SIDE; j++) {
    const chunk = chunkOf(i, j)
    if (chunk !== undefined) await written.set(`a/c/${i}/${j}`, chunk)
  }
const root = await written.flush()
const shardCids = await (async () => {
  const { decode } = await import('@ipld/dag-cbor')
  const decoded = decode(await cas.load(root)) as { chunks: { shard_cids: CID[] } }
  return decoded.chunks.shard_cids
})()

async function open(mode: ShardReadMode | undefined, options: { delayMs?: number } = {}) {
  const counting = new InstrumentedStore(cas)
  const store = await ShardedZarrStore.open(root, {
    store: counting,
    ...(mode === undefined ? {} : { shardReadMode: mode }),
  })
  counting.reset()
  counting.delayMs = options.delayMs ?? 0
  return { store, counting }
}

/** The (i, j) of the `n`th chunk of shard `shard` (row-major). */
const coordsIn = (shard: number, n: number): [number, number] => {
  const linear = shard * PER_SHARD + n
  return [Math.floor(linear / SIDE), linear % SIDE]
}

describe('shard read modes', () => {
  it('full, sparse and auto read the same bytes, ranges and presence as what was written', async () => {
    for (const mode of ['full', 'sparse', 'auto'] as const) {
      const { store } = await open(mode)
      for (let i = 0; i < SIDE; i++)
        for (let j = 0; j < SIDE; j++) {
          const want = chunkOf(i, j)
          assert.deepEqual(await store.get(`a/c/${i}/${j}`), want, `${mode} ${i}/${j}`)
          assert.equal(await store.has(`a/c/${i}/${j}`), want !== undefined, `${mode} has ${i}/${j}`)
          if (want !== undefined)
            assert.deepEqual(await store.getRange(`a/c/${i}/${j}`, { suffixLength: 1 }), want.slice(2))
        }
    }
  })

  it('is full by default (py-hamt: auto; whole shards decode fast here); a bad mode is refused by name', async () => {
    assert.equal((await open(undefined)).store.shardReadMode, 'full')
    await assert.rejects(
      ShardedZarrStore.open(root, { store: cas, shardReadMode: 'lazy' as ShardReadMode }),
      (error: unknown) => isHamtError(error, 'ERR_INVALID_ARGUMENT') && /shardReadMode/.test(String(error)),
    )
    await assert.rejects(
      ShardedZarrStore.open(root, { store: cas, readOnly: false, shardReadMode: 'lazy' as ShardReadMode }),
      (error: unknown) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
      'a writable store, which reads full, still refuses a bad mode',
    )
  })

  it('openZarrRoot and openDataset pass shardReadMode (and cacheBytes) on to the sharded store', async () => {
    const opened = await openZarrRoot(root, { store: cas, shardReadMode: 'sparse', cacheBytes: 1024 })
    assert.equal((opened.store as ShardedZarrStore).shardReadMode, 'sparse')
    assert.equal((await openZarrRoot(root, { store: cas })).store instanceof ShardedZarrStore, true)
    await assert.rejects(
      openDataset(root, { store: cas, shardReadMode: 'lazy' as ShardReadMode }),
      (error: unknown) => isHamtError(error, 'ERR_INVALID_ARGUMENT') && /shardReadMode/.test(String(error)),
    )
  })

  it('costs, counted: sparse loads the shard block on every miss and caches nothing; full loads it once', async () => {
    const shardBytes = (await cas.load(shardCids[1] as CID)).length
    const [i, j] = coordsIn(1, 5)
    const [k, l] = coordsIn(1, 6)
    const sparse = await open('sparse')
    await sparse.store.get(`a/c/${i}/${j}`)
    assert.equal(sparse.counting.loadsOf(shardCids[1]), 1)
    assert.equal(sparse.counting.loads, 2, 'the shard and the chunk')
    assert.equal(sparse.counting.bytes, shardBytes + 3)
    assert.equal(sparse.store.cacheStats().shards, 0)
    await sparse.store.get(`a/c/${k}/${l}`)
    assert.equal(sparse.counting.loadsOf(shardCids[1]), 2, 'a second read of the shard loads it again')

    const full = await open('full')
    await full.store.get(`a/c/${i}/${j}`)
    await full.store.get(`a/c/${k}/${l}`)
    assert.equal(full.counting.loadsOf(shardCids[1]), 1)
    assert.equal(full.counting.bytes, shardBytes + 6)
    assert.equal(full.store.cacheStats().shards, 1)
  })

  it('auto reads sparse until one shard has been read 256 times, then the whole store reads full', async () => {
    const { store, counting } = await open('auto')
    // Reads spread over two shards do not switch, however many in all.
    for (let n = 0; n < 255; n++) await store.get(`a/c/${coordsIn(0, n % PER_SHARD).join('/')}`)
    for (let n = 0; n < 200; n++) await store.get(`a/c/${coordsIn(1, n).join('/')}`)
    assert.equal(store.shardReadMode, 'auto')
    assert.equal(counting.loadsOf(shardCids[0]), 255)
    assert.equal(counting.loadsOf(shardCids[1]), 200)
    assert.equal(store.cacheStats().shards, 0)
    // The 256th read of shard 0 is a full read, and from then on every shard is.
    const [i, j] = coordsIn(0, 299)
    assert.deepEqual(await store.get(`a/c/${i}/${j}`), chunkOf(i, j))
    assert.equal(store.shardReadMode, 'full')
    assert.equal(counting.loadsOf(shardCids[0]), 256)
    assert.equal(store.cacheStats().shards, 1)
    for (let n = 0; n < 50; n++) await store.get(`a/c/${coordsIn(2, n).join('/')}`)
    assert.equal(counting.loadsOf(shardCids[2]), 1)
    for (let n = 0; n < 50; n++) await store.get(`a/c/${coordsIn(0, n).join('/')}`)
    assert.equal(counting.loadsOf(shardCids[0]), 256, 'shard 0 is cached now')
  })

  it('concurrent sparse reads of one shard share one load of its block', async () => {
    const { store, counting } = await open('sparse', { delayMs: 20 })
    const reads = Array.from({ length: 40 }, (_, n) => coordsIn(2, n))
    const got = await Promise.all(reads.map(([i, j]) => store.get(`a/c/${i}/${j}`)))
    assert.deepEqual(
      got,
      reads.map(([i, j]) => chunkOf(i, j)),
    )
    assert.equal(counting.loadsOf(shardCids[2]), 1)
    assert.equal(store.cacheStats().shards, 0)
  })

  it('auto switching while sparse reads are in flight: every read right, the shard loaded at most twice', async () => {
    const { store, counting } = await open('auto', { delayMs: 10 })
    const reads = Array.from({ length: 300 }, (_, n) => coordsIn(0, n))
    const got = await Promise.all(reads.map(([i, j]) => store.get(`a/c/${i}/${j}`)))
    assert.deepEqual(
      got,
      reads.map(([i, j]) => chunkOf(i, j)),
    )
    assert.equal(store.shardReadMode, 'full')
    assert.ok(counting.loadsOf(shardCids[0]) <= 2, `${counting.loadsOf(shardCids[0])} loads`)
  })

  it('a writable store reads full whatever the mode, so its writes are seen; a sparse reopen sees them flushed', async () => {
    const counting = new InstrumentedStore(cas)
    const store = await ShardedZarrStore.open(root, {
      store: counting,
      readOnly: false,
      shardReadMode: 'sparse',
    })
    assert.equal(store.shardReadMode, 'full')
    const [i, j] = coordsIn(3, 7)
    assert.deepEqual(await store.get(`a/c/${i}/${j}`), chunkOf(i, j))
    await store.set(`a/c/${i}/${j}`, Uint8Array.from([9, 9]))
    assert.deepEqual(await store.get(`a/c/${i}/${j}`), Uint8Array.from([9, 9]))
    const newRoot = await store.flush()
    const reopened = await ShardedZarrStore.open(newRoot, { store: cas, shardReadMode: 'sparse' })
    assert.deepEqual(await reopened.get(`a/c/${i}/${j}`), Uint8Array.from([9, 9]))
    assert.deepEqual(await reopened.get(`a/c/${i}/${j + 1}`), chunkOf(i, j + 1))
  })

  it('an abort ends only its own sparse read: another waiting on the same shard load still gets its chunk', async () => {
    const { store } = await open('sparse', { delayMs: 30 })
    await assert.rejects(store.get('a/c/0/1', { signal: AbortSignal.abort(new Error('stop')) }), /stop/)
    const controller = new AbortController()
    const aborted = store.get('a/c/0/1', { signal: controller.signal })
    const other = store.get('a/c/0/2')
    setTimeout(() => controller.abort(new Error('user stopped')), 5)
    await assert.rejects(aborted, /user stopped/)
    assert.deepEqual(await other, chunkOf(0, 2))
  })
})

describe('shard read modes against py-hamt 3.6.0 (its ShardedZarrStore on a counting in-memory CAS)', () => {
  const CHUNKS = 600
  const PER = 300
  const runs: Array<[ShardReadMode, string, number[]]> = [
    [
      'auto',
      '300 reads of shard 0, then 10 of shard 1',
      [...Array(300).keys(), ...Array.from({ length: 10 }, (_, i) => 300 + i)],
    ],
    [
      'auto',
      '200 reads of each shard',
      [...Array(200).keys(), ...Array.from({ length: 200 }, (_, i) => 300 + i)],
    ],
    ['auto', 'one chunk 256 times', new Array(256).fill(7)],
    ['sparse', '300 reads of shard 0, then 3 of shard 1', [...Array(300).keys(), 300, 301, 302]],
    ['full', '3 reads of each shard', [0, 1, 2, 300, 301, 302]],
  ]
  let ours: { root: CID; cas: CidMemoryStore } | undefined
  const build = async (): Promise<{ root: CID; cas: CidMemoryStore }> => {
    if (ours !== undefined) return ours
    const cas = await CidMemoryStore.create()
    const store = await ShardedZarrStore.create({
      store: cas,
      arrayShape: [CHUNKS],
      chunkShape: [1],
      chunksPerShard: PER,
      primaryArrayPath: 'a',
    })
    for (let i = 0; i < CHUNKS; i++) await store.set(`a/c/${i}`, Uint8Array.of(i % 256))
    ours = { root: await store.flush(), cas }
    return ours
  }
  for (const [mode, name, reads] of runs) {
    it(`${mode}, ${name}: the same shard loads and the same switch`, async () => {
      const py = await shardedDriver<{ shardLoads: number[]; latched: boolean }>('modes', {
        mode,
        chunks: CHUNKS,
        chunksPerShard: PER,
        reads,
      })
      const { root, cas: inner } = await build()
      const counting = new InstrumentedStore(inner)
      const store = await ShardedZarrStore.open(root, { store: counting, shardReadMode: mode })
      const { decode } = await import('@ipld/dag-cbor')
      const shards = (decode(await inner.load(root)) as { chunks: { shard_cids: CID[] } }).chunks.shard_cids
      counting.reset()
      for (const i of reads) assert.deepEqual(await store.get(`a/c/${i}`), Uint8Array.of(i % 256))
      assert.deepEqual(
        shards.map((cid) => counting.loadsOf(cid)),
        py.shardLoads,
      )
      assert.equal(store.shardReadMode === 'full' && mode === 'auto', py.latched)
    })
  }
})
