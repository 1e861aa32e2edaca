import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { HAMT, type HashFn, isHamtError, type MapChange, MemoryStore, type StoreId } from '../src/index.js'
import { InstrumentedStore } from './helpers/instrumented-store.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

type Edit = { kind: 'set'; key: string; value: number } | { kind: 'delete'; key: string }

const keyArb = fc.oneof(fc.integer({ min: 0, max: 200 }).map(String), fc.string({ maxLength: 3 }))
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
)

/** Two hash bytes from a weak mix: many keys share each prefix, so buckets split and collapse deep. */
const twoByteHash: HashFn = (data) => {
  let h = 0x811c
  for (const byte of data) h = ((h ^ byte) * 31) & 0xffff
  return Uint8Array.of(h >> 8, h & 0xff)
}

/** Applies edits to the map and the model alike; a 2-byte hash running out refuses a set, changing nothing. */
async function apply(map: HAMT<number>, model: Map<string, number>, edits: Edit[]): Promise<void> {
  for (const edit of edits) {
    if (edit.kind === 'delete') {
      if (model.delete(edit.key)) await map.delete(edit.key)
      continue
    }
    try {
      await map.set(edit.key, edit.value)
      model.set(edit.key, edit.value)
    } catch (err) {
      if (!isHamtError(err, 'ERR_HASH_EXHAUSTED')) throw err
    }
  }
}

/** The changes from `a` to `b` by the model's definition, sorted by key. */
function modelDiff(a: Map<string, number>, b: Map<string, number>): MapChange<number>[] {
  const out: MapChange<number>[] = []
  for (const [key, before] of a) {
    if (!b.has(key)) out.push({ key, kind: 'removed', before })
    else if (b.get(key) !== before) out.push({ key, kind: 'changed', before, after: b.get(key) })
  }
  for (const [key, after] of b) if (!a.has(key)) out.push({ key, kind: 'added', after })
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
}

async function collect<V>(changes: AsyncIterable<MapChange<V>>): Promise<MapChange<V>[]> {
  const out: MapChange<V>[] = []
  for await (const change of changes) out.push(change)
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
}

async function checkVersions(
  base: Edit[],
  edits: Edit[],
  maxBucketSize: number,
  hashFn: HashFn | undefined,
): Promise<void> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<number>({ store, maxBucketSize, hashFn })
  const modelA = new Map<string, number>()
  await apply(map, modelA, base)
  const rootA = await map.flush()
  const modelB = new Map(modelA)
  await apply(map, modelB, edits)
  const rootB = await map.flush()
  const options = { store, hashFn }
  assert.deepEqual(await collect(HAMT.diff<number>(rootA, rootB, options)), modelDiff(modelA, modelB))
  assert.deepEqual(await collect(HAMT.diff<number>(rootB, rootA, options)), modelDiff(modelB, modelA))
  const keysOnly = await collect(HAMT.diff(rootA, rootB, { ...options, keysOnly: true }))
  assert.deepEqual(
    keysOnly,
    modelDiff(modelA, modelB).map(({ key, kind }) => ({ key, kind })),
  )
}

