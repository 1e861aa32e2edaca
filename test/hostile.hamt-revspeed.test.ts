// Outside review of this session's HAMT read speedups: ASCII keys read eight characters a call (32
// bytes and less, else decodeUtf8), and a bucket's byte IDs held as places in the node block (IDs under
// 256 bytes that start in the first 4 MiB; CIDs, longer IDs and later ones stay views). Keys over the
// whole Unicode range read back after flush and reopen as a Map and py-hamt have them; a stranger's
// node with a huge bucket whose IDs sit at the 256-byte and 4 MiB limits reads, diffs and rewrites
// exactly.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { blake3, blake3Hasher, bytesToHex, hexToBytes, loadBlake3 } from '../src/blocks.js'
import { encodeDagCbor } from '../src/codec/dag-cbor.js'
import { HAMT, isHamtError, MemoryStore, type StoreId } from '../src/index.js'
import { pyHamtDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T

const NON_ASCII = [
  '\u0080',
  '\u00e9',
  '\u07ff',
  '\u0800',
  '\ufeff',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
]

/** An ASCII run of `length` characters, NUL and controls included. */
function asciiRun(length: number): string {
  let run = ''
  for (let i = 0; i < length; i++)
    run += String.fromCharCode(random() < 0.1 ? Math.floor(random() * 32) : Math.floor(random() * 128))
  return run
}

/** Keys: every ASCII run length 0..40 alone, and runs mixed with non-ASCII before, after and between. */
function generatedKeys(): string[] {
  const keys = new Set<string>(['', '\u0000', '\ufeff', '\ufeffabc', 'abc\ufeff'])
  for (let length = 0; length <= 40; length++) {
    for (let variant = 0; variant < 4; variant++) {
      const run = asciiRun(length)
      keys.add(run)
      keys.add(pick(NON_ASCII) + run)
      keys.add(run + pick(NON_ASCII))
      keys.add(
        asciiRun(Math.floor(random() * 9)) +
          pick(NON_ASCII) +
          run +
          pick(NON_ASCII) +
          asciiRun(Math.floor(random() * 33)),
      )
    }
  }
  return [...keys]
}

async function readAll(map: HAMT<unknown>): Promise<Map<string, unknown>> {
  const read = new Map<string, unknown>()
  for await (const [key, value] of map.entries()) {
    assert.ok(!read.has(key), `key ${JSON.stringify(key)} twice`)
    read.set(key, value)
  }
  return read
}

describe('keys over the whole Unicode range, read back after flush and reopen', () => {
  const keys = generatedKeys()
  const model = new Map(keys.map((key, i) => [key, i % 3 === 0 ? `v${i}` : i]))

  for (const maxBucketSize of [1, 3, 8]) {
    it(`maxBucketSize ${maxBucketSize}: gets and entries of a reopened map equal the Map`, async () => {
      const store = await MemoryStore.create()
      const map = await HAMT.create({ store, maxBucketSize })
      for (const [key, value] of model) await map.set(key, value)
      const root = await map.flush()
      // A small cache: nodes are decoded again and again, as a cold read does.
      for (const cacheBytes of [0, 32 << 20]) {
        const reopened = await HAMT.open(root, { store, maxBucketSize, cacheBytes })
        for (const [key, value] of model)
          assert.deepEqual(await reopened.get(key), value, JSON.stringify(key))
        assert.deepEqual(await readAll(reopened), model)
      }
    })
  }

  it('diff and merge of reopened maps with disjoint changes on each side equal the Map model', async () => {
    const store = await MemoryStore.create()
    const base = await HAMT.create({ store, maxBucketSize: 3 })
    for (const [key, value] of model) await base.set(key, value)
    const baseRoot = await base.flush()
    const [left, right] = [
      await HAMT.open(baseRoot, { store, maxBucketSize: 3, readOnly: false, cacheBytes: 0 }),
      await HAMT.open(baseRoot, { store, maxBucketSize: 3, readOnly: false, cacheBytes: 0 }),
    ]
    const expected = new Map(model)
    const changes = new Map<string, string>()
    for (const [i, key] of [...model.keys()].entries()) {
      const side = i % 7 === 0 ? left : i % 7 === 1 ? right : undefined
      if (side === undefined) continue
      if (i % 3 === 0) {
        await side.delete(key)
        expected.delete(key)
        changes.set(key, 'removed')
      } else {
        await side.set(key, `changed ${i}`)
        expected.set(key, `changed ${i}`)
        changes.set(key, 'changed')
      }
    }
    for (const [i, key] of ['\u0000new', `${asciiRun(31)}\u00e9`, asciiRun(33)].entries()) {
      if (model.has(key)) continue
      await (i % 2 === 0 ? left : right).set(key, i)
      expected.set(key, i)
      changes.set(key, 'added')
    }
    const [leftRoot, rightRoot] = [await left.flush(), await right.flush()]
    const merged = await HAMT.merge(baseRoot, leftRoot, rightRoot, { store, maxBucketSize: 3 })
    assert.deepEqual(
      await readAll(await HAMT.open(merged, { store, maxBucketSize: 3, cacheBytes: 0 })),
      expected,
    )
    const seen = new Map<string, string>()
    for await (const change of HAMT.diff(baseRoot, merged, { store, maxBucketSize: 3, keysOnly: true }))
      seen.set(change.key, change.kind)
    assert.deepEqual(seen, changes)
  })

  it('a key with a lone surrogate (any run length before it) is refused with a typed error, the map unchanged', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store })
    await map.set('kept', 1)
    const root = await map.flush()
    for (let length = 0; length <= 40; length += 3) {
      for (const lone of ['\ud800', '\udfff']) {
        await assert.rejects(map.set(asciiRun(length) + lone, 1), (error) => isHamtError(error))
      }
    }
    assert.deepEqual(await map.flush(), root)
  })

  it("py-hamt builds the same roots from the same keys, and each side reads the other's blocks", async () => {
    const ops = [...model].map(([key, value]) => ['set', key, bytesToHex(encodeDagCbor(value))])
    const py = await pyHamtDriver<{ root: string; blocks: Record<string, string> }>('build', {
      maxBucketSize: 3,
      valuesAreBytes: false,
      ops,
    })
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store, maxBucketSize: 3 })
    for (const [key, value] of model) await map.set(key, value)
    const root = (await map.flush()) as Uint8Array
    assert.equal(bytesToHex(root), py.root)
    const theirs = await MemoryStore.create()
    for (const data of Object.values(py.blocks)) await theirs.save(hexToBytes(data), 'raw')
    assert.deepEqual(
      await readAll(await HAMT.open(hexToBytes(py.root), { store: theirs, cacheBytes: 0 })),
      model,
    )
    const blocks: Record<string, string> = {}
    for (const [id, data] of store.blocks()) blocks[bytesToHex(id)] = bytesToHex(data)
    const read = await pyHamtDriver<{ size: number; entries: Record<string, string> }>('read', {
      root: bytesToHex(root),
      blocks,
      valuesAreBytes: false,
    })
    assert.equal(read.size, model.size)
    for (const [key, value] of model)
      assert.equal(read.entries[key], bytesToHex(encodeDagCbor(value)), JSON.stringify(key))
  })
})

