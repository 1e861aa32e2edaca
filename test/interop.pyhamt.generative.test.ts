// Generative interop with the real py-hamt 3.6.0: histories made here (the whole Unicode range in keys
// and value strings, keys of 64 KB and more, values from empty to above 1 MiB, forced hash-prefix
// collisions, drains and refills, reopening from the root between writes) are replayed by both
// libraries, on InMemoryCAS IDs and on Kubo CIDs; the roots at every reopen must be equal and each
// side must read the other's map exactly. A fresh seed each run; TS_HAMT_SEED=<seed> replays one.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { blake3, blake3Hasher, bytesToHex, hexToBytes, loadBlake3 } from '../src/blocks.js'
import { decodeDagCbor } from '../src/codec/dag-cbor.js'
import { type ContentAddressedStore, HAMT, KuboStore, MemoryStore, type StoreId } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { pyHamtDriver, pyHamtPython } from './helpers/python.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()
await loadBlake3()

const MiB = 1 << 20

// ---------------------------------------------------------------- keys

/** Keys Python and a careless JS decoder or sorter would read differently. */
const SPECIAL_KEYS = [
  '',
  'k',
  '\ufeff',
  '\ufeffk',
  '\ufeff\ufeffk',
  'k\ufeff',
  '\u0000',
  'a\u0000b',
  '\ufeff\u0000',
  '\u00e9', // é, precomposed…
  'e\u0301', // …and decomposed: two keys, never normalised
  '\u00c5',
  '\u212b', // Angstrom sign, NFC-equal to U+00C5
  '\u0301', // a combining mark alone
  '\ufb01', // the "fi" ligature
  'fi',
  '\uff5e', // UTF-16 sorts this after U+1F600, UTF-8 before…
  '\uff5e!', // …also at the same UTF-8 length, where bytes decide
  '\u{1f600}',
  '\uffff!',
  '\u{10000}',
  '\ud7ff',
  '\ue000',
  '\uffff',
  '\u{10ffff}',
  '__proto__',
  'temp/c/0/0',
]

const unicodeString = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength }),
      fc.string({ unit: 'grapheme', maxLength }),
      fc.string({ unit: 'grapheme-composite', maxLength }),
      fc.string({ maxLength }),
    )
    .filter((s) => s.isWellFormed())
const withBom = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(fc.boolean(), arb).map(([bom, s]) => (bom ? `\ufeff${s}` : s))

/**
 * Keys whose BLAKE3 hashes share a prefix, found by search: one group sharing the first byte (more
 * keys than a bucket holds, so children are forced), pairs sharing the first two bytes (chains), and
 * pairs sharing a root bucket whose UTF-8 and UTF-16 orders differ.
 */
function collidingKeys(): { colliding: string[]; orderPair: string[] } {
  const byFirst = new Map<number, string[]>()
  const byTwo = new Map<number, string[]>()
  const encoder = new TextEncoder()
  for (let i = 0; i < 4000; i++) {
    // Mixed so that keys whose UTF-8 and UTF-16 orders differ, or that differ only by a BOM, share buckets.
    const key = `${['\uff5e!', '\u{1f600}', '\ufeff', 'e\u0301', '\u00e7'][i % 5]}${seed % 1000}.${i}`
    const hash = blake3(encoder.encode(key))
    const first = hash[0] as number
    const two = (first << 8) | (hash[1] as number)
    byFirst.set(first, [...(byFirst.get(first) ?? []), key])
    byTwo.set(two, [...(byTwo.get(two) ?? []), key])
  }
  const widest = [...byFirst.values()].sort((a, b) => b.length - a.length)[0] ?? []
  const pairs = [...byTwo.values()].filter((keys) => keys.length > 1).slice(0, 10)
  // Two keys in one root bucket, of one UTF-8 length, that UTF-16 and UTF-8 order differently.
  const sameLength = (a: string, b: string): boolean => encoder.encode(a).length === encoder.encode(b).length
  const ordered = [...byFirst.values()]
    .flatMap((keys) => {
      const high = keys.find((k) => k.startsWith('\uff5e!'))
      const astral = keys.find((k) => k.startsWith('\u{1f600}') && high !== undefined && sameLength(k, high))
      return high !== undefined && astral !== undefined ? [[high, astral]] : []
    })
    .slice(0, 2)
  return {
    colliding: [...widest.slice(0, 12), ...pairs.flat(), ...ordered.flat()],
    orderPair: ordered[0] ?? [],
  }
}
const { colliding: COLLIDING, orderPair: ORDER_PAIR } = collidingKeys()

