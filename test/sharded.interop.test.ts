// Sharded Zarr interop with the real py-hamt 3.6.0 ShardedZarrStore + xarray on one real Kubo daemon:
// stores Python writes open in ts-hamt (zarrita) with every value equal, replaying Python's exact
// store calls gives the same root CIDs, stores ts-hamt writes open in xarray, and the HAMT → sharded
// converter gives py-hamt's root CID and a dataset equal to its source.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
import { hexToBytes } from '../src/blocks.js'
import { HAMT, KuboStore, ShardedZarrStore } from '../src/index.js'
import { convertHamtToSharded } from '../src/layout.js'
import { readVariable, type Variable, writeClimate } from './helpers/climate.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { shardedDriver, zarrDriver } from './helpers/python.js'
import { testSeed } from './helpers/random.js'
import { applyStructural, replayStoreCalls, type StructuralOp } from './helpers/sharded.js'

type Described = Variable & { dims: string[] }
type Written = {
  roots: string[]
  logs: [string, string, string][][]
  group: string | null
  expected: Record<string, Described>
}
type Read = { version: string; variables: Record<string, Described>; metadataKeys: string[] }

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }
const kubo = (): KuboStore => new KuboStore(kuboOptions(urls))
const CHUNKS_PER_SHARD = 5

/** Every variable as zarrita reads it through ts-hamt, compared with what xarray wrote. */
async function assertSameValues(store: ShardedZarrStore, expected: Record<string, Described>): Promise<void> {
  for (const [name, want] of Object.entries(expected)) {
    if (want.shape.length === 0) {
      // zarrita reads a 0-d array as its one value, not as {data, shape}.
      const array = await zarr.open(zarr.root(store).resolve(name), { kind: 'array' })
      assert.deepEqual([Number(await zarr.get(array))], want.values, `${name} value`)
      continue
    }
    const got = await readVariable(store, name)
    assert.deepEqual(got.shape, want.shape, `${name} shape`)
    assert.deepEqual(got.values, want.values, `${name} values`)
  }
}

const scenarios = ['single', 'multi', 'forecast', 'append', 'scalar'] as const

describe('py-hamt writes, ts-hamt reads and writes the same bytes', () => {
  for (const scenario of scenarios) {
    for (const version of ['v1', 'v2'] as const) {
      it(`${scenario} ${version}`, async () => {
        const written = await shardedDriver<Written>('write', {
          ...urls,
          scenario,
          version,
          chunksPerShard: CHUNKS_PER_SHARD,
        })
        const opened = await ShardedZarrStore.open(written.roots.at(-1) as string, { store: kubo() })
        assert.equal(opened.version, `sharded_zarr_${version}`)
        // v2 roots with one top-level group read as if that group were the root (py-hamt's default group).
        await assertSameValues(opened, written.expected)

        const primary = { forecast: 't2m', scalar: 's' }[scenario as string] ?? 'temp'
        const want = written.expected[primary] as Described
        const shape = scenario === 'append' ? [4, ...want.shape.slice(1)] : want.shape
        const chunkShape = {
          single: [2, 8, 10],
          append: [2, 8, 10],
          multi: [2, 8, 10],
          forecast: [1, 2, 5, 3],
          scalar: [],
        }[scenario]
        let store =
          version === 'v1'
            ? await ShardedZarrStore.create({
                store: kubo(),
                arrayShape: shape,
                chunkShape,
                chunksPerShard: CHUNKS_PER_SHARD,
              })
            : await ShardedZarrStore.create({ store: kubo(), chunksPerShard: CHUNKS_PER_SHARD })
        for (const [phase, log] of written.logs.entries()) {
          if (phase > 0)
            store = await ShardedZarrStore.open(written.roots[phase - 1] as string, {
              store: kubo(),
              readOnly: false,
            })
          await replayStoreCalls(store, log)
          assert.equal((await store.flush()).toString(), written.roots[phase], `root after phase ${phase}`)
        }
      })
    }
  }
})

