import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import fc from 'fast-check'
import { hexToBytes } from '../src/blocks.js'
import { diffZarrRoots, MemoryStore, ShardedZarrStore, type ZarrChange } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { pyHamtPython, zarrVersionsDriver } from './helpers/python.js'
import { testSeed } from './helpers/random.js'
import { v3Array } from './helpers/sharded.js'
import { changeLine, changeLines } from './helpers/zarr-changes.js'

const seed = testSeed()

/** The expected lines from two key→content maps, by Zarr's key rules (zarr.json documents, `/c/` chunks). */
function expectedLines(
  a: Map<string, string>,
  b: Map<string, string>,
  nodeTypes: Map<string, string>,
): string[] {
  const out: string[] = []
  const describe = (key: string, kind: string): string => {
    if (key === 'zarr.json' || key.endsWith('/zarr.json')) {
      const path = key === 'zarr.json' ? '' : key.slice(0, -'/zarr.json'.length)
      return kind === 'changed' ? `metadata changed ${key}` : `node ${kind} ${path} ${nodeTypes.get(key)}`
    }
    const marker = key.lastIndexOf('/c/')
    return `chunk ${kind} ${key.slice(0, marker)} ${key
      .slice(marker + 3)
      .split('/')
      .join(',')}`
  }
  for (const [key, value] of a) {
    if (!b.has(key)) out.push(describe(key, 'removed'))
    else if (b.get(key) !== value) out.push(describe(key, 'changed'))
  }
  for (const key of b.keys()) if (!a.has(key)) out.push(describe(key, 'added'))
  return out.sort()
}

type Versions = {
  roots: [string, string]
  blocks: Record<string, string>
  values: [Record<string, string>, Record<string, string>]
  ntime: number
}

describe('diffZarrRoots on versions written by py-hamt 3.6.0 and xarray', () => {
  let versions: Versions
  const store = MemoryStore.create()
  before(async () => {
    await pyHamtPython()
    versions = await zarrVersionsDriver<Versions>('append', {})
    for (const data of Object.values(versions.blocks)) await (await store).save(hexToBytes(data), 'raw')
  })

  it('an appended time step shows as the new chunks and the changed metadata only', async () => {
    const [from, to] = versions.roots.map(hexToBytes) as [Uint8Array, Uint8Array]
    const changes: ZarrChange[] = []
    for await (const change of diffZarrRoots(from, to, { store: await store })) changes.push(change)
    // Against the key-level difference of the contents py-hamt reads back from each version.
    const [a, b] = versions.values.map((v) => new Map(Object.entries(v))) as [
      Map<string, string>,
      Map<string, string>,
    ]
    assert.deepEqual(changes.map(changeLine).sort(), expectedLines(a, b, new Map()))
    // And what an append means: new chunks at the new time index, shapes one longer, nothing else.
    const chunks = changes.filter((c) => c.type === 'chunk')
    assert.ok(chunks.length > 0)
    for (const chunk of chunks) {
      assert.equal(chunk.kind, 'added', changeLine(chunk))
      assert.equal(chunk.coords[0], versions.ntime, changeLine(chunk))
    }
    assert.deepEqual([...new Set(chunks.map((c) => c.path))].sort(), ['station_count', 'temp', 'time'])
    const metadata = changes.filter((c) => c.type === 'metadata')
    assert.deepEqual(metadata.map((m) => m.key).sort(), [
      'station_count/zarr.json',
      'temp/zarr.json',
      'time/zarr.json',
    ])
    for (const m of metadata) {
      const shapes = [m.before, m.after].map((doc) => (doc as { shape: number[] }).shape[0])
      assert.deepEqual(shapes, [versions.ntime, versions.ntime + 1], m.key)
    }
    assert.equal(changes.filter((c) => c.type === 'node' || c.type === 'other').length, 0)
  })

  it('the other way round the same chunks are removed', async () => {
    const [from, to] = versions.roots.map(hexToBytes) as [Uint8Array, Uint8Array]
    const back = await changeLines(diffZarrRoots(to, from, { store: await store }))
    const [a, b] = versions.values.map((v) => new Map(Object.entries(v))) as [
      Map<string, string>,
      Map<string, string>,
    ]
    assert.deepEqual(back, expectedLines(b, a, new Map()))
    assert.ok(back.some((l) => l.startsWith('chunk removed temp')))
  })
})

