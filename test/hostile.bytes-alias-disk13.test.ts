// A caller changing its byte array right after `set`, `setMany` or a store's `save` was called (not
// awaited): what is stored is the bytes at the call, under a CID that names them (disk13). Before,
// the CID stores hashed the array and copied it into their write buffer an await later: a block that
// failed its own CID on read. Real stores: a DiskStore, a BlockstoreStore over an in-memory
// blockstore, a KuboStore on a real daemon (one chunk and UnixFS files), MemoryStore as the control.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import {
  BlockstoreStore,
  type ContentAddressedStore,
  HAMT,
  KuboStore,
  MemoryStore,
  type StoreId,
} from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { startKubo } from './helpers/kubo.js'
import { mulberry32, testSeed } from './helpers/random.js'

const CHUNK = 1024
const directories: string[] = []
const daemon = startKubo()
after(async () => {
  await (await daemon).stop()
  for (const directory of directories) await rm(directory, { recursive: true, force: true })
})

const stores: [string, () => Promise<ContentAddressedStore>][] = [
  ['MemoryStore', async () => MemoryStore.create()],
  [
    'DiskStore',
    async () => {
      const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-alias13-'))
      directories.push(directory)
      return DiskStore.open(directory, { chunkSize: CHUNK })
    },
  ],
  ['BlockstoreStore', async () => new BlockstoreStore(new MemoryBlockstore(), { chunkSize: CHUNK })],
  [
    'KuboStore',
    async () => {
      const { rpcUrl, gatewayUrl } = await daemon
      return new KuboStore({ rpcUrl, gateways: gatewayUrl, chunker: `size-${CHUNK}` })
    },
  ],
]

/** Seeded values: within one chunk, and UnixFS files of several chunks. */
function values(seed: number): Uint8Array[] {
  const random = mulberry32(seed)
  return [1, 100, CHUNK, CHUNK + 1, 5 * CHUNK + 7].map((size) =>
    Uint8Array.from({ length: size }, () => Math.floor(random() * 256)),
  )
}

describe('bytes changed by the caller right after the call', () => {
  for (const [name, make] of stores) {
    it(`${name}: set, setMany and save keep the bytes at the call`, { timeout: 120_000 }, async () => {
      const seed = testSeed()
      const store = await make()
      const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
      const expected = values(seed)
      const given = expected.map((bytes) => bytes.slice())
      const sets = given.map((bytes, i) => map.set(`set ${i}`, bytes))
      for (const bytes of given) bytes.fill(9)
      await Promise.all(sets)
      const again = expected.map((bytes) => bytes.slice())
      const many = map.setMany(again.map((bytes, i) => [`many ${i}`, bytes]))
      for (const bytes of again) bytes.fill(9)
      await many
      const saved = expected.map((bytes) => bytes.slice())
      const ids = saved.map((bytes) => store.save(bytes, 'raw'))
      for (const bytes of saved) bytes.fill(9)
      const root = await map.flush()
      await store.flush?.()
      const reopened = await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true })
      for (const [i, bytes] of expected.entries()) {
        const size = `seed ${seed}, ${bytes.length} bytes`
        assert.deepEqual(await reopened.get(`set ${i}`), bytes, `${size}: set`)
        assert.deepEqual(await reopened.get(`many ${i}`), bytes, `${size}: setMany`)
        assert.deepEqual(await store.load(await (ids[i] as Promise<StoreId>)), bytes, `${size}: save`)
      }
    })
  }
})
