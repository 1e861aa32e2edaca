// exportCar with a base: a CAR of the blocks reachable from the new root and not from the old one.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core/memory'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { concatBytes } from '../src/cas/concat.js'
import { BlockstoreStore, exportCar, HAMT, isHamtError } from '../src/index.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

/** Every block reachable from `root`, by a walk of its own: dag-cbor decoded and searched for CIDs. */
async function reachOf(store: BlockstoreStore, root: CID): Promise<Set<string>> {
  const seen = new Set<string>([root.toString()])
  const stack = [root]
  while (stack.length > 0) {
    const cid = stack.pop() as CID
    if (cid.code === raw.code) continue
    const found: CID[] = []
    const visit = (value: unknown): void => {
      const link = CID.asCID(value)
      if (link !== null) found.push(link)
      else if (Array.isArray(value)) value.forEach(visit)
      else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array))
        Object.values(value).forEach(visit)
    }
    visit(dagCbor.decode(await store.getBlock(cid)))
    for (const link of found) {
      if (seen.has(link.toString())) continue
      seen.add(link.toString())
      stack.push(link)
    }
  }
  return seen
}

async function carBlocks(chunks: AsyncIterable<Uint8Array>): Promise<{ roots: string[]; blocks: string[] }> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk)
  const reader = CarBufferReader.fromBytes(concatBytes(parts))
  return {
    roots: reader.getRoots().map(String),
    blocks: reader.blocks().map((block) => block.cid.toString()),
  }
}

const minus = (a: Set<string>, b: Set<string>): string[] => [...a].filter((x) => !b.has(x)).sort()

type Edit = [key: number, value: number | null]

describe('exportCar with a base', () => {
  it('holds exactly reach(B) − reach(A), shared values included (exact), and the fast walk only adds blocks A has', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(300), fc.nat(40)), { maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(320), fc.option(fc.nat(60))), { maxLength: 60 }),
        async (base: [number, number][], edits: Edit[]) => {
          const store = new BlockstoreStore(new MemoryBlockstore())
          const map = await HAMT.create<number>({ store, maxBucketSize: 2 })
          // Values from a small range: many keys share a value block, across versions too.
          for (const [k, v] of base) await map.set(`k${k}`, v)
          await map.set('anchor', 0)
          const a = (await map.flush()) as CID
          for (const [k, v] of edits) {
            if (v !== null) await map.set(`k${k}`, v)
            else if (await map.has(`k${k}`)) await map.delete(`k${k}`)
          }
          const b = (await map.flush()) as CID
          const [reachA, reachB] = [await reachOf(store, a), await reachOf(store, b)]
          const expected = minus(reachB, reachA)
          const exact = await carBlocks(exportCar(store, b, { base: a, exact: true }))
          assert.deepEqual(exact.roots, [b.toString()])
          assert.deepEqual([...exact.blocks].sort(), expected)
          const fast = await carBlocks(exportCar(store, b, { base: a }))
          assert.equal(new Set(fast.blocks).size, fast.blocks.length, 'each block once')
          for (const cid of expected) assert.ok(fast.blocks.includes(cid), `missing ${cid}`)
          for (const cid of fast.blocks) assert.ok(reachB.has(cid), `${cid} is not under B`)
          if (expected.length > 0) assert.equal(fast.blocks[0], String(b), 'the root comes first')
        },
      ),
      { numRuns: 20, seed },
    )
  })

  it('with distinct values the fast walk is exact too, and reads only blocks that differ', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.fromEntries<string>(
      Array.from({ length: 20_000 }, (_, i) => [`key-${i}`, `value-${i}`] as const),
      { store, readOnly: false },
    )
    const a = map.rootId as CID
    for (let i = 0; i < 50; i++) await map.set(`key-${i * 397}`, `new-${i}`)
    await map.delete('key-5')
    const b = (await map.flush()) as CID
    const [reachA, reachB] = [await reachOf(store, a), await reachOf(store, b)]
    const source = new InstrumentedStore(store)
    const car = await carBlocks(exportCar(source as unknown as BlockstoreStore, b, { base: a }))
    assert.deepEqual([...car.blocks].sort(), minus(reachB, reachA))
    // Inner nodes of both sides that differ, plus the new values read to be sent.
    const differingNodes =
      minus(reachA, reachB).filter((c) => CID.parse(c).code !== raw.code).length +
      minus(reachB, reachA).length
    console.log(`${source.loads} reads for ${car.blocks.length} blocks (${reachB.size} under B)`)
    assert.ok(source.loads <= differingNodes, `${source.loads} reads > ${differingNodes}`)
  })

  it('a value B reaches through new nodes and A only through a shared subtree: exact leaves it out', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.fromEntries<number>(
      Array.from({ length: 3000 }, (_, i) => [`k${i}`, i] as const),
      { store, readOnly: false, maxBucketSize: 1 },
    )
    const a = map.rootId as CID
    // `n1` lands under another root slot than `k7` (BLAKE3 bytes 0 differ), so k7's subtree is shared.
    await map.set('n1', 7)
    const b = (await map.flush()) as CID
    const seven = String(await map.getPointer('k7'))
    assert.equal(String(await map.getPointer('n1')), seven, 'one value block for both keys')
    const [reachA, reachB] = [await reachOf(store, a), await reachOf(store, b)]
    const exact = await carBlocks(exportCar(store, b, { base: a, exact: true }))
    assert.deepEqual([...exact.blocks].sort(), minus(reachB, reachA))
    assert.ok(!exact.blocks.includes(seven))
    const fast = await carBlocks(exportCar(store, b, { base: a }))
    assert.deepEqual([...fast.blocks].sort(), [...minus(reachB, reachA), seven].sort())
  })

  it('names a bad base', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.create({ store })
    await map.set('a', 1)
    const root = await map.flush()
    await assert.rejects(
      carBlocks(exportCar(store, root, { base: 'nope' })),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /options\.base/.test(e.message),
    )
  })
})
