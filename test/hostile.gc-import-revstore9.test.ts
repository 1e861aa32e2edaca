// Outsider attack on the GC beside an import: a CAR linking a block the store already holds (in no
// root). The check pass finds it held; a collection then deletes it before the put pass puts the
// block that links it. The import must not return a root whose child is gone.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, importCar } from '../src/index.js'
import { type Block, carOf, cborBlock, rawBlock } from './helpers/car-blocks.js'
import { mulberry32, testSeed } from './helpers/random.js'
import './helpers/with-resolvers.js'

const seed = testSeed()

// A DiskStore takes the same path (BlockstoreStore's tentative puts); its listing is its own readdir,
// which this test cannot hold at a gate, so it is not among the targets.
const targets: { name: string; open: () => Promise<BlockstoreStore> }[] = [
  {
    name: 'BlockstoreStore(MemoryBlockstore)',
    open: async () => new BlockstoreStore(new MemoryBlockstore(), { writeBufferBytes: 0 }),
  },
]

for (const target of targets) {
  describe(`importCar of a CAR linking a block ${target.name} holds, beside a collection`, () => {
    it('the held block the import relies on is not swept between its check and its put pass', async () => {
      const random = mulberry32(seed)
      const store = await target.open()
      // The held block: in the store, in no root (garbage until the import links it).
      const held = await rawBlock(`held ${seed} ${random()}`)
      await store.putBlock(held.cid, held.bytes)
      await store.flush()
      // Many blocks before the root in the CAR: the put pass reaches the root well after its check.
      const children: Block[] = []
      for (let i = 0; i < 400; i++) children.push(await rawBlock(`child ${i} ${seed} ${random()}`))
      const root = await cborBlock({ held: held.cid, children: children.map((child) => child.cid) })
      const car = await carOf([root.cid], [...children, root])

      // The collection waits at its listing until the import's put pass has begun.
      const listGate = Promise.withResolvers<void>()
      const listing = Promise.withResolvers<void>()
      const blockstore = store.blockstore as { getAll: (...args: unknown[]) => AsyncIterable<unknown> }
      const getAll = blockstore.getAll.bind(blockstore)
      blockstore.getAll = async function* (...args: unknown[]) {
        listing.resolve()
        await listGate.promise
        yield* getAll(...args)
      }
      // Each write takes a turn of the event loop, as a disk's does: a collection's batch runs between two.
      const blockstorePut = store.blockstore as { put: (...args: unknown[]) => Promise<unknown> }
      const put = blockstorePut.put.bind(blockstorePut)
      blockstorePut.put = async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve))
        return put(...args)
      }
      const collecting = collectGarbage(store, { keep: [], all: true })
      await listing.promise
      const imported = await importCar(store, car, {
        onProgress: () => listGate.resolve(),
      })
      await collecting
      assert.deepEqual(imported.roots, [root.cid])
      assert.equal(
        await store.hasBlock(held.cid),
        true,
        `importCar returned ${root.cid} but its child ${held.cid} (found held by its check) was swept`,
      )
    })
  })
}