describe('Zarr format 2 datasets in sharded stores (classic chunk keys such as temp/0.1.2)', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`single ${version}`, async () => {
      const request = {
        ...urls,
        scenario: 'single',
        version,
        chunksPerShard: CHUNKS_PER_SHARD,
        zarrFormat: 2,
      }
      const written = await shardedDriver<Written>('write', request)
      const root = written.roots[0] as string
      await assertSameValues(await ShardedZarrStore.open(root, { store: kubo() }), written.expected)
      const store =
        version === 'v1'
          ? await ShardedZarrStore.create({
              store: kubo(),
              arrayShape: written.expected.temp?.shape as number[],
              chunkShape: [2, 8, 10],
              chunksPerShard: CHUNKS_PER_SHARD,
            })
          : await ShardedZarrStore.create({ store: kubo(), chunksPerShard: CHUNKS_PER_SHARD })
      await replayStoreCalls(store, written.logs[0] as [string, string, string][])
      assert.equal((await store.flush()).toString(), root)
      // v2 shards the classic keys of registered arrays; v1 keeps them in the metadata map.
      const classicKeys = store.metadataKeys().filter((key) => /^(0\/)?temp\/\d+\.\d+\.\d+$/.test(key))
      assert.equal(classicKeys.length, version === 'v1' ? 12 : 0)
    })
  }
})

describe('shard read modes: full, sparse and auto read the same bytes as py-hamt 3.6.0 in each mode', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`multi ${version}`, async () => {
      const written = await shardedDriver<Written>('write', {
        ...urls,
        scenario: 'multi',
        version,
        chunksPerShard: CHUNKS_PER_SHARD,
      })
      const root = written.roots.at(-1) as string
      const keys: string[] = []
      for await (const key of (await ShardedZarrStore.open(root, { store: kubo() })).list()) keys.push(key)
      assert.ok(keys.filter((key) => key.includes('/c/')).length > 10, 'chunk keys listed')
      const hex = (bytes: Uint8Array | undefined): string | null =>
        bytes === undefined ? null : Buffer.from(bytes).toString('hex')
      const reads: Record<string, Record<string, string | null>> = {}
      for (const mode of ['full', 'sparse', 'auto'] as const) {
        const store = await ShardedZarrStore.open(root, { store: kubo(), shardReadMode: mode })
        reads[`ts ${mode}`] = Object.fromEntries(
          await Promise.all(keys.map(async (key) => [key, hex(await store.get(key))] as const)),
        )
        const py = await shardedDriver<{ values: Record<string, string | null> }>('get', {
          ...urls,
          root,
          mode,
          keys,
        })
        reads[`py ${mode}`] = py.values
      }
      const [first, ...others] = Object.entries(reads)
      assert.ok(
        first && Object.values(first[1]).every((value) => value !== null),
        'every listed key has bytes',
      )
      for (const [reader, values] of others)
        assert.deepEqual(values, first?.[1], `${reader} against ${first?.[0]}`)
    })
  }
})

/** An empty sharded store for the climate dataset: v1 from its shape, v2 with the arrays in group "0". */
async function newClimateStore(version: 'v1' | 'v2'): Promise<{ store: ShardedZarrStore; group: string }> {
  if (version === 'v2')
    return { store: await ShardedZarrStore.create({ store: kubo(), chunksPerShard: 3 }), group: '0' }
  const store = await ShardedZarrStore.create({
    store: kubo(),
    arrayShape: [4, 6, 8],
    chunkShape: [2, 3, 4],
    chunksPerShard: 3,
  })
  return { store, group: '' }
}

describe('ts-hamt writes with zarrita, py-hamt reads with xarray', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`climate ${version}`, async () => {
      const { store, group } = await newClimateStore(version)
      const wrote = await writeClimate(store, group)
      const root = await store.flush()
      const read = await shardedDriver<Read>('read', {
        ...urls,
        root: root.toString(),
        ...(group ? { group } : {}),
      })
      assert.equal(read.version, `sharded_zarr_${version}`)
      for (const [name, want] of Object.entries(wrote)) {
        const got = read.variables[name]
        assert.ok(got, `xarray sees ${name}`)
        assert.deepEqual(got.shape, want.shape, `${name} shape`)
        assert.deepEqual(got.values, want.values, `${name} values`)
      }
      // v1 shards only the primary array: coordinates stay in the metadata map, as py-hamt keeps them.
      if (version === 'v1') assert.ok(read.metadataKeys.includes('lat/c/0'))
    })
  }
})

