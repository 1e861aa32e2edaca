import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
import { HAMT, isHamtError, MemoryStore, ShardedZarrStore, ZarrHAMTStore } from '../src/index.js'
import { convertHamtToSharded } from '../src/layout.js'
import { dumpPyJson, parsePyJson } from '../src/sharded/pyjson.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { shardedDriver } from './helpers/python.js'
import { bytes, newV1, v3Array } from './helpers/sharded.js'

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

// biome-ignore lint/suspicious/noExplicitAny: tests reshape decoded DAG-CBOR freely to make it malformed
type Cbor = Record<string, any>
type Change = (root: Cbor) => unknown

/** A change that sets (or, with undefined, deletes) the field at `path` and returns the root. */
function set(path: string[], value: unknown): Change {
  return (root) => {
    const parent = path.slice(0, -1).reduce((node, key) => node[key], root)
    const last = path.at(-1) as string
    if (value === undefined) delete parent[last]
    else parent[last] = value
    return root
  }
}

/** Saves a root made of `root` with one field changed and opens it: a manifest error is expected. */
async function openMutated(store: CidMemoryStore, root: CID, change: Change): Promise<unknown> {
  const decoded = dagCbor.decode(await store.load(root)) as Cbor
  const replaced = change(decoded)
  const id = await store.save(dagCbor.encode(replaced), 'dag-cbor')
  return ShardedZarrStore.open(id, { store }).then(
    () => assert.fail('open accepted a malformed root'),
    (err: unknown) => err,
  )
}

