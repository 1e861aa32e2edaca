// Review 5 of the storage side: identity CIDs held by every store, an importCar that fails or is
// aborted leaving the write buffer as it was, and a CAR that carries a block under another codec
// than the one it is linked by (its links would go unchecked).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { BlockstoreStore, importCar, isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { carOf, cborBlock, rawBlock, stallingImport } from './helpers/car-blocks.js'
import { mulberry32, testSeed } from './helpers/random.js'
import './helpers/with-resolvers.js'

const seed = testSeed()

async function* streamOf(bytes: Uint8Array, size = 7): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

describe('identity CIDs are held by every store (hasBlock agrees with load)', () => {
  const inline = CID.createV1(raw.code, identity.digest(new TextEncoder().encode('inline')))
  it('BlockstoreStore', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    assert.deepEqual(await store.load(inline), new TextEncoder().encode('inline'))
    assert.equal(await store.hasBlock(inline), true)
  })
  it('DiskStore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ts-hamt-review5-'))
    try {
      const store = await DiskStore.open(dir)
      assert.equal(await store.hasBlock(inline), true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('a failed or aborted importCar leaves the write buffer as it was', () => {
  it('a stream cut after some good blocks: none of them left buffered to be flushed later', async () => {
    const random = mulberry32(seed)
    const leaves = await Promise.all(
      Array.from({ length: 5 + Math.floor(random() * 20) }, (_, i) => rawBlock(`leaf ${i} ${random()}`)),
    )
    const root = await cborBlock(leaves.map((leaf) => leaf.cid))
    const missing = await rawBlock('never sent')
    const car = await carOf([root.cid], [root, ...leaves, missing])
    const blockstore = new MemoryBlockstore()
    const store = new BlockstoreStore(blockstore)
    const kept = await store.save(new TextEncoder().encode('saved before'), 'raw')
    const before = store.bufferedBytes
    // Cut inside the last block: every earlier block was good and put.
    const outcome = await importCar(store, streamOf(car.subarray(0, car.length - 3))).catch((e) => e)
    assert.ok(isHamtError(outcome, 'ERR_INVALID_VALUE'), String(outcome))
    assert.equal(store.bufferedBytes, before)
    await store.flush()
    for (const leaf of leaves) assert.equal(await blockstore.has(leaf.cid), false, `${leaf.cid} was flushed`)
    assert.equal(await blockstore.has(root.cid), false)
    assert.equal(await blockstore.has(kept), true)
  })

  it('an abort during the put pass of a whole CAR', async () => {
    const leaves = await Promise.all(Array.from({ length: 40 }, (_, i) => rawBlock(`aborted ${i} ${seed}`)))
    const root = await cborBlock(leaves.map((leaf) => leaf.cid))
    const car = await carOf([root.cid], [root, ...leaves])
    const blockstore = new MemoryBlockstore()
    const direct = new BlockstoreStore(blockstore)
    const controller2 = new AbortController()
    let progress = 0
    const outcome2 = await importCar(direct, car, {
      signal: controller2.signal,
      onProgress: () => {
        if (++progress === 10) controller2.abort()
      },
    }).catch((e) => e)
    assert.equal((outcome2 as Error).name, 'AbortError')
    assert.equal(direct.bufferedBytes, 0)
    await direct.flush()
    for (const leaf of leaves) assert.equal(await blockstore.has(leaf.cid), false, `${leaf.cid} was flushed`)
  })

  it('a block saved by someone else during the import stays buffered when the import fails', async () => {
    const leaf = await rawBlock(`shared ${seed}`)
    const root = await cborBlock([leaf.cid])
    const car = await carOf([root.cid], [root, leaf])
    const blockstore = new MemoryBlockstore()
    // SHA-256, as the CAR's blocks: the save below names the same block.
    const store = new BlockstoreStore(blockstore, { hash: 'sha2-256' })
    // Every block sent, then the stream stalls and breaks: the import fails after putting both blocks.
    const importing = stallingImport(store, car, 2)
    await importing.putAll
    // The same bytes saved as a value while the import runs: that save must not be undone.
    await store.save(leaf.bytes, 'raw')
    importing.fail()
    assert.ok((await importing.outcome) instanceof Error)
    await store.flush()
    assert.equal(await blockstore.has(leaf.cid), true, 'the save made during the import was dropped')
    assert.equal(await blockstore.has(root.cid), false)
  })
})

describe('importCar completeness by codec, not by multihash alone', () => {
  for (const form of ['bytes', 'stream'] as const) {
    it(`a block linked as dag-cbor but carried only as raw: its own links must be in the CAR (${form})`, async () => {
      const hidden = await rawBlock(`never in the car ${seed}`)
      const inner = await cborBlock({ child: hidden.cid })
      const root = await cborBlock([inner.cid])
      // The CAR carries `inner` under a raw CID: matched by multihash, its link to `hidden` was never read.
      const relabelled = { cid: CID.createV1(raw.code, inner.cid.multihash), bytes: inner.bytes }
      const car = await carOf([root.cid], [root, relabelled])
      const store = new BlockstoreStore(new MemoryBlockstore())
      const outcome = await importCar(store, form === 'bytes' ? car : streamOf(car)).catch((e) => e)
      assert.ok(isHamtError(outcome, 'ERR_INVALID_VALUE'), String(outcome))
      assert.match((outcome as Error).message, /incomplete/)
      assert.equal(store.bufferedBytes, 0)
    })

    it(`the same block linked both ways and whole: accepted (${form})`, async () => {
      const leaf = await rawBlock(`present ${seed}`)
      const inner = await cborBlock({ child: leaf.cid })
      const asRaw = CID.createV1(raw.code, inner.cid.multihash)
      const root = await cborBlock([asRaw, inner.cid])
      // Carried once, under its raw CID (as an exporter that dedupes by multihash writes it), before the dag-cbor link.
      const car = await carOf([root.cid], [{ cid: asRaw, bytes: inner.bytes }, root, leaf])
      const store = new BlockstoreStore(new MemoryBlockstore())
      const { blocks } = await importCar(store, form === 'bytes' ? car : streamOf(car))
      assert.equal(blocks, 3)
    })

    it(`a block carried as raw first and linked as dag-cbor later, its link missing (${form})`, async () => {
      const hidden = await rawBlock(`missing ${seed}`)
      const inner = await cborBlock({ child: hidden.cid })
      const asRaw = CID.createV1(raw.code, inner.cid.multihash)
      const root = await cborBlock([asRaw, inner.cid])
      const car = await carOf([root.cid], [{ cid: asRaw, bytes: inner.bytes }, root])
      const store = new BlockstoreStore(new MemoryBlockstore())
      const outcome = await importCar(store, form === 'bytes' ? car : streamOf(car)).catch((e) => e)
      assert.ok(isHamtError(outcome, 'ERR_INVALID_VALUE'), String(outcome))
      assert.equal(store.bufferedBytes, 0)
    })
  }
})

describe('two imports at once', () => {
  it('a block one import found buffered by another that then fails stays (the first relied on it)', async () => {
    const shared = await rawBlock(`shared by two imports ${seed}`)
    const rootA = await cborBlock({ a: shared.cid })
    const rootB = await cborBlock({ b: shared.cid })
    const carA = await carOf([rootA.cid], [rootA, shared])
    const carB = await carOf([rootB.cid], [rootB]) // relies on the store holding `shared`
    const blockstore = new MemoryBlockstore()
    const store = new BlockstoreStore(blockstore, { hash: 'sha2-256' })
    const importingA = stallingImport(store, carA, 2)
    await importingA.putAll
    const { roots } = await importCar(store, carB)
    assert.deepEqual(roots, [rootB.cid])
    importingA.fail()
    assert.ok((await importingA.outcome) instanceof Error)
    await store.flush()
    assert.equal(await blockstore.has(rootB.cid), true)
    assert.equal(await blockstore.has(shared.cid), true, 'the block import B succeeded with is gone')
  })
})