const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
  { weight: 3, arbitrary: fc.constantFrom(...COLLIDING) },
  { weight: 4, arbitrary: withBom(unicodeString(6)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 50 }).map(String) },
)
/** Keys of 64 KB and more, some not ASCII (the UTF-8 length is what counts). */
const longKeyArb = fc
  .tuple(fc.integer({ min: 65_536, max: 200_000 }), fc.constantFrom('a', '\ufeff', 'é', '\u{1f600}'))
  .map(([bytes, unit]) => `${unit}${'L'.repeat(bytes)}`)

// ---------------------------------------------------------------- values

const cidArb = fc
  .tuple(fc.constantFrom(0x55, 0x71), fc.uint8Array({ maxLength: 8 }))
  .map(([codec, data]) => CID.createV1(codec, blake3Hasher.digest(data)))
const ipldValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    withBom(unicodeString(12)),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    cidArb,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(withBom(unicodeString(6)), tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value

/** A bytes value of `size` bytes, filled from `fill` (fast-check is slow at megabytes). */
function bytesOfSize(size: number, fill: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = fill | 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
const sizeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, MiB - 1, MiB, MiB + 1, MiB + MiB / 2) },
)

// ---------------------------------------------------------------- histories

type Value = { kind: 'cbor'; value: unknown } | { kind: 'bytes'; size: number; fill: number }
type Step =
  | { op: 'set'; key: string; value: Value }
  | { op: 'delete'; pick: number }
  | { op: 'deleteMissing'; key: string }
  | { op: 'drain'; pick: number }
  | { op: 'reopen' }
/** What both libraries replay: explicit sets, deletes of present keys and reopens. */
type Op =
  | { op: 'set'; key: string; value: unknown; bytes: Uint8Array }
  | { op: 'delete'; key: string }
  | { op: 'reopen' }

