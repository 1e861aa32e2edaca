// exportCar over generated DAGs that inline some of their dag-cbor nodes under identity CIDs (as
// Kubo inlines small blocks): what the CAR holds, with and without a base, against a model walk.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CarReader, CarWriter } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { BlockNotFoundError, BlockstoreStore, exportCar, importCar } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

/** Blocks in memory by CID, as a BlockSource; identity CIDs are never stored (no store holds them). */
class Blocks {
  readonly #blocks = new Map<string, Uint8Array>()
  readonly links = new Map<string, CID[]>()

  async node(links: CID[], tag: number, inline: boolean): Promise<CID> {
    const bytes = dagCbor.encode([tag, links])
    const cid = CID.createV1(dagCbor.code, inline ? identity.digest(bytes) : await sha256.digest(bytes))
    if (!inline) this.#blocks.set(String(cid), bytes)
    this.links.set(String(cid), links)
    return cid
  }

  async leaf(tag: number, inline = false): Promise<CID> {
    const bytes = new TextEncoder().encode(`leaf ${tag}`)
    const cid = CID.createV1(raw.code, inline ? identity.digest(bytes) : await sha256.digest(bytes))
    if (!inline) this.#blocks.set(String(cid), bytes)
    this.links.set(String(cid), [])
    return cid
  }

