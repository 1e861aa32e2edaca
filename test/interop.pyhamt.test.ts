// Interop with the real py-hamt 3.6.0 (installed from PyPI into .cache/pyenv by scripts/python-env.sh).
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { bytesToHex, hexToBytes } from '../src/blocks.js'
import { HAMT, MemoryStore } from '../src/index.js'
import { ipldValue } from './helpers/arbitraries.js'
import { pyHamtDriver, pyHamtPython } from './helpers/python.js'
import { testSeed } from './helpers/random.js'

// fast-check draws from one printed seed (replay with TS_HAMT_SEED).
const seed = testSeed()

type Op = ['set', string, string] | ['delete', string]
type Built = { root: string; blocks: Record<string, string>; missingDeletes: string[] }
type Read = { size: number; entries: Record<string, string> }

const keyArb = fc.oneof(fc.integer({ min: 0, max: 400 }).map(String), fc.string({ maxLength: 8 }))
const historyArb = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constant('set' as const), keyArb, ipldValue) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('delete' as const), keyArb) },
  ),
  { minLength: 1, maxLength: 300, size: 'max' }, // fast-check's default size would cap histories near 10 ops
)

/** Runs a history on ts-hamt's MemoryStore; returns the root, every block and the expected content. */
async function buildInTs(
  history: Array<['set', string, unknown] | ['delete', string]>,
  maxBucketSize: number,
) {
  const store = await MemoryStore.create()
  const map = await HAMT.create({ store, maxBucketSize })
  const model = new Map<string, string>()
  for (const op of history) {
    if (op[0] === 'set') {
      await map.set(op[1], op[2])
      model.set(op[1], bytesToHex(dagCbor.encode(op[2])))
    } else if (model.delete(op[1])) {
      await map.delete(op[1])
    }
  }
  const root = bytesToHex((await map.flush()) as Uint8Array)
  const blocks = Object.fromEntries(
    [...store.blocks()].map(([id, data]) => [bytesToHex(id), bytesToHex(data)]),
  )
  return { root, blocks, model }
}

function toDriverOps(history: Array<['set', string, unknown] | ['delete', string]>): Op[] {
  return history.map((op) => (op[0] === 'set' ? ['set', op[1], bytesToHex(dagCbor.encode(op[2]))] : op))
}

/** Opens py-hamt's blocks with ts-hamt (each block's ID recomputed by our store) and reads every entry. */
async function readInTs(
  built: { root: string; blocks: Record<string, string> },
  valuesAreBytes: boolean,
  maxBucketSize: number,
) {
  const store = await MemoryStore.create()
  for (const [id, data] of Object.entries(built.blocks)) {
    assert.equal(bytesToHex((await store.save(hexToBytes(data), 'raw')) as Uint8Array), id, 'same block IDs')
  }
  // The writer's bucket size, so verify() can check the canonical shape py-hamt built.
  const map = await HAMT.open<unknown>(hexToBytes(built.root), {
    store,
    readOnly: true,
    valuesAreBytes,
    maxBucketSize,
  })
  const entries = new Map<string, string>()
  for await (const [key, value] of map) {
    entries.set(key, bytesToHex(valuesAreBytes ? (value as Uint8Array) : dagCbor.encode(value)))
  }
  assert.deepEqual((await map.verify()).problems, [])
  return entries
}

describe('interop with py-hamt 3.6.0 (in memory)', () => {
  before(async () => {
    await pyHamtPython()
  })

  it('random histories: same root and the same blocks; each side reads the other with every value equal', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.integer({ min: 1, max: 8 }), async (history, maxBucketSize) => {
        const ts = await buildInTs(history, maxBucketSize)
        const py = await pyHamtDriver<Built>('build', {
          maxBucketSize,
          valuesAreBytes: false,
          ops: toDriverOps(history),
        })
        assert.equal(ts.root, py.root, 'root IDs differ')
        assert.deepEqual(ts.blocks, py.blocks, 'block sets differ')
        assert.deepEqual(await readInTs(py, false, maxBucketSize), ts.model, 'ts-hamt reading py-hamt')
        const pyRead = await pyHamtDriver<Read>('read', {
          root: ts.root,
          blocks: ts.blocks,
          valuesAreBytes: false,
        })
        assert.equal(pyRead.size, ts.model.size)
        assert.deepEqual(new Map(Object.entries(pyRead.entries)), ts.model, 'py-hamt reading ts-hamt')
      }),
      { numRuns: 12, seed },
    )
  })

  it('10 000 keys with bytes values: same root, and both read each other', async () => {
    const n = 10_000
    const value = (i: number): Uint8Array => new TextEncoder().encode(`value-${i}-${'x'.repeat(i % 50)}`)
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const ops: Op[] = []
    for (let i = 0; i < n; i++) {
      await map.set(`key/${i}`, value(i))
      ops.push(['set', `key/${i}`, bytesToHex(value(i))])
    }
    for (let i = 0; i < n; i += 10) {
      await map.delete(`key/${i}`)
      ops.push(['delete', `key/${i}`])
    }
    const root = bytesToHex((await map.flush()) as Uint8Array)
    const py = await pyHamtDriver<Built>('build', { maxBucketSize: 4, valuesAreBytes: true, ops })
    assert.equal(root, py.root)
    const fromPy = await readInTs(py, true, 4)
    assert.equal(fromPy.size, n - n / 10)
    for (const [key, hex] of fromPy) assert.equal(hex, bytesToHex(value(Number(key.split('/')[1]))))
    const blocks = Object.fromEntries(
      [...store.blocks()].map(([id, data]) => [bytesToHex(id), bytesToHex(data)]),
    )
    const pyRead = await pyHamtDriver<Read>('read', { root, blocks, valuesAreBytes: true })
    assert.equal(pyRead.size, n - n / 10)
    assert.deepEqual(new Map(Object.entries(pyRead.entries)), fromPy)
  })

  it('keys with unusual characters: empty, __proto__, unicode, slashes', async () => {
    const keys = [
      '',
      '__proto__',
      'constructor',
      'ü',
      '🌍/c/0/0',
      'a'.repeat(300),
      'zarr.json',
      'temp/c/0/0/0',
    ]
    const history = keys.map((k, i) => ['set', k, { i }] as ['set', string, unknown])
    const ts = await buildInTs(history, 1)
    const py = await pyHamtDriver<Built>('build', {
      maxBucketSize: 1,
      valuesAreBytes: false,
      ops: toDriverOps(history),
    })
    assert.equal(ts.root, py.root)
    assert.deepEqual(await readInTs(py, false, 1), ts.model)
  })
})