type Model = Map<string, string>

/** Writes `key` to the sharded store and the model alike. */
async function put(store: ShardedZarrStore, model: Model, key: string, value: Uint8Array): Promise<void> {
  await store.set(key, value)
  model.set(key, Buffer.from(value).toString('hex'))
}

describe('diffZarrRoots on sharded roots (v2) against a model', () => {
  it('random chunk edits, a grown array, an array removed and one added', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.nat(255)), { maxLength: 16 }),
        fc.array(fc.tuple(fc.nat(4), fc.nat(4), fc.integer({ min: -1, max: 255 })), { maxLength: 12 }),
        fc.boolean(),
        async (base, edits, growColumns) => {
          const cas = await CidMemoryStore.create()
          const nodeTypes = new Map([
            ['zarr.json', 'group'],
            ['g/zarr.json', 'group'],
            ['g/a/zarr.json', 'array'],
            ['g/b/zarr.json', 'array'],
            ['g/c/zarr.json', 'array'],
          ])
          const group = new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}')
          const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
          const model: Model = new Map()
          await put(store, model, 'zarr.json', group)
          await put(store, model, 'g/zarr.json', group)
          // v2 wants arrays under a group, as py-hamt 3.6.0.
          await put(store, model, 'g/a/zarr.json', v3Array([4, 4], [1, 1]))
          await put(store, model, 'g/b/zarr.json', v3Array([6], [2]))
          for (const [i, j, v] of base) await put(store, model, `g/a/c/${i}/${j}`, Uint8Array.of(v))
          await put(store, model, 'g/b/c/1', Uint8Array.of(7))
          const from = await store.flush()
          const before = new Map(model)

          const next = await ShardedZarrStore.open(from, { store: cas, readOnly: false })
          // Growing the first dimension keeps chunk numbers; growing another renumbers every chunk.
          await put(next, model, 'g/a/zarr.json', v3Array(growColumns ? [4, 5] : [5, 4], [1, 1]))
          for (const [row, column, v] of edits) {
            const [i, j] = growColumns ? [Math.min(row, 3), column] : [row, Math.min(column, 3)]
            if (v >= 0) await put(next, model, `g/a/c/${i}/${j}`, Uint8Array.of(v))
            else {
              await next.delete(`g/a/c/${i}/${j}`)
              model.delete(`g/a/c/${i}/${j}`)
            }
          }
          await next.deleteDir('g/b')
          for (const key of [...model.keys()]) if (key.startsWith('g/b/')) model.delete(key)
          await put(next, model, 'g/c/zarr.json', v3Array([2], [1]))
          await put(next, model, 'g/c/c/1', Uint8Array.of(9))
          const to = await next.flush()

          assert.deepEqual(
            await changeLines(diffZarrRoots(from, to, { store: cas })),
            expectedLines(before, model, nodeTypes),
          )
          assert.deepEqual(
            await changeLines(diffZarrRoots(to, from, { store: cas })),
            expectedLines(model, before, nodeTypes),
          )
        },
      ),
      { numRuns: 40, seed },
    )
  })

  it('reads only the shards whose CIDs differ', async () => {
    const cas = await CidMemoryStore.create()
    const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    await store.set('a/zarr.json', v3Array([16, 16], [1, 1]))
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 16; j++) await store.set(`a/c/${i}/${j}`, Uint8Array.of(i, j))
    const from = await store.flush()
    await store.set('a/c/9/5', Uint8Array.of(0))
    const to = await store.flush()
    const counting = new InstrumentedStore(cas)
    assert.deepEqual(await changeLines(diffZarrRoots(from, to, { store: counting })), ['chunk changed a 9,5'])
    assert.equal(counting.loads, 4, 'two roots and the one shard on each side')
  })

  it('refuses roots of two layouts, with a typed error', async () => {
    const cas = await CidMemoryStore.create()
    const sharded = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    await sharded.set('zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
    const { HAMT } = await import('../src/index.js')
    const map = await HAMT.create({ store: cas, valuesAreBytes: true })
    await map.set('zarr.json', new Uint8Array(1))
    await assert.rejects(
      changeLines(diffZarrRoots(await sharded.flush(), await map.flush(), { store: cas })),
      {
        code: 'ERR_INVALID_ARGUMENT',
      },
    )
  })
})
