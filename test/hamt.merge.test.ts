import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  HAMT,
  type HashFn,
  isHamtError,
  MERGE_DELETE,
  MemoryStore,
  type MergeSides,
  type StoreId,
} from '../src/index.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { assertSound } from './helpers/maps.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

type Edit = { kind: 'set'; key: string; value: number } | { kind: 'delete'; key: string }
type Model = Map<string, number>

const keyArb = fc.oneof(fc.integer({ min: 0, max: 200 }).map(String), fc.string({ maxLength: 3 }))
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      key: keyArb,
      // Few values, so both sides often write the same one (no conflict) or different ones.
      value: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
)

/** Two hash bytes from a weak mix: many keys share each prefix, so buckets split and collapse deep. */
const twoByteHash: HashFn = (data) => {
  let h = 0x811c
  for (const byte of data) h = ((h ^ byte) * 31) & 0xffff
  return Uint8Array.of(h >> 8, h & 0xff)
}

type Setup = { store: InstrumentedStore; maxBucketSize: number; hashFn: HashFn | undefined }

/** Applies edits to a copy of the model (a set the hash cannot place is skipped by both). */
async function write(setup: Setup, root: StoreId | undefined, model: Model, edits: Edit[]) {
  const { store, maxBucketSize, hashFn } = setup
  const map =
    root === undefined
      ? await HAMT.create<number>({ store, maxBucketSize, hashFn })
      : await HAMT.open<number>(root, { store, maxBucketSize, hashFn, readOnly: false })
  const after = new Map(model)
  for (const edit of edits) {
    if (edit.kind === 'delete') {
      if (after.delete(edit.key)) await map.delete(edit.key)
      continue
    }
    try {
      await map.set(edit.key, edit.value)
      after.set(edit.key, edit.value)
    } catch (err) {
      if (!isHamtError(err, 'ERR_HASH_EXHAUSTED')) throw err
    }
  }
  return { root: await map.flush(), model: after }
}

/** The root one writer gets for `model` starting from `base`: deletes, then sets; undefined if it cannot hold it. */
async function singleWriter(setup: Setup, base: StoreId, baseModel: Model, model: Model) {
  const { store, maxBucketSize, hashFn } = setup
  const map = await HAMT.open<number>(base, { store, maxBucketSize, hashFn, readOnly: false })
  for (const key of baseModel.keys()) if (!model.has(key)) await map.delete(key)
  try {
    for (const [key, value] of model) if (baseModel.get(key) !== value) await map.set(key, value)
  } catch (err) {
    if (isHamtError(err, 'ERR_HASH_EXHAUSTED')) return undefined
    throw err
  }
  return map.flush()
}

async function contents(setup: Setup, root: StoreId): Promise<Model> {
  const { store, maxBucketSize, hashFn } = setup
  const map = await HAMT.open<number>(root, { store, maxBucketSize, hashFn })
  await assertSound(map as HAMT<unknown>)
  const out: Model = new Map()
  for await (const [key, value] of map) out.set(key, value)
  return out
}

/** What a key is on one side: a value, or absent. */
const sideOf = (model: Model, key: string): number | undefined => model.get(key)

/** The model's merge: keys one side changed take that side, keys changed differently are conflicts. */
function modelMerge(base: Model, a: Model, b: Model) {
  const merged = new Map(a)
  const conflicts: string[] = []
  const keys = new Set([...base.keys(), ...a.keys(), ...b.keys()])
  for (const key of keys) {
    const [vBase, vA, vB] = [sideOf(base, key), sideOf(a, key), sideOf(b, key)]
    if (vB === vBase || vA === vB) continue
    if (vA !== vBase) conflicts.push(key)
    else if (vB === undefined) merged.delete(key)
    else merged.set(key, vB)
  }
  return { merged, conflicts: conflicts.sort() }
}

/** The resolver the tests use: the larger value wins, a delete on either side wins over a change. */
function largest(key: string, sides: MergeSides<number>): number | typeof MERGE_DELETE {
  void key
  if (sides.a === undefined || sides.b === undefined) return MERGE_DELETE
  return Math.max(sides.a, sides.b)
}

const sorted = (model: Model): [string, number][] =>
  [...model].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))