  /** A stored block's bytes (an identity CID's are in the CID). */
  bytesOf(cid: CID): Uint8Array {
    return cid.multihash.code === identity.code
      ? cid.multihash.digest
      : (this.#blocks.get(String(cid)) as Uint8Array)
  }

  async getBlock(cid: CID): Promise<Uint8Array> {
    const bytes = this.#blocks.get(String(cid))
    if (bytes === undefined) throw new BlockNotFoundError(`no block ${cid}`)
    return bytes
  }

  /** Every CID reachable from `root`, itself included: the model. */
  reachable(root: CID): Set<string> {
    const seen = new Set<string>([String(root)])
    const pending = [String(root)]
    for (let cid = pending.pop(); cid !== undefined; cid = pending.pop()) {
      for (const link of this.links.get(cid) ?? []) {
        if (seen.has(String(link))) continue
        seen.add(String(link))
        pending.push(String(link))
      }
    }
    return seen
  }
}

async function carCids(car: AsyncIterable<Uint8Array>): Promise<string[]> {
  const chunks: Uint8Array[] = []
  for await (const chunk of car) chunks.push(chunk)
  const reader = await CarReader.fromBytes(Buffer.concat(chunks))
  const cids: string[] = []
  for await (const block of reader.blocks()) cids.push(String(block.cid))
  return cids
}

/** A random DAG of leaves and nodes linking to earlier blocks, a third of its nodes inlined. */
async function randomDag(random: () => number): Promise<{ blocks: Blocks; root: CID; base: CID }> {
  const blocks = new Blocks()
  const all: CID[] = []
  const pick = (): CID => all[Math.floor(random() * all.length)] as CID
  for (let i = 0; i < 40; i++) {
    if (all.length === 0 || random() < 0.3) all.push(await blocks.leaf(i, random() < 0.3))
    else {
      const links = Array.from({ length: 1 + Math.floor(random() * 3) }, pick)
      all.push(await blocks.node(links, i, random() < 0.35))
    }
  }
  // Roots are stored blocks (a CAR root read as the receiver asks for it), over random tops.
  const root = await blocks.node([pick(), pick(), all.at(-1) as CID], -1, false)
  const base = await blocks.node([pick(), pick()], -2, false)
  return { blocks, root, base }
}

describe('exportCar through identity-inlined dag-cbor nodes', () => {
  it('a base: blocks reached only through an inlined node are sent (they were left out)', async () => {
    const blocks = new Blocks()
    const leaf = await blocks.leaf(0)
    const inline = await blocks.node([leaf], 1, true)
    const root = await blocks.node([inline], 2, false)
    const base = await blocks.node([], 3, false)
    const outcome = await withinBudget('inlined node under a base', () =>
      carCids(exportCar(blocks, root, { base })),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
    assert.deepEqual(new Set(outcome.value), new Set([root, inline, leaf].map(String)))
  })

  it('generated DAGs: the CAR holds what the model reaches, with and without a base, exact or not', async () => {
    const random = mulberry32(seed)
    for (let run = 0; run < 60; run++) {
      const { blocks, root, base } = await randomDag(random)
      const fromRoot = blocks.reachable(root)
      const fromBase = blocks.reachable(base)
      const difference = new Set([...fromRoot].filter((cid) => !fromBase.has(cid)))
      const whole = await carCids(exportCar(blocks, root))
      assert.deepEqual(new Set(whole), fromRoot, `seed ${seed} run ${run}: no base`)
      assert.equal(whole.length, fromRoot.size, `seed ${seed} run ${run}: each block once`)
      const exact = await carCids(exportCar(blocks, root, { base, exact: true }))
      assert.deepEqual(new Set(exact), difference, `seed ${seed} run ${run}: exact`)
      const quick = new Set(await carCids(exportCar(blocks, root, { base })))
      for (const cid of difference) assert.ok(quick.has(cid), `seed ${seed} run ${run}: ${cid} missing`)
      for (const cid of quick) assert.ok(fromRoot.has(cid), `seed ${seed} run ${run}: ${cid} not under root`)
    }
  })
})

/** A CAR of `cids` under `root`, as any writer may make one. */
async function carOf(
  root: CID,
  cids: CID[],
  blocks: Blocks,
  extra: ReadonlyMap<string, Uint8Array> = new Map(),
): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create([root])
  const chunks: Uint8Array[] = []
  const collected = (async () => {
    for await (const chunk of out) chunks.push(chunk)
  })()
  for (const cid of cids) await writer.put({ cid, bytes: extra.get(String(cid)) ?? blocks.bytesOf(cid) })
  await writer.close()
  await collected
  return new Uint8Array(Buffer.concat(chunks))
}

describe('importCar of DAGs with identity CIDs', () => {
  it('generated: whole with or without its identity blocks; a missing block, even below an inlined node, is refused', async () => {
    const random = mulberry32(seed + 1)
    for (let run = 0; run < 60; run++) {
      const { blocks, root } = await randomDag(random)
      const reached = [...blocks.reachable(root)].map((text) => CID.parse(text))
      const isIdentity = (cid: CID): boolean => cid.multihash.code === identity.code
      // Writers differ on identity blocks: some write them, some leave them out (their bytes are in the CID).
      for (const withIdentity of [true, false]) {
        const cids = reached.filter((cid) => withIdentity || !isIdentity(cid))
        const store = new BlockstoreStore(new MemoryBlockstore())
        const outcome = await withinBudget('whole CAR', async () =>
          importCar(store, await carOf(root, cids, blocks)),
        )
        assert.equal(outcome.error, undefined, `seed ${seed} run ${run}: ${String(outcome.error)}`)
      }
      const stored = reached.filter((cid) => !isIdentity(cid) && !cid.equals(root))
      if (stored.length === 0) continue
      const dropped = stored[Math.floor(random() * stored.length)] as CID
      const cids = reached.filter((cid) => !cid.equals(dropped))
      const store = new BlockstoreStore(new MemoryBlockstore())
      const outcome = await withinBudget('CAR without a block', async () =>
        importCar(store, await carOf(root, cids, blocks)),
      )
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
      assert.match(String((outcome.error as Error).message), /incomplete/, `seed ${seed} run ${run}`)
    }
  })
})

describe('importCar of a CAR with a block under a hash no store here can check', () => {
  it('a SHA-512 block anywhere in a generated CAR: a typed error, and nothing reaches the store, not even at its next flush', async () => {
    const random = mulberry32(seed + 2)
    for (let run = 0; run < 20; run++) {
      const { blocks, root } = await randomDag(random)
      const reached = [...blocks.reachable(root)].map((text) => CID.parse(text))
      const stored = reached.filter((cid) => cid.multihash.code !== identity.code && !cid.equals(root))
      // One block of the CAR put under SHA-512 instead (its links are rewritten to it nowhere: a
      // whole CAR still, since the original stays linked and the new one is an extra block).
      const odd = stored[Math.floor(random() * stored.length)] ?? root
      const oddBytes = blocks.bytesOf(odd)
      const odd512 = CID.createV1(odd.code, await sha512.digest(oddBytes))
      const cids = [...reached]
      cids.splice(Math.floor(random() * (cids.length + 1)), 0, odd512)
      const blockstore = new MemoryBlockstore()
      const store = new BlockstoreStore(blockstore)
      const car = await carOf(root, cids, blocks, new Map([[String(odd512), oddBytes]]))
      const outcome = await withinBudget('CAR with a SHA-512 block', () => importCar(store, car))
      assertTypedError(outcome)
      await store.flush()
      const kept = []
      for await (const pair of blockstore.getAll()) kept.push(pair.cid)
      assert.deepEqual(kept.map(String), [], `seed ${seed} run ${run}: a refused CAR put blocks in the store`)
    }
  })
})

describe('exportCar over a source that ignores the signal', () => {
  it('a block that never comes: the caller’s abort ends the export, with or without a base', async () => {
    const random = mulberry32(seed + 3)
    const { blocks, root, base } = await randomDag(random)
    // The root: read by every walk (the base never reaches it).
    const stalled = String(root)
    // A source that ignores the signal (a blockstore over a network that takes no AbortSignal).
    const source = {
      getBlock: (cid: CID): Promise<Uint8Array> =>
        String(cid) === stalled ? new Promise<never>(() => {}) : blocks.getBlock(cid),
    }
    for (const options of [{}, { base }, { base, exact: true }]) {
      const controller = new AbortController()
      setTimeout(() => controller.abort(new Error('caller gave up')), 50)
      const outcome = await withinBudget(`stalled block, ${JSON.stringify(Object.keys(options))}`, () =>
        carCids(exportCar(source, root, { ...options, signal: controller.signal })),
      )
      assert.equal((outcome.error as Error)?.message, 'caller gave up', `seed ${seed}`)
    }
  })
})

describe('importCar from a stream that stalls', () => {
  it('a stream that stops sending mid-CAR: the caller’s abort ends the import', async () => {
    const random = mulberry32(seed + 4)
    const { blocks, root } = await randomDag(random)
    const reached = [...blocks.reachable(root)].map((text) => CID.parse(text))
    const car = await carOf(root, reached, blocks)
    const cut = 1 + Math.floor(random() * (car.length - 1))
    // A network stream that sends part of the CAR and then nothing, never ending.
    async function* stalling(): AsyncGenerator<Uint8Array> {
      yield car.subarray(0, cut)
      await new Promise<never>(() => {})
    }
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('caller gave up')), 50)
    const store = new BlockstoreStore(new MemoryBlockstore())
    const outcome = await withinBudget('stalled stream', () =>
      importCar(store, stalling(), { signal: controller.signal }),
    )
    assert.equal((outcome.error as Error)?.message, 'caller gave up', `seed ${seed}, cut at ${cut}`)
  })
})