describe('ShardedZarrStore basics', () => {
  it('reads back what it wrote, with byte ranges, after flush and reopen', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    await store.set('/zarr.json', bytes(123, 125))
    await store.set('/a/c/1/2', bytes(1, 2, 3, 4, 5))
    assert.deepEqual(await store.getRange('/a/c/1/2', { offset: 1, length: 2 }), bytes(2, 3))
    const root = await store.flush()
    const reopened = await ShardedZarrStore.open(root.toString(), { store: cas })
    assert.deepEqual(await reopened.get('a/c/1/2'), bytes(1, 2, 3, 4, 5))
    assert.deepEqual(await reopened.getRange('a/c/1/2', { suffixLength: 2 }), bytes(4, 5))
    assert.equal(await reopened.get('a/c/0/0'), undefined)
    assert.equal(await reopened.get('missing/zarr.json'), undefined)
    assert.deepEqual(reopened.arrays()[0]?.path, 'a')
    assert.deepEqual(await collect(reopened.list()), ['zarr.json', 'a/c/1/2'])
    assert.deepEqual(await collect(reopened.listDir('a')), ['c'])
  })

  it('refuses a store without CIDs, as py-hamt refuses InMemoryCAS', async () => {
    const store = await newV1((await MemoryStore.create()) as never)
    await assert.rejects(store.set('zarr.json', bytes(1)), (err) => isHamtError(err, 'ERR_STORE'))
    assert.deepEqual(store.metadataKeys(), [])
  })

  it('checks its arguments', async () => {
    const store = await CidMemoryStore.create()
    const invalid = (err: unknown): boolean => isHamtError(err, 'ERR_INVALID_ARGUMENT')
    await assert.rejects(ShardedZarrStore.open('not a cid', { store }), invalid)
    await assert.rejects(ShardedZarrStore.open((await newV1(store)).arrays() as never, { store }), invalid)
    await assert.rejects(ShardedZarrStore.create({ store: {} as never, chunksPerShard: 3 }), invalid)
    await assert.rejects(ShardedZarrStore.create({ store, chunksPerShard: 0 }), invalid)
    await assert.rejects(ShardedZarrStore.create({ store, chunksPerShard: 3, arrayShape: [4] }), invalid)
    await assert.rejects(
      ShardedZarrStore.create({ store, chunksPerShard: 3, arrayShape: [4], chunkShape: [0] }),
      invalid,
    )
    await assert.rejects(
      ShardedZarrStore.create({ store, chunksPerShard: 3, manifestVersion: 'sharded_zarr_v1' }),
      invalid,
    )
    await assert.rejects(ShardedZarrStore.create({ store, chunksPerShard: 3, cacheBytes: -1 }), invalid)
    await assert.rejects((await newV1(store)).set('a/c/0/0', 'text' as never), invalid)
  })

  it('refuses writes when read-only', async () => {
    const cas = await CidMemoryStore.create()
    const root = await (await newV1(cas)).flush()
    const store = await ShardedZarrStore.open(root, { store: cas })
    await assert.rejects(store.set('zarr.json', bytes(1)), (err) => isHamtError(err, 'ERR_READ_ONLY'))
  })

  it('gives a typed error for chunk keys outside the grid, with the key in the message', async () => {
    const store = await newV1()
    for (const key of ['a/c/4/0', 'a/c/0/9', 'a/c/0', 'a/c/0/0/0']) {
      await assert.rejects(
        store.set(key, bytes(1)),
        (err) => isHamtError(err, 'ERR_CHUNK_OUT_OF_BOUNDS') && err.message.includes(key),
      )
      await assert.rejects(store.get(key), (err) => isHamtError(err, 'ERR_CHUNK_OUT_OF_BOUNDS'))
    }
    await assert.rejects(store.set('a/c/x/0', bytes(1)), (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'))
    const v2 = await ShardedZarrStore.create({ store: await CidMemoryStore.create(), chunksPerShard: 4 })
    await v2.set('g/a/zarr.json', v3Array([4, 4], [2, 2]))
    await assert.rejects(v2.set('g/a/c/2/0', bytes(1)), (err) => isHamtError(err, 'ERR_CHUNK_OUT_OF_BOUNDS'))
    await assert.rejects(v2.set('g/b/c/0/0', bytes(1)), (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'))
  })

  it('refuses a top-level array after a root group in v2, as py-hamt 3.6.0', async () => {
    const store = await ShardedZarrStore.create({ store: await CidMemoryStore.create(), chunksPerShard: 4 })
    await store.set(
      'zarr.json',
      new TextEncoder().encode('{"zarr_format":3,"node_type":"group","attributes":{}}'),
    )
    await assert.rejects(store.set('a/zarr.json', v3Array([4], [2])), (err) =>
      isHamtError(err, 'ERR_INVALID_ARGUMENT'),
    )
    assert.deepEqual(store.arrays(), [])
  })
})

describe('malformed roots and shards', () => {
  it('rejects every malformed field with InvalidManifestError naming it', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    await store.set('a/c/0/0', bytes(7))
    const root = await store.flush()
    const cid = (await cas.save(bytes(1), 'raw')) as CID
    type Case = [expected: string, change: Change]
    const cases: Case[] = [
      ['manifest_version', set(['manifest_version'], 'sharded_zarr_v3')],
      ['manifest_version', set(['manifest_version'], undefined)],
      ['the root must be a map', () => [1, 2]],
      ['root.chunks', set(['chunks'], undefined)],
      ['array_shape', set(['chunks', 'array_shape'], [4, -1])],
      ['array_shape', set(['chunks', 'array_shape'], ['4', 4])],
      ['chunk_shape', set(['chunks', 'chunk_shape'], [1, 0])],
      ['rank', set(['chunks', 'chunk_shape'], [1])],
      ['chunks_per_shard', set(['chunks', 'sharding_config', 'chunks_per_shard'], 0)],
      ['sharding_config', set(['chunks', 'sharding_config'], 3)],
      ['shard_cids', set(['chunks', 'shard_cids'], 'none')],
      ['geometry needs 6 shards', (r) => set(['chunks', 'shard_cids'], r.chunks.shard_cids.slice(1))(r)],
      ['shard_cids[1]', set(['chunks', 'shard_cids', '1'], 'bafy')],
      ['root.metadata', set(['metadata'], [])],
      ['root.metadata["x"]', set(['metadata'], { x: 'not a cid' })],
      ['primary_array_path', set(['chunks', 'primary_array_path'], 3)],
      ['root.arrays', set(['manifest_version'], 'sharded_zarr_v2')],
      [
        'order',
        (r) => ({
          manifest_version: 'sharded_zarr_v2',
          metadata: {},
          arrays: { a: { ...r.chunks, sharding_config: { chunks_per_shard: 3, order: 'F' } } },
        }),
      ],
      [
        'root.arrays["a"].shard_cids has 1 entries',
        (r) => ({
          manifest_version: 'sharded_zarr_v2',
          metadata: { 'a/zarr.json': cid },
          arrays: { a: { ...r.chunks, shard_cids: [null] } },
        }),
      ],
    ]
    for (const [field, change] of cases) {
      const err = await openMutated(cas, root, change)
      assert.ok(isHamtError(err, 'ERR_INVALID_MANIFEST'), `${field}: ${String(err)}`)
      assert.ok(
        (err as Error).message.includes(field),
        `${JSON.stringify(field)} not in: ${(err as Error).message}`,
      )
    }
    const notCbor = await cas.save(bytes(0xff, 0x00), 'dag-cbor')
    await assert.rejects(ShardedZarrStore.open(notCbor, { store: cas }), (err) =>
      isHamtError(err, 'ERR_INVALID_MANIFEST'),
    )
  })

  it('rejects shards of the wrong length or with non-CID entries', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    await store.set('a/c/0/0', bytes(7))
    const root = await store.flush()
    const decoded = dagCbor.decode(await cas.load(root)) as Cbor
    const chunk = (await cas.save(bytes(7), 'raw')) as CID
    for (const [shard, what] of [
      [[chunk, null], '2 entries'],
      [[chunk, null, 'x'], '[2] must be a CID or null'],
      [{ 0: chunk }, 'must be a list'],
    ] as const) {
      decoded.chunks.shard_cids[0] = await cas.save(dagCbor.encode(shard), 'dag-cbor')
      const bad = await cas.save(dagCbor.encode(decoded), 'dag-cbor')
      // A full read checks every entry; a sparse one (py-hamt's too) the header and the entries up to the one read.
      for (const [shardReadMode, key] of [
        ['full', 'a/c/0/0'],
        ['sparse', 'a/c/0/2'],
      ] as const) {
        const opened = await ShardedZarrStore.open(bad, { store: cas, shardReadMode })
        await assert.rejects(
          opened.get(key),
          (err) => isHamtError(err, 'ERR_INVALID_MANIFEST') && err.message.includes(what),
          `${shardReadMode} ${what}`,
        )
      }
    }
  })
})

describe('flush, cache and locking', () => {
  it('flush saves only the shards that changed, then the root', async () => {
    const cas = new InstrumentedStore(await CidMemoryStore.create())
    const store = await newV1(cas)
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) await store.set(`a/c/${i}/${j}`, bytes(i, j))
    const before = cas.saves
    const first = await store.flush()
    assert.equal(cas.saves - before, 6 + 1, 'six shards and the root')
    assert.equal((await store.flush()).toString(), first.toString())
    assert.equal(cas.saves - before, 7, 'nothing to save the second time')
    const saves = cas.saves
    await store.set('a/c/3/3', bytes(9))
    const second = await store.flush()
    assert.equal(cas.saves - saves, 1 + 1 + 1, 'the chunk, its shard and the root')
    assert.notEqual(second.toString(), first.toString())
  })

  it('stays within its memory bound for reads, but never evicts unflushed shards', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas, 0)
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) await store.set(`a/c/${i}/${j}`, bytes(i * 4 + j))
    assert.equal(store.cacheStats().dirty, 6)
    assert.equal(store.cacheStats().shards, 6)
    const root = await store.flush()
    assert.equal(store.cacheStats().shards, 0, 'clean shards are evicted at once under a zero bound')
    const reopened = await ShardedZarrStore.open(root, { store: cas, cacheBytes: 0 })
    for (let i = 0; i < 16; i++)
      assert.deepEqual(await reopened.get(`a/c/${Math.floor(i / 4)}/${i % 4}`), bytes(i))
    assert.equal(reopened.cacheStats().shards, 0)
  })

  it('parallel writes, deletes and reads apply in call order (a Map model)', async () => {
    const cas = await CidMemoryStore.create()
    const store = await ShardedZarrStore.create({
      store: cas,
      arrayShape: [20, 20],
      chunkShape: [1, 1],
      chunksPerShard: 7,
    })
    const model = new Map<string, Uint8Array>([['a/c/0/0', bytes(0)]])
    // Settles the sharded array first: from then on chunk writes run in parallel.
    await store.set('a/c/0/0', bytes(0))
    const ops: Promise<unknown>[] = []
    for (let n = 0; n < 600; n++) {
      const key = `a/c/${(n * 7) % 20}/${(n * 13) % 20}`
      if (n % 5 === 4) {
        ops.push(store.get(key))
        continue
      }
      if (n % 7 === 3) {
        model.delete(key)
        ops.push(store.delete(key))
        continue
      }
      const value = bytes(n & 255, n >> 8)
      model.set(key, value)
      ops.push(store.set(key, value))
      if (n % 100 === 99) ops.push(store.flush())
    }
    // A set then a delete of one key in the same tick, and the other way round: call order wins.
    for (const key of ['a/c/19/0', 'a/c/18/1']) {
      ops.push(store.set(key, bytes(9)), store.delete(key))
      model.delete(key)
    }
    ops.push(store.delete('a/c/17/2'), store.set('a/c/17/2', bytes(8)))
    model.set('a/c/17/2', bytes(8))
    await Promise.all(ops)
    const reopened = await ShardedZarrStore.open(await store.flush(), { store: cas })
    const touched = ['a/c/0/0', 'a/c/19/0', 'a/c/18/1', 'a/c/17/2']
    for (let n = 0; n < 20; n++) touched.push(`a/c/${(n * 7) % 20}/${(n * 13) % 20}`)
    for (const key of touched) assert.deepEqual(await reopened.get(key), model.get(key), key)
    assert.deepEqual((await collect(reopened.list())).sort(), [...model.keys()].sort())
  })

  it('v1: the first chunk write in call order picks the sharded array, however writes interleave', async () => {
    const store = await newV1()
    await Promise.all([
      store.set('temp/c/0/0', bytes(1)),
      store.set('precip/c/0/0', bytes(2)),
      store.set('temp/c/1/1', bytes(3)),
    ])
    assert.deepEqual(store.arrays()[0]?.path, 'temp')
    assert.deepEqual(store.metadataKeys(), ['precip/c/0/0'])
    assert.deepEqual(await store.get('precip/c/0/0'), bytes(2))
  })

  it('a failed save leaves the store as it was', async () => {
    const cas = new InstrumentedStore(await CidMemoryStore.create())
    const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    await store.set('g/a/zarr.json', v3Array([4, 4], [2, 2]))
    const root = await store.flush()
    cas.failOn({ op: 'save', always: true })
    await assert.rejects(store.set('g/b/zarr.json', v3Array([2], [1])))
    await assert.rejects(store.set('g/a/c/0/0', bytes(1)))
    assert.deepEqual(store.metadataKeys().sort(), ['g/a/zarr.json', 'g/zarr.json', 'zarr.json'])
    assert.deepEqual(
      store.arrays().map((a) => a.path),
      ['g/a'],
    )
    assert.equal(store.hasUnflushedChanges, false)
    assert.equal(store.rootId.toString(), root.toString())
    cas.heal()
    await store.set('g/a/c/0/0', bytes(1))
    assert.deepEqual(await store.get('g/a/c/0/0'), bytes(1))
  })
})

