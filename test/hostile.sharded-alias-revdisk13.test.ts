// A caller changing its byte array right after the sharded Zarr store's `set` was called (not
// awaited): what is stored is the bytes at the call, as disk13 made the CID stores' `save` and the
// map's `set` do. The store's write waits its turn (`#inCallOrder`) before its `save` reads the array.
// Real stores: a DiskStore and the in-memory CID store.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { ContentAddressedStore } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { newV1 } from './helpers/sharded.js'

describe('ShardedZarrStore.set: bytes changed by the caller right after the call (revdisk13)', () => {
  for (const kind of ['CidMemoryStore', 'DiskStore'] as const) {
    it(`${kind}: chunks and metadata keep the bytes at the call`, async () => {
      const seed = testSeed()
      const random = mulberry32(seed)
      const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-revdisk13-'))
      try {
        const cas: ContentAddressedStore =
          kind === 'DiskStore' ? await DiskStore.open(directory) : await CidMemoryStore.create()
        const store = await newV1(cas)
        const metadata = new TextEncoder().encode('{"zarr_format": 3, "node_type": "group"}')
        const expected = metadata.slice()
        const setting = store.set('/zarr.json', metadata)
        metadata.fill(0x20)
        await setting
        const keys = ['/a/c/1/2', '/a/c/1/2', '/a/c/0/1', '/a/c/3/3']
        const values = keys.map(() => Uint8Array.from({ length: 64 }, () => Math.floor(random() * 256)))
        const given = values.map((value) => value.slice())
        const sets = keys.map((key, i) => store.set(key, given[i] as Uint8Array))
        for (const value of given) value.fill(9)
        await Promise.all(sets)
        assert.deepEqual(await store.get('/zarr.json'), expected, `seed ${seed}: metadata`)
        assert.deepEqual(await store.get('/a/c/1/2'), values[1], `seed ${seed}: the later set of a key`)
        assert.deepEqual(await store.get('/a/c/0/1'), values[2], `seed ${seed}: a chunk`)
        assert.deepEqual(await store.get('/a/c/3/3'), values[3], `seed ${seed}: a chunk`)
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    })
  }
})
