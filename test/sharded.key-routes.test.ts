// Where a `set` of each key lands in a sharded store (the root's metadata map, a shard, or an
// error), compared with the real py-hamt 3.6.0 ShardedZarrStore on the same fresh store, v1 and v2,
// with and without arrays. Keys ending in `.zmetadata` under a chunk marker are the case py-hamt's
// sharded store routes as any other key (its metadata suffixes leave `.zmetadata` out).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { isHamtError, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { shardedDriver } from './helpers/python.js'

const ARRAY = JSON.stringify({
  zarr_format: 3,
  node_type: 'array',
  shape: [4],
  data_type: 'uint8',
  chunk_grid: { name: 'regular', configuration: { chunk_shape: [2] } },
  chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
  fill_value: 0,
  codecs: [{ name: 'bytes' }],
})

interface Setup {
  chunksPerShard: number
  arrayShape?: number[]
  chunkShape?: number[]
  metadata?: Record<string, string>
}

const v1 = { chunksPerShard: 4, arrayShape: [4], chunkShape: [2] }
const setups: Record<string, Setup> = {
  'v2, no array': { chunksPerShard: 4 },
  'v2, an array at the root': { chunksPerShard: 4, metadata: { 'zarr.json': ARRAY } },
  'v2, an array at x': { chunksPerShard: 4, metadata: { 'x/zarr.json': ARRAY } },
  'v1 from a shape': v1,
  'v1, an array at x': { ...v1, metadata: { 'x/zarr.json': ARRAY } },
  'v1, an array at the root': { ...v1, metadata: { 'zarr.json': ARRAY } },
}

const keys = [
  '.zmetadata',
  'x/.zmetadata',
  'c/.zmetadata',
  'c/0/.zmetadata',
  'c/1/.zmetadata',
  'c/0/0/.zmetadata',
  'x/c/.zmetadata',
  'x/c/0/.zmetadata',
  'x/y/c/0/.zmetadata',
  'a.zmetadata',
  '0.zmetadata',
  'x/0.zmetadata',
  'c/0/.zarray',
  'x/c/0/zarr.json',
  'c/0',
  'c/1',
  'x/c/0',
  'x/c/1',
]

/** Where ts-hamt puts a `set` of `key` on a fresh store made as `setup` says. */
async function tsRoute(setup: Setup, key: string): Promise<string> {
  const store = await CidMemoryStore.create()
  const sharded = await ShardedZarrStore.create({
    store,
    chunksPerShard: setup.chunksPerShard,
    arrayShape: setup.arrayShape,
    chunkShape: setup.chunkShape,
  })
  const text = (value: string): Uint8Array => new TextEncoder().encode(value)
  for (const [metadataKey, value] of Object.entries(setup.metadata ?? {})) {
    await sharded.set(metadataKey, text(value))
  }
  try {
    await sharded.set(key, text('{}'))
  } catch (error) {
    assert.ok(isHamtError(error), String(error))
    return `error: ${error.code}`
  }
  const root = dagCbor.decode(await store.load(await sharded.flush())) as {
    metadata: Record<string, unknown>
  }
  if (Object.hasOwn(root.metadata, key)) return 'metadata'
  return (await sharded.get(key)) === undefined ? 'lost' : 'chunk'
}

describe('sharded key routes match py-hamt 3.6.0', () => {
  for (const [name, setup] of Object.entries(setups)) {
    it(name, async () => {
      const { routes } = await shardedDriver<{ routes: Record<string, string> }>('route', { setup, keys })
      for (const key of keys) {
        const ours = await tsRoute(setup, key)
        const theirs = routes[key] as string
        if (theirs === 'lost') {
          // py-hamt takes the set and then cannot find the value: an error keeps the caller's data.
          assert.match(
            ours,
            /^error: ERR_INVALID_ARGUMENT$/,
            `${key}: py-hamt loses it, ts-hamt says ${ours}`,
          )
        } else if (theirs.startsWith('error')) {
          assert.match(ours, /^error: /, `${key}: py-hamt ${theirs}, ts-hamt ${ours}`)
        } else {
          assert.equal(ours, theirs, `${key}: py-hamt ${theirs}, ts-hamt ${ours}`)
        }
      }
    })
  }
})