describe('ts-hamt appends along time, xarray reads the longer dataset', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(version, async () => {
      const { store, group } = await newClimateStore(version)
      const path = (name: string): string => (group === '' ? name : `${group}/${name}`)
      const wrote = await writeClimate(store, group)
      await store.flush()
      // Two more time steps: py-hamt's resize_variable for each time-dimensioned array (v1 also resizes
      // its one shard index), then zarrita writes the new steps.
      if (version === 'v1') await store.resize([6, 6, 8])
      await store.resizeVariable(path('time'), [6])
      for (const name of ['temp', 'precip']) await store.resizeVariable(path(name), [6, 6, 8])
      const grow = async (name: string, extra: number[]): Promise<void> => {
        const want = wrote[name] as Variable
        const array = await zarr.open(zarr.root(store).resolve(path(name)), { kind: 'array' })
        const values = [...want.values, ...extra]
        const numbers = values.map((v) => v ?? Number.NaN)
        const data =
          array.dtype === 'int32'
            ? Int32Array.from(numbers)
            : array.dtype === 'float64'
              ? Float64Array.from(numbers)
              : Float32Array.from(numbers)
        const shape = [...array.shape]
        const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
        await zarr.set(array, null, { data, shape, stride } as never)
        wrote[name] = { ...want, shape, values }
      }
      await grow('time', [4, 5])
      await grow(
        'temp',
        Array.from({ length: 96 }, (_, i) => 300 + i / 4),
      )
      await grow(
        'precip',
        Array.from({ length: 96 }, (_, i) => -i / 8),
      )
      const root = await store.flush()
      const read = await shardedDriver<Read>('read', {
        ...urls,
        root: root.toString(),
        ...(group ? { group } : {}),
      })
      for (const [name, want] of Object.entries(wrote)) {
        assert.deepEqual(read.variables[name]?.shape, want.shape, `${name} shape`)
        assert.deepEqual(read.variables[name]?.values, want.values, `${name} values`)
      }
    })
  }
})

describe('convertHamtToSharded', () => {
  it('gives py-hamt converter’s root CID, reuses chunk CIDs, and xarray reads the source dataset', async () => {
    const source = await zarrDriver<{ root: string; expected: Record<string, Described> }>('write', {
      store: 'kubo',
      ...urls,
      dataset: 'climate',
    })
    const hamt = await HAMT.open<Uint8Array>(CID.parse(source.root), {
      store: kubo(),
      valuesAreBytes: true,
      readOnly: true,
    })
    const progress: { phase: string; done: number; total: number }[] = []
    const root = await convertHamtToSharded(hamt, kubo(), {
      chunksPerShard: 7,
      onProgress: (p) => progress.push(p),
    })
    const python = await shardedDriver<{ root: string }>('convert', {
      ...urls,
      hamtRoot: source.root,
      chunksPerShard: 7,
    })
    assert.equal(root.toString(), python.root)
    assert.equal(progress.at(-1)?.phase, 'flush')
    assert.equal(progress.at(-1)?.done, await hamt.size())

    const read = await shardedDriver<Read>('read', { ...urls, root: root.toString() })
    assert.equal(read.version, 'sharded_zarr_v2')
    for (const [name, want] of Object.entries(source.expected)) {
      assert.deepEqual(read.variables[name]?.values, want.values, `${name} values`)
    }
    // Chunk CIDs are the HAMT's: every chunk pointer of the HAMT is a shard entry of the result.
    const sharded = await ShardedZarrStore.open(root, { store: kubo() })
    const key = 'temp/c/1/1/1'
    assert.deepEqual(await sharded.get(key), await hamt.get(key))
    await assertSameValues(sharded, source.expected as Record<string, Described>)
  })
})

