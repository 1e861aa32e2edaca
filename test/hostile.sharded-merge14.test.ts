// A sharded root may link one shard block at every position (legal: the same chunks in every
// shard), claiming far more chunks than its blocks hold. A merge of such roots stays within the
// memory budget whatever else the other writer changed, and still refuses what it must.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { diffZarrRoots, mergeZarrRoots, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { FaultStore } from './helpers/fault-injection.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { bytes, v3Array } from './helpers/sharded.js'

const n = 300

/** A root over `g/a` (n shards of n chunks) whose every shard is the one holding `value` at each chunk. */
async function repeated(cas: CidMemoryStore, from: CID, value: number, size = n): Promise<CID> {
  const writer = await ShardedZarrStore.open(from, { store: cas, readOnly: false })
  for (let i = 0; i < size; i++) await writer.set(`g/a/c/${i}/0`, bytes(value))
  const root = dagCbor.decode(await cas.load(await writer.flush())) as {
    arrays: Record<string, { shard_cids: unknown[] }>
  }
  const shards = (root.arrays['g/a'] as { shard_cids: unknown[] }).shard_cids
  shards.fill(shards[0])
  return cas.save(dagCbor.encode(root), 'dag-cbor')
}

/** The base (`g/a`, size^2 x 1, with no chunks) and `a`, a root that links one shard at every position. */
async function setup(size = n): Promise<{ cas: CidMemoryStore; base: CID; a: CID }> {
  const cas = await CidMemoryStore.create()
  const writer = await ShardedZarrStore.create({ store: cas, chunksPerShard: size })
  await writer.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
  await writer.set('g/a/zarr.json', v3Array([size * size, 1], [1, 1]))
  const base = await writer.flush()
  return { cas, base, a: await repeated(cas, base, 1, size) }
}

/** `from` with these metadata documents written. */
async function withMetadata(cas: CidMemoryStore, from: CID, documents: [string, string][]): Promise<CID> {
  const writer = await ShardedZarrStore.open(from, { store: cas, readOnly: false })
  for (const [key, text] of documents) await writer.set(key, new TextEncoder().encode(text))
  return writer.flush()
}

const withAttributes = (shape: number[]) =>
  JSON.stringify({
    ...JSON.parse(new TextDecoder().decode(v3Array(shape, [1, 1]))),
    attributes: { title: 't' },
  })

/** `from` with `g/a` two columns wide: every chunk renumbered. */
const widened = (cas: CidMemoryStore, from: CID, size = n) =>
  withMetadata(cas, from, [['g/a/zarr.json', new TextDecoder().decode(v3Array([size * size, 2], [1, 1]))]])

describe('a merge with a root that links one shard at every position', () => {
  it("the other writer changed the array's own and its group's metadata: within 64 MiB, the one-writer root", async () => {
    const { cas, base, a } = await setup()
    const documents: [string, string][] = [
      ['g/zarr.json', '{"zarr_format":3,"node_type":"group","attributes":{"x":1}}'],
      ['g/a/zarr.json', withAttributes([n * n, 1])],
    ]
    const b = await withMetadata(cas, base, documents)
    const outcome = await withinBudget('merge', () => mergeZarrRoots(base, a, b, { store: cas }), {
      ms: 60_000,
    })
    assert.equal(outcome.error, undefined)
    assert.equal(String(outcome.value), String(await withMetadata(cas, a, documents)))
  })

  it("the other writer changed the array's data type: a typed error naming the array, within 64 MiB", async () => {
    const { cas, base, a } = await setup()
    const document = new TextDecoder().decode(v3Array([n * n, 1], [1, 1])).replace('"uint8"', '"int8"')
    const b = await withMetadata(cas, base, [['g/a/zarr.json', document]])
    const outcome = await withinBudget('merge', () => mergeZarrRoots(base, a, b, { store: cas }), {
      ms: 60_000,
    })
    assertTypedError(outcome, 'ERR_INVALID_ARGUMENT')
    assert.match(String((outcome.error as Error).message), /cannot merge array "g\/a"/)
  })
})

