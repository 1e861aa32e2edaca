// Hostile sharded roots and shards: absurd geometries, lying shards, huge lists of nulls, repeated
// shard CIDs, a tiny root claiming billions of chunks, fuzzed manifests. Each case ends with correct
// data or a typed error, within a few seconds and 64 MiB of extra peak memory.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import type { CID } from 'multiformats/cid'
import { isHamtError, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const cas = await CidMemoryStore.create()
const chunk = await cas.save(Uint8Array.from([42]), 'raw')
const save = (value: unknown): Promise<CID> => cas.save(dagCbor.encode(value), 'dag-cbor')
// Built before the first budgeted case: the budget is on what reading them costs, not on making them.
const millionNulls = await save(new Array(1_000_000).fill(null))

type Geometry = { shape: unknown; chunks: unknown; perShard: unknown; shards: unknown }

/** A v1 root sharding array `a`, with any field as given (valid or not). */
function v1Root({ shape, chunks, perShard, shards }: Geometry): Record<string, unknown> {
  return {
    manifest_version: 'sharded_zarr_v1',
    metadata: {},
    chunks: {
      array_shape: shape,
      chunk_shape: chunks,
      sharding_config: { chunks_per_shard: perShard },
      shard_cids: shards,
      primary_array_path: 'a',
    },
  }
}

const open = async (root: unknown): Promise<ShardedZarrStore> =>
  ShardedZarrStore.open(await save(root), { store: cas })

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

describe('absurd geometries', () => {
  const cases: [string, Geometry][] = [
    [
      'chunks_per_shard 1.2e8 (the 145-byte root)',
      { shape: [10], chunks: [1], perShard: 1.2e8, shards: [null] },
    ],
    ['chunks_per_shard 2**53-1', { shape: [10], chunks: [1], perShard: 2 ** 53 - 1, shards: [null] }],
    ['chunks_per_shard 2**22+1', { shape: [10], chunks: [1], perShard: 2 ** 22 + 1, shards: [null] }],
    ['chunks_per_shard 0', { shape: [10], chunks: [1], perShard: 0, shards: [] }],
    ['chunks_per_shard 2.5', { shape: [10], chunks: [1], perShard: 2.5, shards: [null, null, null, null] }],
    ['chunks_per_shard -1', { shape: [10], chunks: [1], perShard: -1, shards: [] }],
    ['chunks_per_shard a string', { shape: [10], chunks: [1], perShard: '5', shards: [null, null] }],
    ['shape 2**52 over 1-chunks', { shape: [2 ** 52], chunks: [1], perShard: 6250, shards: [null] }],
    ['a grid past 2**53 chunks', { shape: [2 ** 40, 2 ** 40], chunks: [1, 1], perShard: 4, shards: [null] }],
    ['shape not an integer', { shape: [10.5], chunks: [1], perShard: 5, shards: [null, null, null] }],
    ['shape negative', { shape: [-10], chunks: [1], perShard: 5, shards: [] }],
    ['chunk shape 0', { shape: [10], chunks: [0], perShard: 5, shards: [] }],
    ['ranks differ', { shape: [10, 10], chunks: [1], perShard: 5, shards: [] }],
    ['shard_cids too short', { shape: [10], chunks: [1], perShard: 5, shards: [null] }],
    ['shard_cids too long', { shape: [10], chunks: [1], perShard: 5, shards: [null, null, null] }],
    ['shard_cids a map', { shape: [10], chunks: [1], perShard: 5, shards: { 0: null } }],
    ['a shard_cids entry a string', { shape: [10], chunks: [1], perShard: 5, shards: ['bafy', null] }],
    [
      'a shard_cids entry bytes',
      { shape: [10], chunks: [1], perShard: 5, shards: [new Uint8Array(36), null] },
    ],
  ]
  for (const [name, geometry] of cases) {
    it(`${name}: ERR_INVALID_MANIFEST on open`, async () => {
      const outcome = await withinBudget(name, () => open(v1Root(geometry)))
      assertTypedError(outcome, 'ERR_INVALID_MANIFEST')
    })
  }

  it('create and resize refuse them with ERR_INVALID_ARGUMENT', async () => {
    const creates = [
      { arrayShape: [2 ** 52], chunkShape: [1], chunksPerShard: 6250 },
      { arrayShape: [10], chunkShape: [1], chunksPerShard: 2 ** 53 - 1 },
      { arrayShape: [10], chunkShape: [1], chunksPerShard: 1.2e8 },
      { arrayShape: [2 ** 30, 2 ** 30], chunkShape: [1, 1], chunksPerShard: 2 ** 22 },
    ]
    for (const options of creates) {
      const outcome = await withinBudget(`create ${JSON.stringify(options)}`, () =>
        ShardedZarrStore.create({ store: cas, ...options }),
      )
      assertTypedError(outcome, 'ERR_INVALID_ARGUMENT')
    }
    const store = await ShardedZarrStore.create({
      store: cas,
      arrayShape: [4],
      chunkShape: [1],
      chunksPerShard: 2,
    })
    const outcome = await withinBudget('resize to 2**52', () => store.resize([2 ** 52]))
    assertTypedError(outcome, 'ERR_INVALID_ARGUMENT')
    assert.deepEqual(store.arrays()[0]?.arrayShape, [4])
  })
})

describe('geometry at the exact bounds', () => {
  const ones = (rank: number): number[] => new Array(rank).fill(1)

  it('exactly 2**22 shards is a geometry (the root must list them all); 2**22+1 is not', async () => {
    const atBound = await withinBudget('2**22 shards', () =>
      open(v1Root({ shape: [2 ** 22], chunks: [1], perShard: 1, shards: [null] })),
    )
    assertTypedError(atBound, 'ERR_INVALID_MANIFEST')
    assert.match(String(atBound.error), /has 1 entries but the geometry needs 4194304 shards/)
    const past = await withinBudget('2**22+1 shards', () =>
      open(v1Root({ shape: [2 ** 22 + 1], chunks: [1], perShard: 1, shards: [null] })),
    )
    assertTypedError(past, 'ERR_INVALID_MANIFEST')
    assert.match(String(past.error), /needs more than 4194304 shards/)
  })

  it('rank 0 (a scalar) and rank 64 open; a chunk key of the wrong rank is a typed error', async () => {
    for (const rank of [0, 64]) {
      const outcome = await withinBudget(`rank ${rank}`, async () => {
        const store = await open(
          v1Root({ shape: ones(rank), chunks: ones(rank), perShard: 1, shards: [null] }),
        )
        assert.equal(store.arrays()[0]?.shardCount, 1)
        const key = rank === 0 ? 'a/c' : `a/c/${new Array(rank).fill(0).join('/')}`
        assert.equal(await store.get(key), undefined)
        return store.get('a/c/0/0')
      })
      if (rank === 0)
        assert.equal(outcome.value, undefined) // `a/c/0/0` is no chunk of a scalar: metadata
      else assertTypedError(outcome, 'ERR_CHUNK_OUT_OF_BOUNDS')
    }
  })

  it('rank 64 of two chunks each (2**64 chunks) is refused; rank 100000 of ones opens at once', async () => {
    const twos = new Array(64).fill(2)
    assertTypedError(
      await withinBudget('2**64 chunks', () =>
        open(v1Root({ shape: twos, chunks: ones(64), perShard: 4, shards: [null] })),
      ),
      'ERR_INVALID_MANIFEST',
    )
    const wide = v1Root({ shape: ones(100_000), chunks: ones(100_000), perShard: 1, shards: [null] })
    const outcome = await withinBudget('rank 100000', async () => {
      const store = await open(wide)
      return collect(store.list())
    })
    assert.deepEqual(outcome.value, [])
  })
})

describe('missing chunks cost nothing', () => {
  it('a root under 1 KB claiming 2**31 chunks: reads, has and listing are instant', async () => {
    const shards = new Array(512).fill(null)
    const root = v1Root({ shape: [2 ** 15, 2 ** 16], chunks: [1, 1], perShard: 2 ** 22, shards })
    assert.ok(dagCbor.encode(root).length < 1024)
    const outcome = await withinBudget('billions of chunks', async () => {
      const store = await open(root)
      assert.equal(await store.get('a/c/32767/65535'), undefined)
      assert.equal(await store.get('a/c/0/0'), undefined)
      assert.equal(await store.has('a/c/12345/54321'), false)
      assert.deepEqual(await collect(store.list()), [])
      assert.equal(store.cacheStats().bytes, 0)
      return store.arrays()[0]
    })
    assert.equal(outcome.error, undefined)
    assert.equal(outcome.value?.shardCount, 512)
  })

  it('the largest chunks_per_shard allowed, one null shard: a read allocates nothing', async () => {
    const outcome = await withinBudget('4 Mi entries a shard', async () => {
      const store = await open(v1Root({ shape: [2 ** 22], chunks: [1], perShard: 2 ** 22, shards: [null] }))
      assert.equal(await store.get('a/c/4194303'), undefined)
      return store.cacheStats()
    })
    assert.deepEqual(outcome.value, { bytes: 0, shards: 0, dirty: 0 })
  })

  // 256 shards of 2**16 entries: allocating them all (as before) would take 128 MiB.
  it('a resize of a vast empty grid allocates only the shards that receive chunks', async () => {
    const store = await ShardedZarrStore.create({
      store: cas,
      arrayShape: [4, 4],
      chunkShape: [1, 1],
      chunksPerShard: 2 ** 16,
    })
    await store.set('a/c/1/1', Uint8Array.from([1]))
    const outcome = await withinBudget('remap', async () => {
      await store.resize([2 ** 12, 2 ** 12])
      return store.get('a/c/1/1')
    })
    assert.deepEqual(outcome.value, Uint8Array.from([1]))
  })
})

describe('lying shards', () => {
  const geometry = { shape: [10], chunks: [1], perShard: 5 }
  const withShard = async (shard: unknown, raw = false): Promise<unknown> => {
    const id = raw ? await cas.save(shard as Uint8Array, 'dag-cbor') : await save(shard)
    return v1Root({ ...geometry, shards: [id, null] })
  }
  const cases: [string, () => Promise<unknown>][] = [
    ['too few entries', () => withShard([null, null])],
    ['too many entries', () => withShard(new Array(6).fill(null))],
    ['a million nulls', async () => v1Root({ ...geometry, shards: [millionNulls, null] })],
    ['a number entry', () => withShard([null, 1, null, null, null])],
    ['a string entry', () => withShard([null, 'bafy', null, null, null])],
    ['a bytes entry', () => withShard([null, chunk.bytes, null, null, null])],
    ['a map', () => withShard({ 0: chunk })],
    ['not DAG-CBOR', () => withShard(Uint8Array.from([0xff, 0x00, 0x13]), true)],
    [
      'an array header claiming 2**40 entries',
      () => withShard(Uint8Array.from([0x9b, 0, 0, 1, 0, 0, 0, 0, 0, 0xf6]), true),
    ],
  ]
  for (const [name, root] of cases) {
    it(`${name}: ERR_INVALID_MANIFEST naming the shard on read`, async () => {
      const store = await open(await root())
      const outcome = await withinBudget(name, () => store.get('a/c/1'))
      assertTypedError(outcome, 'ERR_INVALID_MANIFEST')
      assert.match((outcome.error as Error).message, /shard 0 \(/)
      // The other shard was never written: its chunks read as absent.
      assert.equal(await store.get('a/c/7'), undefined)
    })
  }

  it('a shard of a million nulls that matches its geometry reads as absent chunks', async () => {
    const big = millionNulls
    const outcome = await withinBudget('a million nulls', async () => {
      const store = await open(
        v1Root({ shape: [2_000_000], chunks: [1], perShard: 1_000_000, shards: [big, null] }),
      )
      return [await store.get('a/c/999999'), await collect(store.list())]
    })
    assert.deepEqual(outcome.value, [undefined, []])
  })
})

describe('repeated shard CIDs', () => {
  it('one shard linked 1000 times reads the same chunk in every shard; a write changes only its own', async () => {
    const shard = await save([chunk, null, null, null])
    const root = v1Root({ shape: [4000], chunks: [1], perShard: 4, shards: new Array(1000).fill(shard) })
    const outcome = await withinBudget('repeated shards', async () => {
      const store = await ShardedZarrStore.open(await save(root), { store: cas, readOnly: false })
      assert.equal((await collect(store.list())).length, 1000)
      assert.deepEqual(await store.get('a/c/3996'), Uint8Array.from([42]))
      await store.delete('a/c/4')
      const reopened = await ShardedZarrStore.open(await store.flush(), { store: cas })
      return [
        await reopened.get('a/c/4'),
        await reopened.get('a/c/0'),
        (await collect(reopened.list())).length,
      ]
    })
    assert.deepEqual(outcome.value, [undefined, Uint8Array.from([42]), 999])
  })
})

describe('fuzzed manifests', () => {
  const seed = testSeed()

  it(`open, read and list end in data or a typed error (seed ${seed})`, async () => {
    const number = fc.oneof(
      fc.integer({ min: -3, max: 12 }),
      fc.constantFrom(0, 2 ** 22, 2 ** 22 + 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 1.2e8, 1e308, 0.5, -0),
    )
    const junk = fc.oneof(number, fc.string({ maxLength: 4 }), fc.constant(null), fc.constant(chunk))
    // Shards that exist: a good one of 3 entries, a lying one, and a million nulls.
    const shardIds = [await save([chunk, null, chunk]), await save([null]), millionNulls]
    const entry = fc.oneof(fc.constant(null), fc.constantFrom(...shardIds), junk)
    // Mostly plausible geometry with a matching shard list, then one field at random made hostile.
    const plausible = fc
      .record({
        shape: fc.array(fc.nat({ max: 9 }), { minLength: 1, maxLength: 3 }),
        chunk: fc.integer({ min: 1, max: 4 }),
        perShard: fc.oneof(fc.constant(3), fc.integer({ min: 1, max: 6 })),
      })
      .chain(({ shape, chunk: size, perShard }) => {
        const total = shape.reduce((n, dim) => n * Math.ceil(dim / size), 1)
        const count = total === 0 ? 0 : Math.ceil(total / perShard)
        const geometry = { shape, chunks: shape.map(() => size), perShard }
        return fc
          .array(entry, { minLength: count, maxLength: count })
          .map((shards) => ({ ...geometry, shards }))
      })
    const hostile = fc.oneof(fc.array(number, { maxLength: 4 }), junk)
    const manifest = fc
      .tuple(plausible, fc.constantFrom('shape', 'chunks', 'perShard', 'shards', 'none', 'none'), hostile)
      .map(([geometry, field, value]) =>
        v1Root(field === 'none' ? geometry : { ...geometry, [field]: value }),
      )
    const roots = fc.sample(manifest, { seed, numRuns: 300 })
    const outcome = await withinBudget('fuzzed manifests', async () => {
      let opened = 0
      for (const root of roots) {
        try {
          const store = await open(root)
          opened++
          const rank = store.arrays()[0]?.arrayShape.length ?? 0
          await store.get(`a/c/${new Array(rank).fill(0).join('/')}`)
          await store.get(
            `a/c/${store
              .arrays()[0]
              ?.arrayShape.map((n) => Math.max(0, Math.ceil(n / 4) - 1))
              .join('/')}`,
          )
          await collect(store.list())
        } catch (error) {
          if (!isHamtError(error)) throw error
        }
      }
      return opened
    })
    assert.equal(outcome.error, undefined, String((outcome.error as Error)?.stack))
    console.log('fuzzed manifests opened', outcome.value, 'of', roots.length)
  })
})