describe('resize, graft and v1 → v2 migration give py-hamt’s root CIDs', async () => {
  const single = (version: 'v1' | 'v2'): Promise<Written> =>
    shardedDriver<Written>('write', {
      ...urls,
      scenario: 'single',
      version,
      chunksPerShard: CHUNKS_PER_SHARD,
    })
  const [v1, v2] = await Promise.all([single('v1'), single('v2')])
  const rootOf = (written: Written): string => written.roots.at(-1) as string
  const cases: { name: string; root: () => string; ops: StructuralOp[] }[] = [
    {
      name: 'v1: grow the first dimension, then the metadata',
      root: () => rootOf(v1),
      ops: [
        { op: 'resize', shape: [9, 16, 20] },
        { op: 'resizeVariable', name: 'temp', shape: [9, 16, 20] },
      ],
    },
    {
      name: 'v1: shrink and grow inner dimensions',
      root: () => rootOf(v1),
      ops: [{ op: 'resize', shape: [6, 9, 31] }],
    },
    {
      name: 'v2: resize one array and its metadata',
      root: () => rootOf(v2),
      ops: [
        { op: 'resize', shape: [6, 16, 35], arrayPath: '0/temp' },
        { op: 'resizeVariable', name: '0/temp', shape: [8, 16, 35] },
      ],
    },
    { name: 'v1 → v2 migration', root: () => rootOf(v1), ops: [{ op: 'migrate', path: '0/temp' }] },
  ]
  for (const { name, root, ops } of cases) {
    it(name, async () => {
      const python = await shardedDriver<{ root: string }>('ops', { ...urls, root: root(), ops })
      const store = await ShardedZarrStore.open(root(), { store: kubo(), readOnly: false })
      assert.equal(await applyStructural(store, ops), python.root)
    })
  }

  it('graft a store into a bigger one at a chunk offset', async () => {
    const create = { arrayShape: [12, 16, 20], chunkShape: [2, 8, 10], chunksPerShard: CHUNKS_PER_SHARD }
    const ops: StructuralOp[] = [{ op: 'graft', root: rootOf(v1), offset: [3, 0, 0] }]
    const python = await shardedDriver<{ root: string }>('ops', { ...urls, create, ops })
    const store = await ShardedZarrStore.create({ store: kubo(), ...create })
    assert.equal(await applyStructural(store, ops), python.root)
    const grafted = await ShardedZarrStore.open(python.root, { store: kubo() })
    const source = await ShardedZarrStore.open(rootOf(v1), { store: kubo() })
    assert.deepEqual(await grafted.get('temp/c/4/1/1'), await source.get('temp/c/1/1/1'))
    assert.equal(await grafted.get('temp/c/0/0/0'), undefined)
  })

  it('a migrated store reads the same in xarray and zarrita', async () => {
    const store = await ShardedZarrStore.open(rootOf(v1), { store: kubo(), readOnly: false })
    const migrated = await store.migrateToV2('0/temp')
    assert.equal(store.version, 'sharded_zarr_v2')
    const read = await shardedDriver<Read>('read', { ...urls, root: migrated.toString(), group: '0' })
    for (const [name, want] of Object.entries(v1.expected)) {
      assert.deepEqual(read.variables[name]?.values, want.values, `${name} values in xarray`)
    }
    await assertSameValues(await ShardedZarrStore.open(migrated, { store: kubo() }), v1.expected)
  })
})

type Call = [op: 'set' | 'delete' | 'flush', key: string, hex: string]
type Fields = Record<string, unknown>
const map = (fields: Fields, key: string): Fields => fields[key] as Fields