async function checkMerge(setup: Setup, baseEdits: Edit[], editsA: Edit[], editsB: Edit[]): Promise<void> {
  const options = { store: setup.store, maxBucketSize: setup.maxBucketSize, hashFn: setup.hashFn }
  const base = await write(setup, undefined, new Map(), baseEdits)
  const a = await write(setup, base.root, base.model, editsA)
  const b = await write(setup, base.root, base.model, editsB)
  const { merged, conflicts } = modelMerge(base.model, a.model, b.model)
  if (conflicts.length > 0) {
    const saves = setup.store.saves
    await assert.rejects(HAMT.merge(base.root, a.root, b.root, options), (err) => {
      assert.ok(isHamtError(err, 'ERR_MERGE_CONFLICT'), String(err))
      assert.equal(err.count, conflicts.length)
      assert.deepEqual(
        err.conflicts.map((c) => c.key),
        conflicts,
      )
      return true
    })
    assert.equal(setup.store.saves, saves, 'a refused merge saves nothing')
    // With the resolver, the conflicting keys take what it returns.
    for (const key of conflicts) {
      const value = largest(key, { a: a.model.get(key) as number, b: b.model.get(key) as number })
      if (!a.model.has(key) || !b.model.has(key) || value === MERGE_DELETE) merged.delete(key)
      else merged.set(key, value)
    }
  }
  const expected = await singleWriter(setup, base.root, base.model, merged)
  /** The resolver, checking it is asked about the conflicts only, with each side's value. */
  const resolverFor =
    (first: Model, second: Model) =>
    (key: string, sides: MergeSides<number>): number | typeof MERGE_DELETE => {
      assert.ok(conflicts.includes(key), `resolver asked about ${key}, no conflict`)
      assert.deepEqual(sides.base, base.model.get(key))
      assert.deepEqual([sides.a, sides.b], [first.get(key), second.get(key)])
      assert.equal('a' in sides, first.has(key))
      return largest(key, sides)
    }
  const resolve = resolverFor(a.model, b.model)
  if (expected === undefined) {
    // The merged key set needs more hash bits than there are: the merge says so as a writer would.
    await assert.rejects(HAMT.merge(base.root, a.root, b.root, { ...options, resolve }), (err) =>
      isHamtError(err, 'ERR_HASH_EXHAUSTED'),
    )
    return
  }
  const root = await HAMT.merge(base.root, a.root, b.root, { ...options, resolve })
  assert.equal(root.toString(), expected.toString(), 'the merged root is the single writer’s')
  assert.deepEqual(sorted(await contents(setup, root)), sorted(merged))
  const swapped = await HAMT.merge(base.root, b.root, a.root, {
    ...options,
    resolve: resolverFor(b.model, a.model),
  })
  assert.equal(swapped.toString(), root.toString(), 'merge is commutative in a and b')
  const same = await HAMT.merge(base.root, a.root, base.root, options)
  assert.equal(same.toString(), a.root.toString(), 'merge(base, a, base) = a')
}

/** Edits of B on keys A's edits do not touch: the changes are disjoint. */
function disjoint(editsA: Edit[], editsB: Edit[]): Edit[] {
  const touched = new Set(editsA.map((e) => e.key))
  return editsB.filter((e) => !touched.has(e.key))
}

const setupArb = fc.integer({ min: 1, max: 6 })
const newSetup = async (maxBucketSize: number, hashFn: HashFn | undefined): Promise<Setup> => ({
  store: new InstrumentedStore(await MemoryStore.create()),
  maxBucketSize,
  hashFn,
})

