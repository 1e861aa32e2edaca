// Tiny hostile trees: a few KB of blocks that try to make walks and reads run forever.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { treeStats } from '../src/cli/commands/inspect.js'
import { Bucket, Link, Node, type Slot } from '../src/hamt/node.js'
import { encodeNode } from '../src/hamt/node-encoder.js'
import { blake3, loadBlake3 } from '../src/hash/blake3.js'
import { HAMT, MemoryStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { repeatedLinks, saveNode, tooDeepForShortHash } from './helpers/hostile-trees.js'

await loadBlake3()
const utf8 = new TextEncoder()
const hashOf = (key: string): Uint8Array => blake3(utf8.encode(key))

/** Runs every walk of the map under budget and returns their outcomes. */
async function walkAll(map: HAMT<unknown>, name: string) {
  return {
    size: await withinBudget(`${name}: size`, (signal) => map.size({ signal })),
    keys: await withinBudget(`${name}: keys`, async (signal) => {
      const keys: string[] = []
      for await (const key of map.keys({ signal })) keys.push(key)
      return keys
    }),
    verify: await withinBudget(`${name}: verify`, (signal) => map.verify({ signal })),
  }
}

describe('hostile trees: walks stay linear in distinct blocks', () => {
  it('one keyed child linked from all 256 slots at each of 4 levels: ERR_INVALID_NODE, at once', async () => {
    const store = await MemoryStore.create()
    const key = 'k'
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const leaf = await saveNode(store, { [hashOf(key)[4] as number]: new Bucket([key], [pointer]) })
    const root = await repeatedLinks(store, leaf, 4)
    const map = await HAMT.open(root, { store, readOnly: false })
    const { size, keys, verify } = await walkAll(map, 'keyed')
    assertTypedError(size, 'ERR_INVALID_NODE')
    assertTypedError(keys, 'ERR_INVALID_NODE')
    assert.match((keys.error as Error).message, /does not belong there/)
    const problems = (verify.value as { problems: string[] }).problems
    assert.ok(
      problems.some((p) => /links to node .* again/.test(p)),
      problems[0],
    )
    // The one path the key's hash selects is readable; a delete must not walk the copies.
    assert.equal(await map.has(key), true)
    assertTypedError(
      await withinBudget('keyed: delete', (signal) => map.delete(key, { signal })),
      'ERR_INVALID_NODE',
    )
    const stats = await withinBudget('keyed: CLI stats', () => treeStats(store, root))
    assert.deepEqual([stats.value?.nodes, stats.value?.keys], [5, 1], 'each distinct node counted once')
  })

  it('one keyless child linked from all 256 slots at each of 4 levels: empty, and verify names the repeats', async () => {
    const store = await MemoryStore.create()
    const root = await repeatedLinks(store, await saveNode(store, {}), 4)
    const map = await HAMT.open(root, { store, readOnly: false })
    const { size, keys, verify } = await walkAll(map, 'keyless')
    assert.equal(size.value, 0)
    assert.deepEqual(keys.value, [])
    const { problems, keyCount } = verify.value as { problems: string[]; keyCount: number }
    assert.equal(keyCount, 0)
    assert.ok(problems.filter((p) => /again/.test(p)).length >= 4 * 255, `${problems.length} problems`)
    const stats = await withinBudget('keyless: CLI stats', () => treeStats(store, root))
    assert.equal(stats.value?.nodes, 5)
    assert.equal(stats.value?.keys, 0)
  })

  it('256 distinct parents sharing one child, four times over: linear too', async () => {
    const store = await MemoryStore.create()
    let child = await saveNode(store, {})
    // Four levels: a walk that visits each path (256^4 of them) would never settle within the hang
    // bound; with three (16.7M paths) it might, and no time is asserted.
    for (let level = 0; level < 4; level++) {
      const parents: Record<number, Slot> = {}
      for (let i = 0; i < 256; i++)
        parents[i] = Link.toStored(await saveNode(store, { [i]: Link.toStored(child) }))
      child = await saveNode(store, parents)
    }
    const map = await HAMT.open(child, { store, readOnly: false })
    const { size, verify } = await walkAll(map, 'fan-in')
    assert.equal(size.value, 0)
    assert.ok((verify.value as { problems: string[] }).problems.length > 0)
    assert.equal((await withinBudget('fan-in: CLI stats', () => treeStats(store, child))).value?.keys, 0)
  })

  it('a chain deeper than the hash: reads and writes say ERR_INVALID_NODE, not ERR_HASH_EXHAUSTED', async () => {
    const store = await MemoryStore.create()
    const key = 'deep'
    const hash = hashOf(key)
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    // A node at depth 32 holds the key; the nodes above follow its hash, so every read goes down.
    let id = await saveNode(store, { [hash[0] as number]: new Bucket([key], [pointer]) })
    for (let depth = 31; depth >= 0; depth--)
      id = await saveNode(store, { [hash[depth] as number]: Link.toStored(id) })
    const map = await HAMT.open(id, { store, readOnly: false })
    for (const [name, run] of [
      ['get', () => map.get(key)],
      ['set', () => map.set(key, 1)],
      ['delete', () => map.delete(key)],
      [
        'keys',
        async () => {
          for await (const _ of map.keys());
        },
      ],
    ] as const) {
      const outcome = await withinBudget(`deep: ${name}`, run)
      assertTypedError(outcome, 'ERR_INVALID_NODE')
      assert.match((outcome.error as Error).message, /depth 32, but a 32-byte hash/)
    }
    const { problems } = await map.verify()
    assert.ok(
      problems.some((p) => /deeper than a 32-byte hash/.test(p)),
      problems.join('\n'),
    )
    assertTypedError(await withinBudget('deep: CLI stats', () => treeStats(store, id)), 'ERR_INVALID_NODE')
  })

  it('a link out of the last level of a short hash is ERR_INVALID_NODE', async () => {
    const store = await MemoryStore.create()
    const { root, hashFn } = await tooDeepForShortHash(store)
    const map = await HAMT.open(root, { store, hashFn, readOnly: false })
    assertTypedError(await withinBudget('short: get', () => map.get('ab')), 'ERR_INVALID_NODE')
    assertTypedError(await withinBudget('short: set', () => map.set('ab', 1)), 'ERR_INVALID_NODE')
    assertTypedError(await withinBudget('short: size', () => map.size()), 'ERR_INVALID_NODE')
    // A key on another path is still readable and writable.
    await map.set('zz', 1)
    assert.equal(await map.get('zz'), 1)
  })

  it('a key in the wrong slot: walks say ERR_INVALID_NODE, verify names it, get does not find it', async () => {
    const store = await MemoryStore.create()
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const wrong = ((hashOf('x')[0] as number) + 1) % 256
    const root = await saveNode(store, { [wrong]: new Bucket(['x'], [pointer]) })
    const map = await HAMT.open(root, { store, readOnly: false })
    const { size, keys, verify } = await walkAll(map, 'misplaced')
    assertTypedError(size, 'ERR_INVALID_NODE')
    assertTypedError(keys, 'ERR_INVALID_NODE')
    assert.ok(
      (verify.value as { problems: string[] }).problems.some((p) => /"x" does not belong here/.test(p)),
    )
    assert.equal(await map.get('x'), undefined)
  })

  it('a misplaced key after a well-placed one: verify names it; get and has agree that it is absent', async () => {
    // Walks check one key per node (what keeps them linear), so keys() may still list this key:
    // documented on HAMT.pointers; verify() is the check that looks at every key.
    const store = await MemoryStore.create()
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const slot = hashOf('a')[0] as number
    const stray = Array.from({ length: 64 }, (_, i) => `s${i}`).find((k) => hashOf(k)[0] !== slot) as string
    const root = await saveNode(store, { [slot]: new Bucket(['a', stray], [pointer, pointer]) })
    const map = await HAMT.open(root, { store })
    const { problems } = await map.verify()
    assert.ok(
      problems.some((p) => p.includes(`${JSON.stringify(stray)} does not belong here`)),
      problems.join('\n'),
    )
    assert.deepEqual([await map.get(stray), await map.has(stray)], [undefined, false])
    assert.deepEqual([await map.has('a')], [true])
  })

  it('a bucket far over maxBucketSize (from an old or a hostile writer): read in full, and a set splits it', async () => {
    const store = await MemoryStore.create()
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const keys: string[] = []
    for (let i = 0; keys.length < 301; i++) if (hashOf(`k${i}`)[0] === 0x4d) keys.push(`k${i}`)
    const added = keys.pop() as string
    const root = await saveNode(store, {
      77: new Bucket(
        keys,
        keys.map(() => pointer),
      ),
    })
    const map = await HAMT.open<unknown>(root, { store, readOnly: false })
    const { size, keys: listed, verify } = await walkAll(map, 'oversized')
    assert.equal(size.value, 300)
    assert.deepEqual(listed.value, keys)
    assert.ok(
      (verify.value as { problems: string[] }).problems.some((p) =>
        /300 keys exceeds maxBucketSize 4/.test(p),
      ),
    )
    assert.equal(await map.get(keys[7] as string), null)
    await map.delete(keys[0] as string)
    await map.set(added, 1)
    await map.set(keys[1] as string, 2)
    assert.equal(await map.size(), 300)
    assert.deepEqual((await map.verify()).problems, [], 'the write rebuilt the slot canonically')
    assert.deepEqual(await Promise.all([added, keys[0], keys[1], keys[2]].map((k) => map.get(k as string))), [
      1,
      undefined,
      2,
      null,
    ])
  })

  it('an empty node linked from two slots beside a key (leftovers of an old writer): reads, walks and deletes work', async () => {
    const store = await MemoryStore.create()
    const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
    const key = 'k'
    const hash = hashOf(key)
    const empty = await saveNode(store, {})
    const others = [0, 1, 2].filter((i) => i !== hash[1]).slice(0, 2)
    const child = await saveNode(store, {
      [hash[1] as number]: new Bucket([key], [pointer]),
      [others[0] as number]: Link.toStored(empty),
      [others[1] as number]: Link.toStored(empty),
    })
    const root = await saveNode(store, { [hash[0] as number]: Link.toStored(child) })
    const map = await HAMT.open<unknown>(root, { store, readOnly: false })
    const { size, keys } = await walkAll(map, 'leftovers')
    assert.equal(size.value, 1)
    assert.deepEqual(keys.value, [key])
    assert.equal(await map.get(key), null)
    await map.delete(key)
    assert.equal(await map.size(), 0)
    assert.deepEqual((await map.verify()).problems, [], 'the delete collapsed the leftovers away')
  })

  it('a store that serves a node linking to itself (no content addressing): bounded, ERR_INVALID_NODE', async () => {
    const inner = await MemoryStore.create()
    const self = Uint8Array.of(0x1e, 0x20, ...new Uint8Array(32).fill(7))
    const node = new Node()
    node.slots.fill(Link.toStored(self))
    const bytes = encodeNode(node, () => assert.fail('no dirty children'))
    const store = {
      save: (data: Uint8Array, codec: 'raw' | 'dag-cbor') => inner.save(data, codec),
      load: async () => bytes,
    }
    const map = await HAMT.open(self, { store, readOnly: false })
    const { size, keys, verify } = await walkAll(map, 'cycle')
    assertTypedError(size, 'ERR_INVALID_NODE')
    assertTypedError(keys, 'ERR_INVALID_NODE')
    assert.ok((verify.value as { problems: string[] }).problems.length > 0)
    assertTypedError(await withinBudget('cycle: get', () => map.get('k')), 'ERR_INVALID_NODE')
  })
})
