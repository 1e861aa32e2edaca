// One implementation per primitive: the shared ones agree with the libraries they stand beside.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { decode as cborDecode } from 'cborg'
import fc from 'fast-check'
import { toHex } from 'multiformats/bytes'
import { bytesToHex, hexToBytes } from '../src/blocks.js'
import { canonicalOrder } from '../src/sharded/manifest.js'
import { parsePyJson } from '../src/sharded/pyjson.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

describe('shared primitives', () => {
  it('canonicalOrder is the key order @ipld/dag-cbor writes a map in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 6 }), { maxLength: 20 }),
        (keys) => {
          // Read back as a Map: an object would list integer-like keys ("0") first, whatever the bytes say.
          const written = cborDecode(dagCbor.encode(Object.fromEntries(keys.map((k) => [k, 0]))), {
            useMaps: true,
          }) as Map<string, number>
          assert.deepEqual(canonicalOrder(keys), [...written.keys()])
        },
      ),
      { seed, numRuns: 300 },
    )
  })

  it('bytesToHex is multiformats hex; hexToBytes refuses what is not hex', () => {
    const bytes = Uint8Array.of(0, 1, 0xab, 0xff)
    assert.equal(bytesToHex(bytes), toHex(bytes))
    assert.deepEqual(hexToBytes('0001abFF'), bytes)
    for (const bad of ['abc', 'zz', '0x00']) assert.throws(() => hexToBytes(bad), TypeError)
  })

  it('parsePyJson reads UTF-8 as Python does: a BOM or invalid UTF-8 is not JSON', () => {
    const text = (s: string): Uint8Array => new TextEncoder().encode(s)
    assert.ok(parsePyJson(text('{"a": 1}')) instanceof Map)
    assert.equal(parsePyJson(Uint8Array.of(0xef, 0xbb, 0xbf, ...text('{}'))), undefined)
    assert.equal(parsePyJson(Uint8Array.of(0x22, 0xff, 0x22)), undefined)
  })
})