// ---------------------------------------------------------------- a stranger's node at the limits

const utf8 = new TextEncoder()
/** CBOR head length of a length (or count) `n`. */
const headLength = (n: number): number => (n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5)
/** DAG-CBOR map key order: shorter UTF-8 first, then bytewise. */
function canonical(a: string, b: string): number {
  const [x, y] = [utf8.encode(a), utf8.encode(b)]
  if (x.length !== y.length) return x.length - y.length
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number)
  return 0
}

/** Keys whose hashes share their first byte (one root slot), in canonical order, and that slot. */
function keysOfOneSlot(count: number): { slot: number; keys: string[] } {
  const slot = (blake3(utf8.encode(`s${seed}`))[0] as number) ?? 0
  const keys: string[] = []
  for (let i = 0; keys.length < count; i++) {
    const key = `${i}\u00e9${seed % 100}`
    if (blake3(utf8.encode(key))[0] === slot) keys.push(key)
  }
  return { slot, keys: keys.sort(canonical) }
}

/** Byte IDs of the lengths around the 256-byte limit (and a CID), each distinct. */
function pointerSet(): StoreId[] {
  const ids: StoreId[] = [0, 1, 2, 34, 200, 253, 254, 255, 256, 257, 300, 1000].map((length, i) => {
    const id = new Uint8Array(length)
    for (let j = 0; j < length; j++) id[j] = (i * 31 + j * 7 + seed) & 0xff
    return id
  })
  const digest = blake3Hasher.digest(Uint8Array.of(seed & 0xff)) as { bytes: Uint8Array }
  ids.splice(5, 0, CID.createV1(0x55, digest as never))
  return ids
}

