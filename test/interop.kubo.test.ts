// Interop with the real py-hamt 3.6.0 and its KuboCAS, on the same real Kubo daemon.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { bytesToHex } from '../src/blocks.js'
import { HAMT, KuboStore } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { pyHamtDriver, pyHamtPython } from './helpers/python.js'
import { testSeed } from './helpers/random.js'

// fast-check draws from one printed seed (replay with TS_HAMT_SEED).
const seed = testSeed()

type Op = ['set', string, string] | ['delete', string]

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }

const valueArb = fc.oneof(
  fc.integer(),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string(), fc.boolean()), {
    maxKeys: 3,
  }),
)
const historyArb = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(
        fc.constant('set' as const),
        fc.integer({ min: 0, max: 300 }).map(String),
        valueArb,
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constant('delete' as const), fc.integer({ min: 0, max: 300 }).map(String)),
    },
  ),
  { minLength: 1, maxLength: 250, size: 'max' }, // fast-check's default size would cap histories near 10 ops
)

describe('interop with py-hamt 3.6.0 KuboCAS on one daemon', () => {
  before(async () => {
    await pyHamtPython()
  })

  it('random histories: the same root CID, and each opens the other’s map with every value equal', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.integer({ min: 1, max: 6 }), async (history, maxBucketSize) => {
        const store = new KuboStore(kuboOptions(urls))
        const map = await HAMT.create({ store, maxBucketSize })
        const model = new Map<string, string>()
        const ops: Op[] = []
        for (const op of history) {
          if (op[0] === 'set') {
            await map.set(op[1], op[2])
            model.set(op[1], bytesToHex(dagCbor.encode(op[2])))
            ops.push(['set', op[1], bytesToHex(dagCbor.encode(op[2]))])
          } else if (model.delete(op[1])) {
            await map.delete(op[1])
            ops.push(op)
          }
        }
        const root = String(await map.flush())
        const py = await pyHamtDriver<{ root: string }>('kubo-build', {
          ...urls,
          maxBucketSize,
          valuesAreBytes: false,
          ops,
        })
        assert.equal(root, py.root, 'root CIDs differ')
        // py-hamt reads the map ts-hamt wrote…
        const pyRead = await pyHamtDriver<{ size: number; entries: Record<string, string> }>('kubo-read', {
          ...urls,
          root,
          valuesAreBytes: false,
        })
        assert.deepEqual(new Map(Object.entries(pyRead.entries)), model)
        // …and ts-hamt reads the map py-hamt wrote, through a fresh store.
        const reader = await HAMT.open(CID.parse(py.root), {
          store: new KuboStore(kuboOptions(urls)),
          readOnly: true,
        })
        const entries = new Map<string, string>()
        for await (const [key, value] of reader) entries.set(key, bytesToHex(dagCbor.encode(value)))
        assert.deepEqual(entries, model)
      }),
      { numRuns: 6, seed },
    )
  })

  it('5000 keys of bytes values: same root CID both ways', async () => {
    const ops: Op[] = []
    const store = new KuboStore(kuboOptions(urls))
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    for (let i = 0; i < 5000; i++) {
      const value = new TextEncoder().encode(`chunk ${i} `.repeat(1 + (i % 7)))
      await map.set(`temp/c/${i % 50}/${Math.floor(i / 50)}`, value)
      ops.push(['set', `temp/c/${i % 50}/${Math.floor(i / 50)}`, bytesToHex(value)])
    }
    const root = String(await map.flush())
    const py = await pyHamtDriver<{ root: string }>('kubo-build', {
      ...urls,
      maxBucketSize: 4,
      valuesAreBytes: true,
      ops,
    })
    assert.equal(root, py.root)
    const pyRead = await pyHamtDriver<{ size: number }>('kubo-read', { ...urls, root, valuesAreBytes: true })
    assert.equal(pyRead.size, 5000)
  })
})
