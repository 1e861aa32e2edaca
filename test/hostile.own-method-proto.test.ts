// A method patched on a store class's prototype (a test's spy, an injected failure, instrumentation)
// is a replaced method: the stores' internal fast paths (tentative puts of an import) must call it,
// not skip it for the class's own code. MemoryStore's case is in hostile.hamt-revbuild9.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { BlockstoreStore, importCar } from '../src/index.js'
import { carOf, cborBlock, rawBlock } from './helpers/car-blocks.js'

describe("importCar calls a putBlock patched on BlockstoreStore's prototype", () => {
  it('every block of the CAR goes through the patched putBlock', async (t) => {
    const leaf = await rawBlock('leaf')
    const root = await cborBlock({ child: leaf.cid })
    const car = await carOf([root.cid], [leaf, root])
    const own = BlockstoreStore.prototype.putBlock
    const seen: string[] = []
    t.mock.method(
      BlockstoreStore.prototype,
      'putBlock',
      function (this: BlockstoreStore, ...args: Parameters<BlockstoreStore['putBlock']>) {
        seen.push(args[0].toString())
        return own.apply(this, args)
      },
    )
    const store = new BlockstoreStore(new MemoryBlockstore())
    await importCar(store, car)
    assert.deepEqual(seen.sort(), [leaf.cid.toString(), root.cid.toString()].sort())
    assert.deepEqual(await store.load(leaf.cid), leaf.bytes)
  })
})