/** The node's block: one bucket at `slot`, the first key's pointer a filler of `filler` bytes. */
function strangerNode(slot: number, keys: string[], filler: number, ids: StoreId[]): Uint8Array {
  const bucket: Record<string, StoreId> = {}
  bucket[keys[0] as string] = new Uint8Array(filler).fill(0xab)
  for (const [i, id] of ids.entries()) bucket[keys[i + 1] as string] = id
  return encodeDagCbor(Array.from({ length: 256 }, (_, i) => (i === slot ? bucket : {})))
}

/** Where the bytes of the byte ID of entry `index` (after the filler) start in {@link strangerNode}'s block. */
function startOf(index: number, slot: number, keys: string[], filler: number, ids: StoreId[]): number {
  let at = 3 + slot + headLength(keys.length)
  const entry = (key: string, length: number, cid: boolean): number =>
    headLength(utf8.encode(key).length) + utf8.encode(key).length + (cid ? 2 : 0) + headLength(length)
  at += entry(keys[0] as string, filler, false) + filler
  for (let i = 0; i < index; i++) {
    const id = ids[i] as StoreId
    const bytes = id instanceof Uint8Array ? id : new Uint8Array([0, ...id.bytes])
    at += entry(keys[i + 1] as string, bytes.length, !(id instanceof Uint8Array)) + bytes.length
  }
  const id = ids[index] as StoreId
  const length = id instanceof Uint8Array ? id.length : id.bytes.length + 1
  return at + entry(keys[index + 1] as string, length, !(id instanceof Uint8Array))
}

const sameId = (a: StoreId | undefined, b: StoreId): boolean =>
  a !== undefined &&
  (a instanceof Uint8Array
    ? b instanceof Uint8Array && bytesToHex(a) === bytesToHex(b)
    : !(b instanceof Uint8Array) && a.equals(b))

