// The real py-hamt 3.6.0 reads a map built by HAMT.fromEntries, and builds the same root from the
// same content with its own set calls.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { bytesToHex } from '../src/blocks.js'
import { HAMT, MemoryStore } from '../src/index.js'
import { pyHamtDriver, pyHamtPython } from './helpers/python.js'

type Read = { size: number; entries: Record<string, string> }
type Built = { root: string }

describe('py-hamt reads a bulk-built map', () => {
  before(async () => {
    await pyHamtPython()
  })

  it('5 000 keys with repeats and mixed values, bucket size 3: py-hamt reads every value and builds the same root', async () => {
    const entries: Array<[string, unknown]> = []
    for (let i = 0; i < 6000; i++) {
      const key = i % 5 === 0 ? `dup/${i % 1000}` : `key/${i}`
      const value = [i, `text ${i}`, { n: i, list: [true, null] }, Uint8Array.of(i & 0xff)][i % 4]
      entries.push([key, value])
    }
    const store = await MemoryStore.create()
    const map = await HAMT.fromEntries(entries, { store, maxBucketSize: 3 })
    const model = new Map(entries)
    const blocks = Object.fromEntries(
      [...store.blocks()].map(([id, data]) => [bytesToHex(id), bytesToHex(data)]),
    )
    const root = bytesToHex(map.rootId as Uint8Array)
    const read = await pyHamtDriver<Read>('read', { root, blocks, valuesAreBytes: false })
    assert.equal(read.size, model.size)
    const expected = Object.fromEntries([...model].map(([k, v]) => [k, bytesToHex(dagCbor.encode(v))]))
    assert.deepEqual(read.entries, expected)
    const built = await pyHamtDriver<Built>('build', {
      maxBucketSize: 3,
      valuesAreBytes: false,
      ops: entries.map(([k, v]) => ['set', k, bytesToHex(dagCbor.encode(v))]),
    })
    assert.equal(built.root, root, 'py-hamt builds the same root')
  })
})