describe('a diff of such a root against a renumbered grid', () => {
  it('streams: its first change comes after a few loads, not after reading every shard', async () => {
    const { cas, base, a } = await setup()
    const counting = new FaultStore(cas)
    const from = await widened(cas, base)
    let loads: number | undefined
    for await (const change of diffZarrRoots(from, a, { store: counting })) {
      if (change.type !== 'chunk') continue
      loads = counting.calls
      break
    }
    // Both roots, the changed zarr.json on each side, a shard: holding every chunk first read all n.
    assert.ok(loads !== undefined && loads <= 8, `loads before the first chunk change: ${loads}`)
  })
})

/** Each whole-store walk over such a root: its name, and the walk. */
const walks: [string, (cas: CidMemoryStore, base: CID, a: CID, size: number) => Promise<unknown>][] = [
  [
    'a graft of it',
    async (cas, base, a, size) => {
      const writer = await ShardedZarrStore.open(base, { store: cas, readOnly: false })
      await writer.set('g/t/zarr.json', v3Array([size * size, 1], [1, 1]))
      await writer.graft(a, [0, 0], { sourceArrayPath: 'g/a', targetArrayPath: 'g/t' })
      return writer.flush()
    },
  ],
  [
    'a resize of it',
    async (cas, _base, a, size) => {
      const writer = await ShardedZarrStore.open(a, { store: cas, readOnly: false })
      await writer.resizeVariable('g/a', [size * size, 2])
      return writer.flush()
    },
  ],
  [
    'a merge whose other writer renumbered the array',
    async (cas, base, a, size) => mergeZarrRoots(base, a, await widened(cas, base, size), { store: cas }),
  ],
]

describe('whole-store walks over a root that links one shard at every position', () => {
  // The graft at n=700 (490,000 chunks, ~50 KB of blocks) staged every chunk and awaited each: 122-206
  // MiB and 6 s CPU under the test runner (session 15); now a source shard at a time.
  const sizes = [700, n] as const
  for (const [which, [name, walk]] of walks.slice(0, 2).entries()) {
    const size = sizes[which] as number
    it(`${name}: within 64 MiB (n=${size})`, async () => {
      const { cas, base, a } = await setup(size)
      const outcome = await withinBudget(name, () => walk(cas, base, a, size), { ms: 120_000 })
      assert.equal(outcome.error, undefined)
    })
  }
  // Still held per claimed chunk, measured here (session 14, load ~6, after shard blocks linked at
  // many positions decode once): renumbered merge n=300 68-190 MiB (229 before); resize n=700 ~37 MiB
  // by RSS samples.
  const held = [[2, n]] as const
  for (const [which, size] of held) {
    const [name, walk] = walks[which] as (typeof walks)[number]
    it(`${name}: within 64 MiB (n=${size})`, {
      todo: 'every claimed chunk is held (its coordinates or key, and CID): memory grows with positions x shard size',
    }, async () => {
      const { cas, base, a } = await setup(size)
      const outcome = await withinBudget(name, () => walk(cas, base, a, size), { ms: 120_000 })
      assert.equal(outcome.error, undefined)
    })
  }
})

describe('a merge where both writers relinked every shard, to different blocks', () => {
  it('within 64 MiB', {
    todo: 'every chunk both changed is a conflict held with both values for the resolver: n=150 (22,500 chunks) 212 MiB, n=300 499-631 MiB and 6 s CPU',
  }, async () => {
    const { cas, base } = await setup(150)
    const from = await repeated(cas, base, 2, 150)
    const [a, b] = [await repeated(cas, from, 3, 150), await repeated(cas, from, 4, 150)]
    const resolve = (_key: string, sides: { a?: Uint8Array }) => sides.a as Uint8Array
    const outcome = await withinBudget('merge', () => mergeZarrRoots(from, a, b, { store: cas, resolve }), {
      ms: 60_000,
    })
    assert.equal(outcome.error, undefined)
  })
})
