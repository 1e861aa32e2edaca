// Outsider review of the merge check's encoding defaults (src/dataset/metadata-compare.ts): a pair the
// check calls equal must decode the same bytes to the same values in real zarrita.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { canonical, encodingField } from '../src/dataset/metadata-compare.js'
import { parsePyJson } from '../src/sharded/pyjson.js'

const parse = (value: unknown) =>
  parsePyJson(new TextEncoder().encode(JSON.stringify(value))) as Map<string, never>
const sameEncoding = (x: object, y: object) =>
  canonical(encodingField(parse(x), 'codecs'), 'as-integers') ===
  canonical(encodingField(parse(y), 'codecs'), 'as-integers')

/** What zarrita reads from chunk `0` under the array document `doc`. */
async function decode(doc: object, chunk: Uint8Array): Promise<number[]> {
  const files = new Map<string, Uint8Array>([
    ['/a/zarr.json', new TextEncoder().encode(JSON.stringify(doc))],
    ['/a/c/0', chunk],
  ])
  const store = { get: async (key: string) => files.get(key) }
  const array = await zarr.open.v3(zarr.root(store).resolve('a'), { kind: 'array' })
  return [...((await zarr.get(array)).data as Uint8Array)]
}

/** A one-byte array whose chunks are stored as int32 (zarrita's cast_value), in `endian` order. */
const castDoc = (endian: string, nested: boolean) => {
  const codecs = [
    { name: 'cast_value', configuration: { data_type: 'int32', out_of_range: 'clamp' } },
    { name: 'bytes', configuration: { endian } },
  ]
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: [2],
    data_type: 'uint8',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [2] } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs: nested
      ? [
          {
            name: 'sharding_indexed',
            configuration: {
              chunk_shape: [2],
              codecs,
              index_codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
            },
          },
        ]
      : codecs,
    attributes: {},
  }
}

describe('a one-byte data type whose codecs change the type before the bytes codec', () => {
  it('endian big vs little decode differently in zarrita, so the check refuses them', async () => {
    const chunk = Uint8Array.of(0, 0, 0, 7, 0, 0, 0, 9) // int32 7 and 9, big-endian
    const [big, little] = [castDoc('big', false), castDoc('little', false)]
    assert.deepEqual(await decode(big, chunk), [7, 9])
    assert.notDeepEqual(await decode(little, chunk), [7, 9])
    assert.equal(sameEncoding(big, little), false)
  })

  it('the same inside a shard', () => {
    assert.equal(sameEncoding(castDoc('big', true), castDoc('little', true)), false)
  })
})
