// Outsider attack on DiskStore's largest block: a CAR carrying one block past 4 MiB into a default
// DiskStore, and two stores with different chunk sizes on one directory.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { collectGarbage } from '../src/blocks.js'
import { HAMT, importCar } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type Block, carOf, cborBlock } from './helpers/car-blocks.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-disk-revstore9-'))
after(() => rm(scratch, { recursive: true, force: true }))

async function rawOf(bytes: Uint8Array): Promise<Block> {
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/** Block files (not temporary ones) under a DiskStore's directory. */
async function blockFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.data')).map((entry) => entry.name)
}

describe('importCar of a block of 4 MiB + 1 into a default DiskStore', () => {
  for (const writeBufferBytes of [0, 1 << 20]) {
    it(`is a typed refusal that leaves nothing a collection does not remove (writeBufferBytes ${writeBufferBytes})`, async () => {
      const random = mulberry32(seed)
      const directory = join(scratch, `big-${writeBufferBytes}`)
      const store = await DiskStore.open(directory, { writeBufferBytes })
      const small: Block[] = []
      for (let i = 0; i < 20; i++)
        small.push(await rawOf(Uint8Array.from({ length: 1000 }, () => random() * 256)))
      const big = await rawOf(new Uint8Array((4 << 20) + 1).fill(seed & 255))
      const root = await cborBlock({ small: small.map((block) => block.cid), big: big.cid })
      const car = await carOf([root.cid], [...small, big, root])
      await assert.rejects(importCar(store, car), (error: { code?: string }) => {
        assert.equal(error.code, 'ERR_INVALID_VALUE', String(error))
        return true
      })
      assert.equal(await store.hasBlock(big.cid), false)
      assert.equal(await store.hasBlock(root.cid), false)
      await store.flush()
      await collectGarbage(store, { keep: [], all: true })
      assert.deepEqual(
        await blockFiles(directory),
        [],
        'blocks of the refused import stayed after a collection',
      )
    })
  }
})

describe('two DiskStores with different chunkSize on one directory', () => {
  // The default store refused the 6 MiB block file the 8 MiB store wrote (its read cap was its own
  // chunkSize): reads now allow 64 MiB whatever the chunkSize.
  it('a value the 8 MiB store wrote reads through the default store opened on the same directory', async () => {
    const directory = join(scratch, 'two-sizes')
    const large = await DiskStore.open(directory, { chunkSize: 8 << 20 })
    const value = new Uint8Array(6 << 20).fill(seed & 255)
    const map = await HAMT.create<Uint8Array>({ store: large, valuesAreBytes: true })
    await map.set('v', value)
    const root = await map.flush()
    const small = await DiskStore.open(directory)
    const reopened = await HAMT.open<Uint8Array>(root, { store: small, valuesAreBytes: true })
    const read = await reopened.get('v').catch((error: unknown) => error)
    assert.ok(read instanceof Uint8Array, `the default store could not read the 8 MiB store's block: ${read}`)
    assert.equal(read.length, value.length)
    // A collection through either keeps the value (the root kept).
    await collectGarbage(small, { keep: [root] })
    assert.equal(
      (await (await HAMT.open<Uint8Array>(root, { store: large, valuesAreBytes: true })).get('v'))?.length,
      value.length,
    )
  })
})

describe('a set on a DiskStore aborted while its value is written', () => {
  it("rejects with the signal's reason, not a store failure", async () => {
    const store = await DiskStore.open(join(scratch, 'aborted-write'), { writeBufferBytes: 0 })
    const map = await HAMT.create<string>({ store })
    const controller = new AbortController()
    const blockstore = store.blockstore as { put: (...args: unknown[]) => Promise<unknown> }
    const put = blockstore.put.bind(blockstore)
    // The abort comes as blockstore-fs starts writing: it fails the put with its own PutFailedError.
    blockstore.put = async (...args: unknown[]) => {
      controller.abort()
      return put(...args)
    }
    const failure = await map
      .set('k', `v ${seed}`, { signal: controller.signal })
      .catch((error: unknown) => error)
    assert.equal(failure, controller.signal.reason, `an abort surfaced as ${failure}`)
    blockstore.put = put
    assert.equal(await map.size(), 0)
    await map.set('k', 'again')
    assert.equal(await map.get('k'), 'again')
  })
})
