// Outsider attack on the GC beside an import's return: a collection that begins in the microtasks
// between importCar's end (its flush done, its puts kept) and its caller getting the root cannot
// keep that root (the caller has not got it yet), so the store must: the root returned reads whole.
// Found by hostile.gc-fuzz-revstore9 (run seed 1092102195, round 1219292371).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, importCar } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type Block, carOf, cborBlock, rawBlock } from './helpers/car-blocks.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-import-return11-'))
after(() => rm(scratch, { recursive: true, force: true }))

const targets: { name: string; open: () => Promise<BlockstoreStore> }[] = [
  {
    name: 'BlockstoreStore(MemoryBlockstore)',
    open: async () => new BlockstoreStore(new MemoryBlockstore()),
  },
  { name: 'DiskStore', open: () => DiskStore.open(join(scratch, `d-${Math.random()}`)) },
]

/** How many microtasks after the import's flush the collection begins: until past the caller's resumption. */
const MAX_TICKS = 40

for (const target of targets) {
  describe(`importCar on ${target.name} with a collection beginning as it returns`, () => {
    it('a collection begun after the import flushed, before its caller got the root, leaves the root whole', async () => {
      const random = mulberry32(seed)
      let beforeCaller = 0
      for (let ticks = 0; ticks <= MAX_TICKS; ticks++) {
        const store = await target.open()
        const children: Block[] = []
        for (let i = 0; i < 3; i++) children.push(await rawBlock(`child ${i} ${seed} ${random()}`))
        const root = await cborBlock({ ticks, children: children.map((child) => child.cid) })
        const car = await carOf([root.cid], [...children, root])
        let callerHasRoot = false
        let collectionBegan: boolean | undefined
        let collecting: Promise<unknown> | undefined
        // The import's flush is its last await before it keeps its puts and returns: the collection
        // begins `ticks` microtasks after it (the store's own flush; only the timing is added).
        const flush = store.flush.bind(store)
        store.flush = async (options) => {
          await flush(options)
          if (collecting !== undefined) return
          collecting = (async () => {
            for (let i = 0; i < ticks; i++) await Promise.resolve()
            collectionBegan = !callerHasRoot
            await collectGarbage(store, { keep: [], all: true })
          })()
        }
        const { roots } = await importCar(store, car)
        callerHasRoot = true
        await collecting
        assert.deepEqual(roots, [root.cid])
        // Begun once the caller had the root and keeping nothing, the collection may remove it.
        if (!collectionBegan) break
        beforeCaller++
        for (const block of [root, ...children]) {
          assert.equal(
            await store.hasBlock(block.cid),
            true,
            `importCar returned ${root.cid}, but a collection begun ${ticks} microtasks after its flush (before its caller got it) removed ${block.cid} (seed ${seed})`,
          )
        }
      }
      // The window was crossed: some collections began before the caller resumed, and one after.
      assert.ok(
        beforeCaller > 0 && beforeCaller <= MAX_TICKS,
        `began before the caller at ${beforeCaller} offsets`,
      )
    })
  })
}