describe("a stranger's node with a huge bucket, its IDs at the 256-byte and 4 MiB limits", () => {
  const ids = pointerSet()
  const { slot, keys } = keysOfOneSlot(ids.length + 2)
  const LIMIT = 1 << 22
  // Fillers that put the byte ID of entry `index` at 4 MiB - 1, exactly 4 MiB and 4 MiB + 1.
  const cases: Array<{ index: number; at: number }> = []
  for (const index of [6, 7, 8, 9]) for (const at of [LIMIT - 1, LIMIT, LIMIT + 1]) cases.push({ index, at })
  const chosen = [
    cases[Math.floor(random() * cases.length)],
    cases[Math.floor(random() * cases.length)],
    { index: 0, at: LIMIT },
  ]

  for (const { index, at } of chosen as Array<{ index: number; at: number }>) {
    it(`entry ${index} (${ids[index] instanceof Uint8Array ? ids[index].length : 'CID'} bytes) at ${at}: get, pointers, diff and a rewrite read the IDs exactly`, async () => {
      const base = LIMIT - 5000
      const filler = base + (at - startOf(index, slot, keys, base, ids))
      const block = strangerNode(slot, keys, filler, ids)
      assert.equal(startOf(index, slot, keys, filler, ids), at)
      const start = startOf(index, slot, keys, filler, ids)
      const id = ids[index] as StoreId
      if (id instanceof Uint8Array) assert.deepEqual(block.subarray(start, start + id.length), id)
      const store = await MemoryStore.create()
      const root = await store.save(block, 'dag-cbor')
      const map = await HAMT.open(root, { store, maxBucketSize: 64 })
      const expected = new Map<string, StoreId>(ids.map((id, i) => [keys[i + 1] as string, id]))
      for (const [key, id] of expected) assert.ok(sameId(await map.getPointer(key), id), `${key}: ${index}`)
      let seen = 0
      for await (const [key, pointer] of map.pointers()) {
        if (key === keys[0]) assert.equal((pointer as Uint8Array).length, filler)
        else assert.ok(sameId(pointer, expected.get(key) as StoreId), key)
        seen++
      }
      assert.equal(seen, keys.length - 1)
      // Another stranger's node, one ID changed: the diff names that one key, with both IDs.
      const changedIds = ids.slice()
      changedIds[index] = Uint8Array.of(1, 2, 3)
      const other = await store.save(strangerNode(slot, keys, filler, changedIds), 'dag-cbor')
      const changes = []
      // keysOnly: the values are not in the store (a stranger's IDs); the pointers are compared.
      for await (const change of HAMT.diff(root, other, { store, maxBucketSize: 64, keysOnly: true }))
        changes.push({ key: change.key, kind: change.kind })
      assert.deepEqual(changes, [{ key: keys[index + 1], kind: 'changed' }])
      // A write to the bucket keeps every other ID; the rewritten node reads the same.
      const writable = await HAMT.open(root, { store, maxBucketSize: 64, readOnly: false })
      await writable.setPointer(keys.at(-1) as string, Uint8Array.of(9))
      const rewritten = await HAMT.open(await writable.flush(), { store, maxBucketSize: 64, cacheBytes: 0 })
      for (const [key, id] of expected) assert.ok(sameId(await rewritten.getPointer(key), id), key)
      assert.ok(sameId(await rewritten.getPointer(keys.at(-1) as string), Uint8Array.of(9)))
    })
  }
})

describe("a stranger's node with one bucket of 40,000 entries", () => {
  it('walks and diffs read every ID from its place, one changed ID is the one change', async () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `k${i}.${seed % 1000}`).sort(canonical)
    const slot = blake3(utf8.encode(keys[0] as string))[0] as number
    // Only a node's first key is checked for its place by walks: the rest need not hash there.
    const ids = keys.map((_, i) => new Uint8Array(1 + (i % 300)).fill(i & 0xff))
    const node = (changed: number) => {
      const bucket: Record<string, Uint8Array> = {}
      for (const [i, key] of keys.entries())
        bucket[key] = i === changed ? Uint8Array.of(7, 7) : (ids[i] as Uint8Array)
      return encodeDagCbor(Array.from({ length: 256 }, (_, i) => (i === slot ? bucket : {})))
    }
    const store = await MemoryStore.create()
    const changed = Math.floor(random() * keys.length)
    const [a, b] = [await store.save(node(-1), 'dag-cbor'), await store.save(node(changed), 'dag-cbor')]
    const map = await HAMT.open(a, { store, maxBucketSize: 1 << 16 })
    let i = 0
    for await (const [key, pointer] of map.pointers()) {
      assert.equal(key, keys[i])
      assert.deepEqual(pointer, ids[i], key)
      i++
    }
    assert.equal(i, keys.length)
    const changes = []
    for await (const change of HAMT.diff(a, b, { store, maxBucketSize: 1 << 16, keysOnly: true }))
      changes.push({ key: change.key, kind: change.kind })
    assert.deepEqual(changes, [{ key: keys[changed], kind: 'changed' }])
  })
})
