// Outsider attack on GC safety: seeded random interleavings of a map's set/setMany/delete/flush,
// fromEntries and importCar, with collections (keeping every root returned so far) and aborts
// launched between them without waiting. Every root returned must read whole and hold what the
// calls before it gave; once all settle, a collection keeping the final roots leaves nothing else
// (no hold of a failed or aborted call outlives it).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { toHex } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { collectGarbage } from '../src/blocks.js'
import { BlockstoreStore, HAMT, importCar } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type Block, carOf, cborBlock, rawBlock } from './helpers/car-blocks.js'
import { blockFiles, reachable } from './helpers/gc-store.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-fuzz-revstore9-'))
after(() => rm(scratch, { recursive: true, force: true }))

const targets: { name: string; open: (buffer: number) => Promise<BlockstoreStore> }[] = [
  {
    name: 'BlockstoreStore(MemoryBlockstore)',
    open: async (writeBufferBytes) => new BlockstoreStore(new MemoryBlockstore(), { writeBufferBytes }),
  },
  {
    name: 'DiskStore',
    open: (writeBufferBytes) => DiskStore.open(join(scratch, `d-${Math.random()}`), { writeBufferBytes }),
  },
]

type Model = Map<string, string>
/** A call on the map, in call order: what it does to the model if it succeeds. */
type Call = { apply: (model: Model) => void; ok: boolean; flushed?: CID }

async function entriesOf(store: BlockstoreStore, root: CID): Promise<Model> {
  const map = await HAMT.open<string>(root, { store })
  const found: Model = new Map()
  for await (const [key, value] of map.entries()) found.set(key, value)
  return found
}

async function storedBlocks(store: BlockstoreStore): Promise<Set<string>> {
  // blockstore-fs's own listing trips over the store's marker files: the block files are read instead.
  if (store instanceof DiskStore) return blockFiles(store.directory)
  const found = new Set<string>()
  const all = (store.blockstore as { getAll(): AsyncIterable<{ cid: CID }> }).getAll()
  for await (const { cid } of all) found.add(toHex(cid.multihash.bytes))
  return found
}