describe('HAMT.diff against a Map model', () => {
  it('random edits between two versions, BLAKE3, bucket sizes 1–6', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(editArb, { maxLength: 300 }),
        fc.array(editArb, { maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        (base, edits, m) => checkVersions(base, edits, m, undefined),
      ),
      { numRuns: 40, seed },
    )
  })

  it('random edits with a 2-byte hash (deep collisions, splits and collapses), bucket sizes 1–6', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(editArb, { maxLength: 300 }),
        fc.array(editArb, { maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        (base, edits, m) => checkVersions(base, edits, m, twoByteHash),
      ),
      { numRuns: 40, seed: seed + 1 },
    )
  })

  it('a delete that collapses a child back into a bucket shows as that one removal', async () => {
    const store = await MemoryStore.create()
    // BLAKE3 of these five starts with 0xb3: with buckets of 4 the root slot holds a child node.
    const keys = ['5', '15', '123', '317', '349']
    const map = await HAMT.create<number>({ store })
    for (const [i, key] of keys.entries()) await map.set(key, i)
    const split = await map.flush()
    await map.delete('317')
    const collapsed = await map.flush()
    const shapes = async (root: StoreId): Promise<number> => {
      let nodes = 0
      for await (const _ of (await HAMT.open(root, { store })).nodes()) nodes++
      return nodes
    }
    assert.equal(await shapes(split), 2, 'the five keys need a child node')
    assert.equal(await shapes(collapsed), 1, 'four fit the root bucket again')
    assert.deepEqual(await collect(HAMT.diff(split, collapsed, { store })), [
      { key: '317', kind: 'removed', before: 3 },
    ])
    assert.deepEqual(await collect(HAMT.diff(collapsed, split, { store })), [
      { key: '317', kind: 'added', after: 3 },
    ])
  })

  it('equal roots give nothing and load nothing past the roots', async () => {
    const inner = await MemoryStore.create()
    const map = await HAMT.fromEntries(
      Array.from({ length: 500 }, (_, i) => [`k${i}`, i] as const),
      { store: inner },
    )
    const store = new InstrumentedStore(inner)
    assert.deepEqual(await collect(HAMT.diff(map.rootId, map.rootId, { store })), [])
    assert.equal(store.loads, 0)
  })

  it('values come as the map gives them: bytes with valuesAreBytes', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await map.set('a', Uint8Array.of(1))
    const a = await map.flush()
    await map.set('a', Uint8Array.of(2))
    const b = await map.flush()
    assert.deepEqual(await collect(HAMT.diff(a, b, { store, valuesAreBytes: true })), [
      { key: 'a', kind: 'changed', before: Uint8Array.of(1), after: Uint8Array.of(2) },
    ])
  })

  it('refuses a bad root at the call, and stops on an aborted signal', async () => {
    const store = await MemoryStore.create()
    assert.throws(
      () => HAMT.diff('not a cid', 'nor this', { store }),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /from/.test(e.message),
    )
    const map = await HAMT.create<number>({ store })
    await map.set('x', 1)
    const a = await map.flush()
    await map.set('y', 2)
    const b = await map.flush()
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(
      collect(HAMT.diff(a, b, { store, signal: controller.signal })),
      (e: Error) => e.name === 'AbortError',
    )
  })
})

describe('HAMT.diff cost', () => {
  it('100 changed keys in a 60k-key map load nodes along the changed paths only', async () => {
    const inner = await MemoryStore.create()
    const size = 60_000
    const map = await HAMT.fromEntries(
      Array.from({ length: size }, (_, i) => [`key-${i}`, i] as const),
      { store: inner, readOnly: false },
    )
    const before = map.rootId
    let depth = 0
    let totalNodes = 0
    for await (const node of map.nodes()) {
      depth = Math.max(depth, node.depth + 1)
      totalNodes++
    }
    const random = fc.sample(fc.integer({ min: 0, max: size - 1 }), { numRuns: 400, seed })
    const touched = [...new Set(random)].slice(0, 100)
    for (const [n, i] of touched.entries()) {
      if (n % 3 === 0) await map.delete(`key-${i}`)
      else await map.set(`key-${i}`, -i - 1)
    }
    for (let i = 0; i < 20; i++) await map.set(`new-${i}`, i)
    const after = await map.flush()
    const store = new InstrumentedStore(inner)
    const changes = await collect(HAMT.diff(before, after, { store, keysOnly: true }))
    assert.equal(changes.length, 120)
    // Each change's path holds at most `depth` nodes on each side; a collapse or split adds one child walk.
    const bound = 2 * changes.length * (depth + 1)
    // The nodes that differ, counted independently from both trees' node lists: a canonical diff
    // needs each of them once and nothing else.
    const idsOf = async (root: StoreId): Promise<Set<string>> => {
      const ids = new Set<string>()
      for await (const node of (await HAMT.open(root, { store: inner })).nodes()) ids.add(String(node.id))
      return ids
    }
    const [nodesA, nodesB] = [await idsOf(before), await idsOf(after)]
    const differing =
      [...nodesA].filter((id) => !nodesB.has(id)).length + [...nodesB].filter((id) => !nodesA.has(id)).length
    console.log(
      `diff loaded ${store.loads} nodes of ${totalNodes} (depth ${depth}, bound ${bound}, ${differing} differ)`,
    )
    assert.ok(store.loads <= bound, `${store.loads} loads > ${bound}`)
    assert.ok(store.loads <= differing, `${store.loads} loads, but only ${differing} nodes differ`)
  })
})
