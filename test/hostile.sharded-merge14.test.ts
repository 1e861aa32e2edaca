// A sharded root may link one shard block at every position (legal: the same chunks in every
// shard), claiming far more chunks than its blocks hold. A merge of such roots stays within the
// memory budget whatever else the other writer changed, and still refuses what it must.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { mergeZarrRoots, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { bytes, v3Array } from './helpers/sharded.js'

const n = 300

/** A root over `g/a` (n shards of n chunks) whose every shard is the one holding `value` at each chunk. */
async function repeated(cas: CidMemoryStore, from: CID, value: number): Promise<CID> {
  const writer = await ShardedZarrStore.open(from, { store: cas, readOnly: false })
  for (let i = 0; i < n; i++) await writer.set(`g/a/c/${i}`, bytes(value))
  const root = dagCbor.decode(await cas.load(await writer.flush())) as {
    arrays: Record<string, { shard_cids: unknown[] }>
  }
  const shards = (root.arrays['g/a'] as { shard_cids: unknown[] }).shard_cids
  shards.fill(shards[0])
  return cas.save(dagCbor.encode(root), 'dag-cbor')
}

/** The base (`g/a` with no chunks) and `a`, a root that links one shard at every position. */
async function setup(): Promise<{ cas: CidMemoryStore; base: CID; a: CID }> {
  const cas = await CidMemoryStore.create()
  const writer = await ShardedZarrStore.create({ store: cas, chunksPerShard: n })
  await writer.set('g/zarr.json', new TextEncoder().encode('{"zarr_format":3,"node_type":"group"}'))
  await writer.set('g/a/zarr.json', v3Array([n * n], [1]))
  const base = await writer.flush()
  return { cas, base, a: await repeated(cas, base, 1) }
}

/** `from` with these metadata documents written. */
async function withMetadata(cas: CidMemoryStore, from: CID, documents: [string, string][]): Promise<CID> {
  const writer = await ShardedZarrStore.open(from, { store: cas, readOnly: false })
  for (const [key, text] of documents) await writer.set(key, new TextEncoder().encode(text))
  return writer.flush()
}

const withAttributes = (shape: number[]) =>
  JSON.stringify({ ...JSON.parse(new TextDecoder().decode(v3Array(shape, [1]))), attributes: { title: 't' } })

describe('a merge with a root that links one shard at every position', () => {
  it("the other writer changed the array's own and its group's metadata: within 64 MiB, the one-writer root", async () => {
    const { cas, base, a } = await setup()
    const documents: [string, string][] = [
      ['g/zarr.json', '{"zarr_format":3,"node_type":"group","attributes":{"x":1}}'],
      ['g/a/zarr.json', withAttributes([n * n])],
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
    const document = new TextDecoder().decode(v3Array([n * n], [1])).replace('"uint8"', '"int8"')
    const b = await withMetadata(cas, base, [['g/a/zarr.json', document]])
    const outcome = await withinBudget('merge', () => mergeZarrRoots(base, a, b, { store: cas }), {
      ms: 60_000,
    })
    assertTypedError(outcome, 'ERR_INVALID_ARGUMENT')
    assert.match(String((outcome.error as Error).message), /cannot merge array "g\/a"/)
  })
})