async function round(target: (typeof targets)[number], roundSeed: number): Promise<void> {
  const random = mulberry32(roundSeed)
  const pick = (n: number) => Math.floor(random() * n)
  const store = await target.open([0, 64, 4096][pick(3)] as number)
  const map = await HAMT.create<string>({ store, maxBucketSize: 1 + pick(3) })
  const calls: Call[] = []
  const returned: CID[] = []
  /** Roots that must equal a model: fromEntries' and importCar's. */
  const built: { root: CID; model: Model | undefined; children?: Block[] }[] = []
  const running: Promise<unknown>[] = []
  const unexpected: unknown[] = []
  const key = () => `k${pick(24)}`
  const track = (promise: Promise<unknown>, call?: Call) =>
    running.push(
      promise.then(
        () => {
          if (call) call.ok = true
        },
        (error: { code?: string; name?: string }) => {
          // Aborts and a second collection's refusal are expected; anything else is a finding.
          const fine =
            error?.name === 'AbortError' ||
            error?.code === 'ERR_ABORTED' ||
            error?.code === 'ERR_KEY_NOT_FOUND' ||
            /already running|is writing to it/.test(String(error))
          if (!fine) unexpected.push(error)
        },
      ),
    )
  const signal = () => {
    if (random() > 0.25) return undefined
    const controller = new AbortController()
    const ticks = pick(20)
    void (async () => {
      for (let i = 0; i < ticks; i++) await Promise.resolve()
      controller.abort()
    })()
    return controller.signal
  }

  for (let step = 0; step < 40; step++) {
    const choice = pick(10)
    if (choice <= 2) {
      const k = key()
      const v = `v${step}-${roundSeed}`
      const call: Call = { apply: (m) => void m.set(k, v), ok: false }
      calls.push(call)
      const s = signal()
      track(map.set(k, v, s ? { signal: s } : undefined), call)
    } else if (choice === 3) {
      const entries = Array.from({ length: 1 + pick(6) }, (_, i) => [key(), `m${step}.${i}`] as const)
      const call: Call = {
        apply: (m) => {
          for (const [k, v] of entries) m.set(k, v)
        },
        ok: false,
      }
      calls.push(call)
      const s = signal()
      track(map.setMany(entries, s ? { signal: s } : undefined), call)
    } else if (choice === 4) {
      const k = key()
      const call: Call = { apply: (m) => void m.delete(k), ok: false }
      calls.push(call)
      track(map.delete(k), call)
    } else if (choice === 5) {
      const call: Call = { apply: () => {}, ok: false }
      calls.push(call)
      const s = signal()
      track(
        map.flush(s ? { signal: s } : undefined).then((root) => {
          call.flushed = root as CID
          returned.push(root as CID)
        }),
        call,
      )
    } else if (choice === 6) {
      const model: Model = new Map(Array.from({ length: 1 + pick(30) }, (_, i) => [`f${i}`, `e${step}.${i}`]))
      const s = signal()
      track(
        HAMT.fromEntries<string>(model, { store, maxBucketSize: 1, ...(s ? { signal: s } : {}) }).then(
          async (fresh) => {
            const root = (await fresh.flush()) as CID
            returned.push(root)
            built.push({ root, model })
          },
        ),
      )
    } else if (choice === 7) {
      const children: Block[] = []
      for (let i = 0; i < 1 + pick(30); i++) children.push(await rawBlock(`c${pick(40)} ${roundSeed}`))
      const root = await cborBlock({ step, children: children.map((child) => child.cid) })
      const s = signal()
      track(
        importCar(store, await carOf([root.cid], [...children, root]), s ? { signal: s } : {}).then(() => {
          returned.push(root.cid)
          built.push({ root: root.cid, model: undefined, children })
        }),
      )
    } else {
      const s = signal()
      track(collectGarbage(store, { keep: [...returned], all: true, ...(s ? { signal: s } : {}) }))
    }
    // Between steps: a few microtasks, sometimes a turn of the event loop.
    if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve))
    else for (let i = pick(6); i > 0; i--) await Promise.resolve()
  }
  await Promise.all(running)
  assert.deepEqual(unexpected, [], `unexpected failures (seed ${roundSeed})`)
  // Every flushed root holds what the successful calls before it gave (they apply in call order).
  const model: Model = new Map()
  for (const call of calls) {
    if (call.flushed !== undefined) {
      assert.deepEqual(
        await entriesOf(store, call.flushed),
        model,
        `flushed root ${call.flushed} (seed ${roundSeed})`,
      )
    }
    if (call.ok) call.apply(model)
  }
  for (const { root, model: expected, children } of built) {
    if (expected !== undefined)
      assert.deepEqual(await entriesOf(store, root), expected, `fromEntries ${root}`)
    for (const child of children ?? [])
      assert.equal(await store.hasBlock(child.cid), true, `import ${root} lost ${child.cid}`)
  }
  // All settled: a collection keeping the final roots leaves exactly what they reach.
  const last = (await map.flush()) as CID
  assert.deepEqual(await entriesOf(store, last), model, `final root (seed ${roundSeed})`)
  const keep = [last, ...built.map((b) => b.root)]
  // A flush's saves are held for collections until a macrotask after it (`SaveHolds`): past that.
  await new Promise((resolve) => setImmediate(resolve))
  await collectGarbage(store, { keep })
  const live = await reachable(store, keep)
  const left = await storedBlocks(store)
  const extra = [...left].filter((hash) => !live.has(hash))
  assert.deepEqual(extra, [], `blocks held past every call's end (seed ${roundSeed})`)
}

for (const target of targets) {
  describe(`collectGarbage in random interleavings on ${target.name}`, () => {
    it('every root returned reads whole and as its calls gave; nothing held once all settle', async () => {
      const random = mulberry32(seed)
      // One round replayed by its own seed (printed in a failure).
      const only = process.env.REVSTORE9_ROUND
      if (only !== undefined) return round(target, Number(only))
      for (let r = 0; r < 12; r++) await round(target, Math.floor(random() * 2 ** 31))
    })
  })
}

describe('collectGarbage in a fixed interleaving that lost an imported root (run seed 1092102195)', () => {
  // A collection began in the microtasks between an import's end (its puts kept, its log out of
  // `unsettled`) and its caller getting the root, so kept neither, and removed the root; a later
  // collection keeping that root found it gone (ERR_BLOCK_NOT_FOUND). Direct: hostile.gc-import-return11.
  it('round 1219292371 on BlockstoreStore(MemoryBlockstore)', () =>
    round(targets[0] as (typeof targets)[number], 1219292371))
})