describe('store-call histories give py-hamt’s root CIDs, updates that change nothing included', () => {
  const seed = testSeed()
  const toHex = (data: Uint8Array): string => Buffer.from(data).toString('hex')
  const json = (value: unknown): string => toHex(new TextEncoder().encode(JSON.stringify(value)))
  const arrayDoc = json({
    zarr_format: 3,
    node_type: 'array',
    shape: [6, 8],
    data_type: 'uint8',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [2, 2] } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs: [{ name: 'bytes' }],
  })
  const groupDoc = json({ zarr_format: 3, node_type: 'group', attributes: {} })
  // A 3x4 grid of chunks, 5 to a shard: 3 shards, the last one short.
  const coords = [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((j) => `${i}/${j}`))
  const layouts = {
    v1: { array: 'temp', start: [['set', 'zarr.json', groupDoc]] as Call[] },
    v2: { array: '0/temp', start: [['set', '0/zarr.json', groupDoc]] as Call[] },
  }

  /** Replays `calls` in py-hamt and in ts-hamt; the roots after each flush must be equal. */
  const create = { arrayShape: [6, 8], chunkShape: [2, 2], chunksPerShard: 5 }
  const newStore = (version: 'v1' | 'v2'): Promise<ShardedZarrStore> =>
    version === 'v1'
      ? ShardedZarrStore.create({ store: kubo(), ...create })
      : ShardedZarrStore.create({ store: kubo(), chunksPerShard: 5 })

  /** Replays `calls` in py-hamt and in ts-hamt (on a new store, or on `root`); the roots after each flush must be equal. */
  async function compare(version: 'v1' | 'v2', calls: Call[], root?: string): Promise<void> {
    const request =
      root !== undefined
        ? { root, calls }
        : version === 'v1'
          ? { create, calls }
          : { chunksPerShard: 5, calls }
    const python = await shardedDriver<{ roots: string[] }>('replay', { ...urls, ...request })
    const store =
      root !== undefined
        ? await ShardedZarrStore.open(root, { store: kubo(), readOnly: false })
        : await newStore(version)
    const roots: string[] = []
    for (const [op, key, hex] of calls) {
      if (op === 'set') await store.set(key, hexToBytes(hex))
      else if (op === 'delete') await store.delete(key)
      else roots.push((await store.flush()).toString())
    }
    assert.deepEqual(roots, python.roots)
  }

  for (const version of ['v1', 'v2'] as const) {
    const { array, start } = layouts[version]
    const metadata: Call[] = [...start, ['set', `${array}/zarr.json`, arrayDoc]]
    it(`${version}: zarr's deletes of all-fill chunks in shards never written`, async () => {
      await compare(version, [
        ...metadata,
        ['set', `${array}/c/0/0`, '01'],
        ...coords.slice(1).map((c): Call => ['delete', `${array}/c/${c}`, '']),
        ['flush', '', ''],
        ['set', `${array}/c/0/0`, '01'],
        ['flush', '', ''],
        ['delete', `${array}/c/0/0`, ''],
        ['delete', `${array}/c/0/0`, ''],
        ['flush', '', ''],
      ])
    })

    /** A root of `version` as ts-hamt writes it, then changed by `edit` at the DAG-CBOR level. */
    async function editedRoot(edit: (fields: Fields) => void): Promise<string> {
      const store = await newStore(version)
      for (const [, key, hex] of [...metadata, ['set', `${array}/c/0/0`, '01']] as Call[])
        await store.set(key, hexToBytes(hex))
      const cas = kubo()
      const fields = dagCbor.decode(await cas.load(await store.flush())) as Fields
      edit(fields)
      const root = await cas.save(dagCbor.encode(fields), 'dag-cbor')
      await cas.flush()
      return root.toString()
    }

    it(`${version}: root fields py-hamt does not interpret survive a rewrite as in py-hamt`, async () => {
      const root = await editedRoot((fields) => {
        fields.x_top = { k: [1, 2], text: 'é' }
        const index = version === 'v1' ? map(fields, 'chunks') : map(map(fields, 'arrays'), array)
        index.x_index = 'kept in v1, dropped in v2'
        map(index, 'sharding_config').x_config = 7
        if (version === 'v2') map(fields, 'sharding_config').x_default = true
      })
      await compare(
        version,
        [
          ['set', `${array}/c/1/1`, '02'],
          ['flush', '', ''],
        ],
        root,
      )
    })

    it(`${version}: root strings and metadata keys starting with U+FEFF survive a rewrite as in py-hamt`, async () => {
      const root = await editedRoot((fields) => {
        fields.x_top = { '\ufeffbom': '\ufeffvalue' }
      })
      await compare(
        version,
        [
          ['set', `${array}/c/1/1`, '02'],
          ['set', '\ufeffodd/zarr.json', groupDoc],
          ['flush', '', ''],
          ['delete', '\ufeffodd/zarr.json', ''],
          ['flush', '', ''],
        ],
        root,
      )
    })

    it(`${version}: a random history of sets, deletes and flushes (seed ${seed})`, async () => {
      const call = fc.oneof(
        fc
          .tuple(fc.constantFrom(...coords), fc.constantFrom('01', '02', '0303'))
          .map(([c, hex]): Call => ['set', `${array}/c/${c}`, hex]),
        fc.constantFrom(...coords).map((c): Call => ['delete', `${array}/c/${c}`, '']),
        fc.constant<Call>(['flush', '', '']),
        // Metadata updates that change nothing: the same document again, an absent key deleted.
        fc.constantFrom<Call>(
          ['set', `${array}/zarr.json`, arrayDoc],
          ['delete', `${array}/x/zarr.json`, ''],
        ),
      )
      const [history] = fc.sample(fc.array(call, { minLength: 10, maxLength: 60 }), {
        seed: seed + (version === 'v1' ? 0 : 1),
        numRuns: 1,
      })
      await compare(version, [...metadata, ...(history as Call[]), ['flush', '', '']])
    })
  }
})
