// Outsider review of the merge check's encoding defaults (src/dataset/metadata-compare.ts): a pair the
// check calls equal must decode the same bytes to the same values in real zarrita.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import * as zarr from 'zarrita'
import { canonical, encodingField } from '../src/dataset/metadata-compare.js'
import { parsePyJson } from '../src/sharded/pyjson.js'
import { pyHamtPython } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { V3_DATA_TYPES, v3ArrayDoc } from './helpers/zarr-dtypes.js'

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

const seed = testSeed()
const random = mulberry32(seed)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T

/** A bytes codec with its endian given, left to the reader, or (for one-byte types) said either way. */
const bytesCodec = () =>
  pick([
    { name: 'bytes' },
    { name: 'bytes', configuration: {} },
    { name: 'bytes', configuration: { endian: 'little' } },
    { name: 'bytes', configuration: { endian: 'big' } },
  ])
const compressor = () =>
  pick([
    [],
    [{ name: 'zstd', configuration: pick([{ level: 0, checksum: false }, { level: 0 }, {}]) }],
    [{ name: 'gzip', configuration: pick([{ level: 5 }, {}]) }],
    [{ name: 'blosc', configuration: pick([{ cname: 'zstd', clevel: 5 }, {}, { shuffle: 'noshuffle' }]) }],
  ])

function codecs(depth: number): unknown[] {
  if (depth < 2 && random() < 0.4) {
    const config: Record<string, unknown> = { chunk_shape: [depth === 0 ? 2 : 1] }
    if (random() < 0.7) config.codecs = codecs(depth + 1)
    if (random() < 0.5) config.index_codecs = [bytesCodec(), { name: 'crc32c' }]
    return [{ name: 'sharding_indexed', configuration: config }]
  }
  return [
    ...(random() < 0.2 ? [{ name: 'transpose', configuration: { order: [0] } }] : []),
    bytesCodec(),
    ...compressor(),
  ]
}

const arrayDoc = (dataType: string) => ({ ...v3ArrayDoc(dataType, codecs(0)), attributes: {} })

/** For each pair: zarr-python writes seeded values under the first document, reads them under the second. */
const sameV2 = (x: object, y: object) =>
  ['dtype', 'compressor', 'filters'].every(
    (field) =>
      canonical(encodingField(parse(x), field), 'as-integers') ===
      canonical(encodingField(parse(y), field), 'as-integers'),
  )

/** A numcodecs config with some settings left out (numcodecs 0.16 fills them). */
const numcodec = () => {
  const some = (fields: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(fields).filter(() => random() < 0.5))
  return pick([
    { id: 'zstd', ...some({ level: 0, checksum: false }) },
    { id: 'blosc', ...some({ cname: 'lz4', clevel: 5, shuffle: 1, blocksize: 0 }) },
    { id: 'gzip', ...some({ level: 1 }) },
    { id: 'zlib', ...some({ level: 1 }) },
    { id: 'bz2', ...some({ level: 1 }) },
    { id: 'lz4', ...some({ acceleration: 1 }) },
  ])
}

const v2Doc = (dtype: string) => {
  const filters = pick([null, [], undefined, [numcodec()]])
  return {
    zarr_format: 2,
    shape: [8],
    chunks: [4],
    dtype,
    fill_value: null,
    order: 'C',
    compressor: pick([null, numcodec()]),
    ...(filters === undefined ? {} : { filters }),
  }
}

async function readsBack(pairs: Array<[object, object]>): Promise<string[]> {
  const script = `
import json, sys, tempfile, os, numpy as np, zarr
pairs, seed = json.load(sys.stdin)
rng = np.random.default_rng(seed)
out = []
for a, b in pairs:
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(d + '/a')
        def put(doc):
            with open(d + ('/a/zarr.json' if doc['zarr_format'] == 3 else '/a/.zarray'), 'w') as f: json.dump(doc, f)
        put(a)
        arr = zarr.open_array(store=d, path='a', mode='r+')
        values = (rng.integers(-100, 100, 8)).astype(arr.dtype)
        arr[:] = values
        put(b)
        try: got = zarr.open_array(store=d, path='a', mode='r')[:].tolist()
        except Exception as e: got = repr(e)
        if got != values.tolist(): out.append(f'{json.dumps(a)} wrote {values.tolist()}, {json.dumps(b)} read {got}')
json.dump(out, sys.stdout)`
  const child = promisify(execFile)(await pyHamtPython(), ['-c', script], { maxBuffer: 1 << 24 })
  child.child.stdin?.end(JSON.stringify([pairs, seed]))
  return JSON.parse((await child).stdout) as string[]
}

describe('generated pairs the check calls equal decode alike in zarr-python 3', () => {
  it('v3 codecs: endian given or not, nested shards with and without codecs, compressor settings', async () => {
    const byType = new Map<string, object[]>()
    for (let i = 0; i < 400; i++) {
      const doc = arrayDoc(pick(V3_DATA_TYPES))
      const group = byType.get(doc.data_type) ?? []
      byType.set(doc.data_type, [...group, doc])
    }
    const pairs: Array<[object, object]> = []
    for (const docs of byType.values())
      for (const [i, x] of docs.entries())
        for (const y of docs.slice(i + 1))
          if (pairs.length < 80 && JSON.stringify(x) !== JSON.stringify(y) && sameEncoding(x, y))
            pairs.push([x, y])
    assert.ok(pairs.length >= 20, `only ${pairs.length} pairs (seed ${seed})`)
    const wrong = await readsBack(pairs)
    assert.deepEqual(
      wrong.slice(0, 3),
      [],
      `${wrong.length} of ${pairs.length} pairs read wrong (seed ${seed})`,
    )
  })
})

describe('generated v2 pairs the check calls equal decode alike in zarr-python 3', () => {
  it('filters null, [] or left out; numcodecs settings left out; 1-byte, big-endian and string dtypes', async () => {
    const docs = Array.from({ length: 300 }, () =>
      v2Doc(pick(['|b1', '|i1', '|u1', '<i2', '>i4', '>f8', '<i8', '|S4', '<U3'])),
    )
    const pairs: Array<[object, object]> = []
    for (const [i, x] of docs.entries())
      for (const y of docs.slice(i + 1))
        if (pairs.length < 80 && JSON.stringify(x) !== JSON.stringify(y) && sameV2(x, y)) pairs.push([x, y])
    assert.ok(pairs.length >= 20, `only ${pairs.length} pairs (seed ${seed})`)
    const wrong = await readsBack(pairs)
    assert.deepEqual(
      wrong.slice(0, 3),
      [],
      `${wrong.length} of ${pairs.length} pairs read wrong (seed ${seed})`,
    )
  })
})