describe('resize and graft', () => {
  it('growing the first dimension keeps every shard CID', async () => {
    const cas = await CidMemoryStore.create()
    const store = await newV1(cas)
    for (let j = 0; j < 4; j++) await store.set(`a/c/3/${j}`, bytes(j))
    const shards = async (): Promise<unknown[]> =>
      (dagCbor.decode(await cas.load(await store.flush())) as Cbor).chunks.shard_cids
    const before = await shards()
    await store.resize([6, 4])
    const after = await shards()
    assert.equal(after.length, 8)
    assert.deepEqual(after.slice(0, 6), before)
    assert.deepEqual(after.slice(6), [null, null])
    assert.deepEqual(await store.get('a/c/3/2'), bytes(2))
  })

  it('other resizes move chunks to their new positions and drop those outside', async () => {
    const store = await newV1()
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) await store.set(`a/c/${i}/${j}`, bytes(i, j))
    await store.resize([5, 3])
    assert.deepEqual(await store.get('a/c/2/1'), bytes(2, 1))
    assert.deepEqual(await store.get('a/c/3/2'), bytes(3, 2))
    assert.equal(await store.get('a/c/4/0'), undefined)
    await assert.rejects(store.get('a/c/0/3'), (err) => isHamtError(err, 'ERR_CHUNK_OUT_OF_BOUNDS'))
    await assert.rejects(store.resize([4]), (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'))
  })

  it('a graft that would land outside the target changes nothing', async () => {
    const cas = await CidMemoryStore.create()
    const source = await newV1(cas)
    await source.set('a/c/0/0', bytes(1))
    await source.set('a/c/3/3', bytes(2))
    const sourceRoot = await source.flush()
    const target = await ShardedZarrStore.create({
      store: cas,
      arrayShape: [6, 6],
      chunkShape: [1, 1],
      chunksPerShard: 3,
    })
    await assert.rejects(target.graft(sourceRoot, [3, 0]), (err) =>
      isHamtError(err, 'ERR_CHUNK_OUT_OF_BOUNDS'),
    )
    assert.equal(target.cacheStats().dirty, 0)
    await target.graft(sourceRoot, [2, 1])
    assert.deepEqual(await target.get('a/c/5/4'), bytes(2))
    assert.deepEqual(await target.get('a/c/2/1'), bytes(1))
    await assert.rejects(target.migrateToV2(''), (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'))
  })
})

describe('Python-compatible JSON (py-hamt rewrites metadata with json.dumps)', () => {
  it('gives the bytes Python gives, compact and indented', async () => {
    const texts = [
      '{"a": 0.0, "b": 1e-05, "c": 1.5e16, "d": 123456789012345678901234567890, "e": -0, "f": 0.1, "g": 100.0}',
      '{"s": "caf\\u00e9 \\ud83c\\udf0d \\"q\\" \\\\ \\n\\t\\u0001\\u007f/", "n": NaN, "i": -Infinity, "x": 1E+2}',
      '[1, 2.5, [], {}, [true, false, null], {"k": {"k": 3.0000000000000004}}, 9007199254740993, 1e300, 2e-7]',
      '{"dup": 1, "other": 2, "dup": 3}',
      '  {"shape": [4, 6], "fill_value": "NaN", "attributes": {"scale": 0.0001, "big": 12345678.9}}  ',
    ]
    for (const indent of [undefined, 2]) {
      const python = await shardedDriver<{ dumps: string[] }>('json', {
        texts,
        ...(indent ? { indent } : {}),
      })
      texts.forEach((text, i) => {
        const parsed = parsePyJson(new TextEncoder().encode(text))
        assert.notEqual(parsed, undefined)
        assert.equal(new TextDecoder().decode(dumpPyJson(parsed as never, indent)), python.dumps[i], text)
      })
    }
    for (const bad of ['{"a": }', '{"a": 1} x', '\ufeff{}', ''])
      assert.equal(parsePyJson(new TextEncoder().encode(bad)), undefined)
  })
})

describe('convertHamtToSharded', () => {
  it('copies a HAMT-backed Zarr into a v2 sharded store, reusing chunk CIDs, with progress', async () => {
    const cas = new InstrumentedStore(await CidMemoryStore.create())
    const map = await HAMT.create<Uint8Array>({ store: cas, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    const group = await zarr.create(zarr.root(zarrStore))
    const a = await zarr.create(group.resolve('a'), { shape: [6, 4], chunkShape: [2, 2], dtype: 'int32' })
    await zarr.set(a, null, {
      data: Int32Array.from({ length: 24 }, (_, i) => i * 3),
      shape: [6, 4],
      stride: [4, 1],
    })
    // A Zarr format 2 chunk key of the same array: rewritten to its v3 key.
    await map.set('a/2.1', (await map.get('a/c/2/1')) as Uint8Array)
    await map.delete('a/c/2/1')
    await map.flush()
    const progress: number[] = []
    const saved: string[] = []
    const recording = {
      load: cas.load.bind(cas),
      save: async (data: Uint8Array, codec: 'raw' | 'dag-cbor') => {
        saved.push(codec === 'raw' ? new TextDecoder().decode(data) : codec)
        return cas.save(data, codec)
      },
    }
    const root = await convertHamtToSharded(map, recording, {
      chunksPerShard: 4,
      progressEvery: 1,
      onProgress: ({ done }) => progress.push(done),
    })
    // Saved: the shards and the root, and py-hamt's default root group (a/zarr.json comes first in
    // the HAMT, before the real zarr.json replaces it). No chunk is uploaded again.
    assert.deepEqual(saved.sort(), [
      'dag-cbor',
      'dag-cbor',
      'dag-cbor',
      '{"zarr_format": 3, "node_type": "group", "attributes": {}}',
    ])
    assert.deepEqual(
      progress,
      [...progress].sort((x, y) => x - y),
    )
    assert.equal(progress.at(-1), await map.size())
    const sharded = await ShardedZarrStore.open(root, { store: cas })
    const { data } = await zarr.get(await zarr.open(zarr.root(sharded).resolve('a'), { kind: 'array' }))
    assert.deepEqual(
      Array.from(data as Int32Array),
      Array.from({ length: 24 }, (_, i) => i * 3),
    )

    await map.set('a/not-a-chunk', bytes(1))
    await assert.rejects(
      convertHamtToSharded(map, cas),
      (err) => isHamtError(err, 'ERR_INVALID_VALUE') && err.message.includes('a/not-a-chunk'),
    )
    const memoryMap = await HAMT.create<Uint8Array>({
      store: await MemoryStore.create(),
      valuesAreBytes: true,
    })
    await memoryMap.set('zarr.json', bytes(123, 125))
    await assert.rejects(convertHamtToSharded(memoryMap, cas), (err) => isHamtError(err, 'ERR_INVALID_VALUE'))
  })
})