function stepArb(valuesAreBytes: boolean, longKeys: boolean): fc.Arbitrary<Step> {
  const value: fc.Arbitrary<Value> = valuesAreBytes
    ? fc.tuple(sizeArb, fc.integer()).map(([size, fill]) => ({ kind: 'bytes', size, fill }))
    : ipldValue.map((v) => ({ kind: 'cbor', value: v }))
  const key = longKeys
    ? fc.oneof({ weight: 12, arbitrary: keyArb }, { weight: 1, arbitrary: longKeyArb })
    : keyArb
  return fc.oneof(
    { weight: 12, arbitrary: fc.record({ op: fc.constant('set' as const), key, value }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteMissing' as const), key: keyArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('drain' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.constant({ op: 'reopen' as const }) },
  )
}

/** Turns steps into ops against a model of the map: deletes pick present keys, a drain deletes all. */
function materialize(steps: Step[], maxLargeValues: number): { ops: Op[]; model: Map<string, string> } {
  const model = new Map<string, string>()
  const ops: Op[] = []
  let large = 0
  for (const step of steps) {
    if (step.op === 'set') {
      let bytes: Uint8Array
      let value: unknown
      if (step.value.kind === 'bytes') {
        const big = step.value.size > 64 * 1024
        const size = big && large >= maxLargeValues ? step.value.size % 301 : step.value.size
        if (size > 64 * 1024) large++
        bytes = bytesOfSize(size, step.value.fill)
        value = bytes
      } else {
        value = step.value.value
        bytes = dagCbor.encode(value)
      }
      ops.push({ op: 'set', key: step.key, value, bytes })
      model.set(step.key, bytesToHex(bytes))
    } else if (step.op === 'delete' || step.op === 'drain') {
      const present = [...model.keys()]
      if (present.length === 0) continue
      const start = step.pick % present.length
      const victims =
        step.op === 'delete'
          ? [present[start] as string]
          : [...present.slice(start), ...present.slice(0, start)]
      for (const key of victims) {
        ops.push({ op: 'delete', key })
        model.delete(key)
      }
    } else if (step.op === 'deleteMissing') {
      // Deleting an absent key: py-hamt raises KeyError and changes nothing, ts-hamt ERR_KEY_NOT_FOUND;
      // replayed only in TS (the driver reports it back as a missing delete).
      if (!model.has(step.key)) ops.push({ op: 'delete', key: step.key })
    } else {
      ops.push({ op: 'reopen' })
    }
  }
  return { ops, model }
}

interface HistoryShape {
  steps: number
  valuesAreBytes: boolean
  longKeys: boolean
  maxLargeValues: number
}

function makeHistory(
  shape: HistoryShape,
  salt: number,
): { ops: Op[]; model: Map<string, string>; maxBucketSize: number } {
  const arb = fc.tuple(
    fc.array(stepArb(shape.valuesAreBytes, shape.longKeys), {
      minLength: shape.steps,
      maxLength: shape.steps,
    }),
    fc.integer({ min: shape.valuesAreBytes ? 1 : 2, max: 4 }),
  )
  const [[steps, maxBucketSize]] = fc.sample(arb, { seed: seed + salt, numRuns: 1 }) as [[Step[], number]]
  // Rare draws made certain: the first sets get a long key and values of 0 and above 1 MiB.
  const sets = steps.filter((step) => step.op === 'set')
  const [longKey] = fc.sample(longKeyArb, { seed: seed + salt, numRuns: 1 })
  if (shape.longKeys && sets[0] !== undefined && longKey !== undefined) sets[0].key = longKey
  if (shape.valuesAreBytes) {
    ;[MiB + 1 + (seed % (MiB / 2)), 0].forEach((size, i) => {
      const value = sets[i + 1]?.value
      if (value?.kind === 'bytes') value.size = size
    })
  }
  // And a root bucket holding two keys that UTF-16 and UTF-8 order differently, saved at once.
  const first = sets[0]
  if (first !== undefined && !shape.valuesAreBytes) {
    steps.unshift(...ORDER_PAIR.map((key) => ({ ...first, key })), { op: 'reopen' })
  }
  return { ...materialize(steps, shape.maxLargeValues), maxBucketSize }
}

const toDriverOps = (ops: Op[]): Array<[string, ...string[]]> =>
  ops.map((op) =>
    op.op === 'set'
      ? ['set', op.key, bytesToHex(op.bytes)]
      : op.op === 'delete'
        ? ['delete', op.key]
        : ['reopen'],
  )

// ---------------------------------------------------------------- the two replays

/** Replays ops on ts-hamt over `store`; returns the root at each reopen and at the end. */
async function replayInTs(
  store: ContentAddressedStore,
  ops: Op[],
  options: { maxBucketSize: number; valuesAreBytes: boolean },
): Promise<{ root: StoreId; checkpoints: StoreId[]; missing: string[] }> {
  let map = await HAMT.create<unknown>({ store, ...options })
  const checkpoints: StoreId[] = []
  const missing: string[] = []
  for (const op of ops) {
    if (op.op === 'set') await map.set(op.key, op.value)
    else if (op.op === 'delete') {
      if (await map.has(op.key)) await map.delete(op.key)
      else missing.push(op.key)
    } else {
      const root = await map.flush()
      checkpoints.push(root)
      map = await HAMT.open(root, { store, ...options, readOnly: false })
    }
  }
  return { root: await map.flush(), checkpoints, missing }
}

/**
 * Every entry of the map at `root`, as key → value bytes in hex, read by iteration and by get; the
 * writer's bucket size lets verify() check the canonical shape.
 */
async function readInTs(
  store: ContentAddressedStore,
  root: StoreId,
  options: { valuesAreBytes: boolean; maxBucketSize: number },
  keys: Iterable<string>,
) {
  const { valuesAreBytes } = options
  const map = await HAMT.open<unknown>(root, { store, readOnly: true, ...options })
  const hex = (value: unknown): string =>
    bytesToHex(valuesAreBytes ? (value as Uint8Array) : dagCbor.encode(value))
  const entries = new Map<string, string>()
  let size = 0
  for await (const [key, value] of map) {
    size++
    entries.set(key, hex(value))
  }
  for (const key of keys) {
    const value = await map.get(key)
    assert.ok(value !== undefined, `get(${JSON.stringify(key.slice(0, 40))}) finds the key`)
    assert.equal(hex(value), entries.get(key))
  }
  assert.deepEqual((await map.verify()).problems, [])
  return { size, entries }
}

type Read = { size: number; entries: Record<string, string> }

/** Asserts both reads give the model, naming the first key that differs. */
function assertSameMap(
  actual: { size: number; entries: Map<string, string> },
  model: Map<string, string>,
  who: string,
) {
  assert.equal(actual.size, model.size, `${who}: number of keys iterated`)
  for (const [key, value] of model) {
    assert.ok(actual.entries.has(key), `${who}: missing key ${JSON.stringify(key.slice(0, 40))}`)
    assert.ok(
      actual.entries.get(key) === value,
      `${who}: value of ${JSON.stringify(key.slice(0, 40))} differs`,
    )
  }
  assert.equal(actual.entries.size, model.size, `${who}: distinct keys`)
}

const describeOps = (ops: Op[]): string => {
  const sets = ops.filter((op) => op.op === 'set')
  return `${ops.length} ops (${sets.length} sets, ${ops.filter((op) => op.op === 'reopen').length} reopens, longest key ${Math.max(0, ...sets.map((op) => op.key.length))} units, largest value ${Math.max(0, ...sets.map((op) => op.bytes.length))} bytes)`
}

// ---------------------------------------------------------------- tests

describe(`generative interop with py-hamt 3.6.0 (seed ${seed})`, () => {
  before(async () => {
    await pyHamtPython()
  })

  const memoryCases: Array<[string, HistoryShape]> = [
    [
      'DAG-CBOR values, Unicode and colliding keys',
      { steps: 150, valuesAreBytes: false, longKeys: false, maxLargeValues: 0 },
    ],
    [
      'bytes values up to 1.5 MiB, keys of 64 KB and more',
      { steps: 50, valuesAreBytes: true, longKeys: true, maxLargeValues: 3 },
    ],
  ]
  for (const [index, [name, shape]] of memoryCases.entries()) {
    it(`InMemoryCAS IDs: ${name}`, async () => {
      const { ops, model, maxBucketSize } = makeHistory(shape, index)
      console.log(`InMemoryCAS, ${name}: ${describeOps(ops)}, maxBucketSize ${maxBucketSize}`)
      const { valuesAreBytes } = shape
      const store = await MemoryStore.create()
      const ts = await replayInTs(store, ops, { maxBucketSize, valuesAreBytes })
      const py = await pyHamtDriver<{
        root: string
        blocks: Record<string, string>
        missingDeletes: string[]
        checkpoints: string[]
      }>('build', { maxBucketSize, valuesAreBytes, ops: toDriverOps(ops) })
      assert.deepEqual(ts.missing, py.missingDeletes, 'the same deletes found nothing')
      assert.deepEqual(
        ts.checkpoints.map((id) => bytesToHex(id as Uint8Array)),
        py.checkpoints,
        'roots at each reopen',
      )
      assert.equal(bytesToHex(ts.root as Uint8Array), py.root, 'final root')

      // ts-hamt reads py-hamt's blocks (each ID recomputed by our store)…
      const pyStore = await MemoryStore.create()
      for (const [id, data] of Object.entries(py.blocks)) {
        assert.equal(bytesToHex((await pyStore.save(hexToBytes(data), 'raw')) as Uint8Array), id)
      }
      assertSameMap(
        await readInTs(pyStore, hexToBytes(py.root), { valuesAreBytes, maxBucketSize }, model.keys()),
        model,
        'ts-hamt reading py-hamt',
      )
      // …and py-hamt reads ours.
      const blocks = Object.fromEntries(
        [...store.blocks()].map(([id, data]) => [bytesToHex(id), bytesToHex(data)]),
      )
      const pyRead = await pyHamtDriver<Read>('read', {
        root: bytesToHex(ts.root as Uint8Array),
        blocks,
        valuesAreBytes,
      })
      assertSameMap(
        { size: pyRead.size, entries: new Map(Object.entries(pyRead.entries)) },
        model,
        'py-hamt reading ts-hamt',
      )
    })
  }

  describe('Kubo CIDs (one real daemon on loopback)', () => {
    let daemon: Awaited<ReturnType<typeof startKubo>> | undefined
    before(async () => {
      daemon = await startKubo()
    })
    after(() => daemon?.stop())

    const kuboCases: Array<[string, HistoryShape]> = [
      [
        'bytes values up to 1.5 MiB (UnixFS above 1 MiB)',
        { steps: 30, valuesAreBytes: true, longKeys: true, maxLargeValues: 2 },
      ],
      [
        'DAG-CBOR values with CIDs, Unicode and colliding keys',
        { steps: 50, valuesAreBytes: false, longKeys: false, maxLargeValues: 0 },
      ],
    ]
    for (const [index, [name, shape]] of kuboCases.entries()) {
      it(name, async () => {
        const urls = { rpcUrl: daemon?.rpcUrl as string, gatewayUrl: daemon?.gatewayUrl as string }
        const { ops, model, maxBucketSize } = makeHistory(shape, 100 + index)
        console.log(`Kubo, ${name}: ${describeOps(ops)}, maxBucketSize ${maxBucketSize}`)
        const { valuesAreBytes } = shape
        const ts = await replayInTs(new KuboStore(kuboOptions(urls)), ops, { maxBucketSize, valuesAreBytes })
        const py = await pyHamtDriver<{ root: string; missingDeletes: string[]; checkpoints: string[] }>(
          'kubo-build',
          {
            ...urls,
            maxBucketSize,
            valuesAreBytes,
            ops: toDriverOps(ops),
          },
        )
        assert.deepEqual(ts.missing, py.missingDeletes, 'the same deletes found nothing')
        assert.deepEqual(ts.checkpoints.map(String), py.checkpoints, 'root CIDs at each reopen')
        assert.equal(String(ts.root), py.root, 'final root CID')
        assertSameMap(
          await readInTs(
            new KuboStore(kuboOptions(urls)),
            CID.parse(py.root),
            { valuesAreBytes, maxBucketSize },
            model.keys(),
          ),
          model,
          'ts-hamt reading py-hamt',
        )
        const pyRead = await pyHamtDriver<Read>('kubo-read', {
          ...urls,
          root: String(ts.root),
          valuesAreBytes,
        })
        assertSameMap(
          { size: pyRead.size, entries: new Map(Object.entries(pyRead.entries)) },
          model,
          'py-hamt reading ts-hamt',
        )
      })
    }
  })

  it('decodes DAG-CBOR text exactly as Python does, also where it is not UTF-8', async () => {
    // Valid values with BOMs and the whole Unicode range, and the same with one string's bytes broken.
    const valid = fc.sample(ipldValue, { seed: seed + 200, numRuns: 200 }).map((v) => dagCbor.encode(v))
    const broken = fc
      .sample(fc.tuple(withBom(unicodeString(8)), fc.nat(), fc.integer({ min: 0x80, max: 0xff })), {
        seed: seed + 201,
        numRuns: 200,
      })
      .map(([text, at, byte]) => {
        const bytes = dagCbor.encode({ text })
        const body = bytes.length - new TextEncoder().encode(text).length
        if (bytes.length > body) bytes[body + (at % (bytes.length - body))] = byte
        return bytes
      })
    const items = [...valid, ...broken]
    const py = await pyHamtDriver<{ items: Array<{ ok?: string; error?: string }> }>('cbor-roundtrip', {
      items: items.map(bytesToHex),
    })
    items.forEach((bytes, i) => {
      let ours: string
      try {
        ours = bytesToHex(dagCbor.encode(decodeDagCbor(bytes)))
      } catch (error) {
        ours = `error ${(error as Error).message}`
      }
      const python = py.items[i]?.ok ?? `error ${py.items[i]?.error}`
      assert.equal(
        ours.startsWith('error'),
        python.startsWith('error'),
        `item ${bytesToHex(bytes)}: ${ours} vs ${python}`,
      )
      if (!ours.startsWith('error')) assert.equal(ours, python, `item ${bytesToHex(bytes)}`)
    })
  })
})
