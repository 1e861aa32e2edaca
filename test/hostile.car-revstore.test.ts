// An outsider's review of importCar's tentative puts: two imports sharing blocks while one fails, and
// an abort at a seeded point of an import that flushes as it goes (every retry must then succeed).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { MemoryBlockstore } from 'blockstore-core'
import type { Pair } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { BlockstoreStore, importCar } from '../src/index.js'
import { carOf, cborBlock, rawBlock, stallingImport } from './helpers/car-blocks.js'
import { mulberry32, testSeed } from './helpers/random.js'
import './helpers/with-resolvers.js'

const seed = testSeed()

/** A real in-memory blockstore whose puts can be held at a gate (a slow disk under a flush). */
class GatedBlockstore extends MemoryBlockstore {
  #gate: PromiseWithResolvers<void> | undefined
  entered = Promise.withResolvers<void>()
  putCalls = 0
  onPut: (call: number) => void = () => {}

  hold(): void {
    this.#gate = Promise.withResolvers<void>()
  }

  release(): void {
    this.#gate?.resolve()
    this.#gate = undefined
  }

  override async put(...args: Parameters<MemoryBlockstore['put']>): Promise<CID> {
    this.onPut(++this.putCalls)
    this.entered.resolve()
    await this.#gate?.promise
    return super.put(...args)
  }

  async keys(): Promise<string[]> {
    const keys: string[] = []
    for await (const pair of this.getAll() as AsyncIterable<Pair>) keys.push(pair.cid.multihash.toString())
    return keys.sort()
  }
}

describe('two imports at once, one relying on a block the other put and then failing', () => {
  it('the block stays even when no flush took it before the failing import dropped its puts', async () => {
    const shared = await rawBlock(`shared by two imports ${seed}`)
    const rootA = await cborBlock({ a: shared.cid })
    const rootB = await cborBlock({ b: shared.cid })
    const carA = await carOf([rootA.cid], [rootA, shared])
    const carB = await carOf([rootB.cid], [rootB]) // relies on the store holding `shared`
    const blockstore = new GatedBlockstore()
    const store = new BlockstoreStore(blockstore, { hash: 'sha2-256' })
    // A flush under way (its write held), started before A puts `shared`: it does not take `shared`.
    await store.save(new TextEncoder().encode(`saved before ${seed}`), 'raw')
    blockstore.hold()
    const flushing = store.flush()
    await blockstore.entered.promise
    const importingA = stallingImport(store, carA, 2)
    await importingA.putAll
    // B puts its root, finds `shared` in the store, and waits for the flush under way to flush its own.
    const putRootB = Promise.withResolvers<void>()
    const importingB = importCar(store, carB, { onProgress: () => putRootB.resolve() })
    await putRootB.promise
    for (let turn = 0; turn < 5; turn++) await nextTurn() // no I/O is left before B's flush waits
    importingA.fail()
    assert.ok((await importingA.outcome) instanceof Error)
    blockstore.release()
    await flushing
    assert.deepEqual((await importingB).roots, [rootB.cid])
    await store.flush()
    assert.equal(await blockstore.has(rootB.cid), true)
    assert.equal(await blockstore.has(shared.cid), true, 'import B succeeded with a root whose child is gone')
  })
})

describe('an import aborted at a seeded point while its puts flush (a small write buffer)', () => {
  it('leaves nothing buffered, writes nothing more later, and a retry succeeds', async () => {
    const random = mulberry32(seed)
    for (let round = 0; round < 6; round++) {
      const leaves = await Promise.all(
        Array.from({ length: 8 + Math.floor(random() * 24) }, (_, i) =>
          rawBlock(`leaf ${round} ${i} ${seed}`),
        ),
      )
      const root = await cborBlock(leaves.map((leaf) => leaf.cid))
      const car = await carOf([root.cid], [root, ...leaves])
      const blockstore = new GatedBlockstore()
      // About four blocks a flush: puts inside the import flush, and so does its end.
      const store = new BlockstoreStore(blockstore, { hash: 'sha2-256', writeBufferBytes: 120 })
      await store.save(new TextEncoder().encode(`kept ${round} ${seed}`), 'raw')
      await store.flush()
      const controller = new AbortController()
      // The abort point: a block's progress report or a blockstore put (during a flush).
      const atProgress = random() < 0.5
      const at = 1 + Math.floor(random() * (leaves.length + 1))
      console.log(`seed ${seed} round ${round}: abort at ${atProgress ? 'block' : 'put'} ${at}`)
      blockstore.putCalls = 0 // the import's puts: one a block
      blockstore.onPut = (call) => {
        if (!atProgress && call === at) controller.abort()
      }
      const outcome = await importCar(store, car, {
        signal: controller.signal,
        onProgress: ({ blocks }) => {
          if (atProgress && blocks === at) controller.abort()
        },
      }).catch((e) => e)
      blockstore.onPut = () => {}
      if (!controller.signal.aborted) assert.fail(`the abort point was never reached (${String(outcome)})`)
      if (!(outcome instanceof Error)) {
        // Aborted only after its last wait: the import is whole.
        assert.equal(store.bufferedBytes, 0)
      } else {
        assert.equal((outcome as Error).name, 'AbortError', String(outcome))
        assert.equal(store.bufferedBytes, 0, 'the aborted import left blocks buffered')
        const written = await blockstore.keys()
        await store.flush()
        assert.deepEqual(await blockstore.keys(), written, 'a later flush wrote what the aborted import put')
      }
      const retried = await importCar(store, car)
      assert.deepEqual(retried.roots, [root.cid])
      for (const block of [root, ...leaves]) assert.equal(await blockstore.has(block.cid), true)
    }
  })
})