describe('HAMT.merge against a Map model', () => {
  for (const [name, hashFn, offset] of [
    ['BLAKE3', undefined, 0],
    ['a 2-byte hash (deep collisions, splits and collapses)', twoByteHash, 10],
  ] as const) {
    it(`disjoint changes merge to both applied, ${name}, bucket sizes 1–6`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(editArb, { maxLength: 200 }),
          fc.array(editArb, { maxLength: 60 }),
          fc.array(editArb, { maxLength: 60 }),
          setupArb,
          async (baseEdits, editsA, editsB, m) =>
            checkMerge(await newSetup(m, hashFn), baseEdits, editsA, disjoint(editsA, editsB)),
        ),
        { numRuns: 30, seed: seed + offset },
      )
    })

    it(`overlapping changes: conflicts reported exactly, resolved by the resolver, ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(editArb, { maxLength: 200 }),
          fc.array(editArb, { maxLength: 60 }),
          fc.array(editArb, { maxLength: 60 }),
          setupArb,
          async (baseEdits, editsA, editsB, m) =>
            checkMerge(await newSetup(m, hashFn), baseEdits, editsA, editsB),
        ),
        { numRuns: 30, seed: seed + offset + 1 },
      )
    })
  }

  it('three writers from one base, merged in turn, give the root of one writer writing everything', async () => {
    const setup = await newSetup(4, undefined)
    const options = { store: setup.store }
    const base = await write(setup, undefined, new Map(), [{ kind: 'set', key: 'zarr.json', value: 1 }])
    const parts = [0, 1, 2].map((w) =>
      Array.from({ length: 300 }, (_, i) => ({ kind: 'set' as const, key: `c/${w}/${i}`, value: i })),
    )
    const roots = await Promise.all(
      parts.map(async (edits) => (await write(setup, base.root, base.model, edits)).root),
    )
    let merged = roots[0] as StoreId
    for (const root of roots.slice(1)) merged = await HAMT.merge(base.root, merged, root, options)
    const all = await write(setup, base.root, base.model, parts.flat())
    assert.equal(merged.toString(), all.root.toString())
  })

  it('a merge of a few changes in a big map loads a few nodes, not the map', async () => {
    const setup = await newSetup(4, undefined)
    const entries = Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i] as const)
    const big = await HAMT.fromEntries(entries, { store: setup.store })
    const base = { root: big.rootId, model: new Map(entries) }
    const a = await write(setup, base.root, base.model, [{ kind: 'set', key: 'k1', value: -1 }])
    const b = await write(setup, base.root, base.model, [{ kind: 'delete', key: 'k2' }])
    setup.store.loads = 0
    await HAMT.merge(base.root, a.root, b.root, { store: setup.store })
    // 20 000 keys are ~1 300 nodes; two changed paths of depth ~3 on three trees, and one rewrite.
    assert.ok(setup.store.loads <= 20, `merge loaded ${setup.store.loads} blocks`)
  })

  it('an aborted merge returns nothing and a retry gives the root', async () => {
    const setup = await newSetup(2, undefined)
    const options = { store: setup.store, maxBucketSize: 2 }
    const keys = (w: string) =>
      Array.from({ length: 50 }, (_, i) => ({ kind: 'set' as const, key: `${w}${i}`, value: i }))
    const base = await write(setup, undefined, new Map(), keys('base'))
    const a = await write(setup, base.root, base.model, keys('a'))
    const b = await write(setup, base.root, base.model, keys('b'))
    const controller = new AbortController()
    const store = setup.store
    let saves = 0
    const aborting = {
      load: store.load.bind(store),
      save: async (...args: Parameters<typeof store.save>) => {
        if (++saves === 3) controller.abort(new Error('stop'))
        return store.save(...args)
      },
    }
    await assert.rejects(
      HAMT.merge(base.root, a.root, b.root, { ...options, store: aborting, signal: controller.signal }),
      /stop/,
    )
    const root = await HAMT.merge(base.root, a.root, b.root, options)
    const expected = await write(setup, a.root, a.model, keys('b'))
    assert.equal(root.toString(), expected.root.toString())
  })

  it('without a resolver, the error lists at most 100 conflicts and counts them all', async () => {
    const setup = await newSetup(4, undefined)
    const many = (value: number) =>
      Array.from({ length: 150 }, (_, i) => ({
        kind: 'set' as const,
        key: `k${String(i).padStart(3, '0')}`,
        value,
      }))
    const base = await write(setup, undefined, new Map(), [])
    const a = await write(setup, base.root, base.model, many(1))
    const b = await write(setup, base.root, base.model, many(2))
    await assert.rejects(HAMT.merge(base.root, a.root, b.root, { store: setup.store }), (err) => {
      assert.ok(isHamtError(err, 'ERR_MERGE_CONFLICT'))
      assert.equal(err.count, 150)
      assert.equal(err.conflicts.length, 100)
      assert.deepEqual(err.conflicts[0], { key: 'k000', a: 'added', b: 'added' })
      assert.match(err.message, /150 keys changed differently/)
      return true
    })
  })

  it('rejects a resolver that is not a function', async () => {
    const store = await MemoryStore.create()
    const root = await (await HAMT.create({ store })).flush()
    await assert.rejects(
      HAMT.merge(root, root, root, { store, resolve: 'a' as never }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && /options.resolve/.test(err.message),
    )
  })
})
