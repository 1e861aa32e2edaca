// mergeZarrRoots against metadata one encoding spelled two ways: a codec configuration with a default
// left out or written (zarr-python 3.0's and the Zarr v3 spec's defaults) is one encoding and merges;
// a real change of it is still refused. And two appends that write the same zarr.json in other bytes
// (key order, whitespace) are no conflict, whichever order they are merged in; a real difference
// (a value, 1 against 1.0, an int64 past 2^53 by one) still is.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, isHamtError, mergeZarrRoots, ShardedZarrStore, type StoreId } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { shardedPath, writeShardedBase, writeTempRows } from './helpers/merge-zarr.js'

const encoder = new TextEncoder()

/** An array's zarr.json, float64 unless `extra` says otherwise, with these codecs. */
function arrayDoc(codecs: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: [12, 12],
    data_type: 'float64',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [2, 4] } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs,
    ...extra,
  }
}

/** A HAMT root holding `entries` (documents as JSON text, anything else as given). */
async function root(store: CidMemoryStore, entries: Record<string, string | Uint8Array>): Promise<StoreId> {
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  for (const [key, value] of Object.entries(entries))
    await map.set(key, typeof value === 'string' ? encoder.encode(value) : value)
  return map.flush()
}

const BYTES = { name: 'bytes', configuration: { endian: 'little' } }
const chunk = Uint8Array.of(1, 2, 3)

/**
 * The base's `temp/zarr.json` written with `before`, one side rewriting it as `after`, the other
 * writing a chunk under the base's: merged both ways, or refused both ways naming the codecs.
 */
async function mergeRecoded(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Promise<'merged' | 'refused'> {
  const store = new CidMemoryStore()
  const base = await root(store, { 'temp/zarr.json': JSON.stringify(before) })
  const recoded = await root(store, { 'temp/zarr.json': JSON.stringify(after) })
  const chunks = await root(store, { 'temp/zarr.json': JSON.stringify(before), 'temp/c/0/0': chunk })
  const outcomes = []
  for (const [a, b] of [
    [recoded, chunks],
    [chunks, recoded],
  ] as const) {
    outcomes.push(
      await mergeZarrRoots(base, a, b, { store }).then(
        () => 'merged' as const,
        (error: unknown) => {
          assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
          assert.match(error.message, /"temp".*changes its (codecs|chunk_key_encoding)/)
          return 'refused' as const
        },
      ),
    )
  }
  assert.equal(outcomes[0], outcomes[1])
  return outcomes[0] as 'merged' | 'refused'
}

describe('mergeZarrRoots: codec defaults left out or written are one encoding', () => {
  const zstd = (configuration: Record<string, unknown>) => [BYTES, { name: 'zstd', configuration }]
  const blosc = (configuration: Record<string, unknown>) => [BYTES, { name: 'blosc', configuration }]
  const sharded = (configuration: Record<string, unknown>) => [
    {
      name: 'sharding_indexed',
      configuration: {
        chunk_shape: [1, 2],
        codecs: [BYTES],
        index_codecs: [BYTES, { name: 'crc32c' }],
        ...configuration,
      },
    },
  ]
  const cases: Array<[string, unknown[], unknown[], 'merged' | 'refused']> = [
    ['zstd checksum absent / false', zstd({ level: 3 }), zstd({ level: 3, checksum: false }), 'merged'],
    ['zstd level absent / 0', zstd({ checksum: false }), zstd({ level: 0, checksum: false }), 'merged'],
    ['zstd checksum absent / true', zstd({ level: 3 }), zstd({ level: 3, checksum: true }), 'refused'],
    ['zstd level 3 / 4', zstd({ level: 3 }), zstd({ level: 4 }), 'refused'],
    [
      'gzip level absent / 5',
      [BYTES, { name: 'gzip', configuration: {} }],
      [BYTES, { name: 'gzip', configuration: { level: 5 } }],
      'merged',
    ],
    [
      'gzip level absent / 1',
      [BYTES, { name: 'gzip', configuration: {} }],
      [BYTES, { name: 'gzip', configuration: { level: 1 } }],
      'refused',
    ],
    [
      'blosc all defaults / written',
      blosc({}),
      blosc({ cname: 'zstd', clevel: 5, shuffle: 'shuffle', typesize: 8, blocksize: 0 }),
      'merged',
    ],
    ['blosc cname absent / lz4', blosc({}), blosc({ cname: 'lz4' }), 'refused'],
    ['blosc shuffle absent / bitshuffle (float64)', blosc({}), blosc({ shuffle: 'bitshuffle' }), 'refused'],
    ['blosc typesize absent / 4 (float64)', blosc({}), blosc({ typesize: 4 }), 'refused'],
    [
      'crc32c configuration absent / {}',
      [BYTES, { name: 'crc32c' }],
      [BYTES, { name: 'crc32c', configuration: {} }],
      'merged',
    ],
    ['sharding index_location absent / end', sharded({}), sharded({ index_location: 'end' }), 'merged'],
    ['sharding index_location absent / start', sharded({}), sharded({ index_location: 'start' }), 'refused'],
    [
      'a shard codec zstd checksum absent / false',
      sharded({ codecs: zstd({ level: 1 }) }),
      sharded({ codecs: zstd({ level: 1, checksum: false }) }),
      'merged',
    ],
  ]
  for (const [name, before, after, expected] of cases) {
    it(`${name}: ${expected}`, async () => {
      assert.equal(await mergeRecoded(arrayDoc(before), arrayDoc(after)), expected)
    })
  }

  it('blosc on uint8 defaults to bitshuffle and typesize 1', async () => {
    const uint8 = { data_type: 'uint8', fill_value: 0 }
    const blosc1 = (configuration: Record<string, unknown>) =>
      arrayDoc([BYTES, { name: 'blosc', configuration }], uint8)
    assert.equal(await mergeRecoded(blosc1({}), blosc1({ shuffle: 'bitshuffle', typesize: 1 })), 'merged')
    assert.equal(await mergeRecoded(blosc1({}), blosc1({ shuffle: 'shuffle' })), 'refused')
  })

  it('a chunk key encoding without a configuration is its default separator', async () => {
    const keys = (encoding: unknown) => arrayDoc([BYTES], { chunk_key_encoding: encoding })
    const slash = { name: 'default', configuration: { separator: '/' } }
    assert.equal(await mergeRecoded(keys({ name: 'default' }), keys(slash)), 'merged')
    const dot = { name: 'default', configuration: { separator: '.' } }
    assert.equal(await mergeRecoded(keys({ name: 'default' }), keys(dot)), 'refused')
  })
})

describe('mergeZarrRoots: the same metadata in other bytes', () => {
  /** Base with temp 12 rows; each side appends rows 12-13 (a chunk of its own) writing `doc` as temp's zarr.json. */
  async function appends(docA: string, docB: string) {
    const store = new CidMemoryStore()
    const base = await root(store, {
      'zarr.json': '{"zarr_format":3,"node_type":"group"}',
      'temp/zarr.json': JSON.stringify(arrayDoc([BYTES])),
    })
    const side = (doc: string, chunkKey: string) =>
      root(store, {
        'zarr.json': '{"zarr_format":3,"node_type":"group"}',
        'temp/zarr.json': doc,
        [chunkKey]: chunk,
      })
    const [a, b] = [await side(docA, 'temp/c/6/0'), await side(docB, 'temp/c/6/1')]
    const outcome = (x: StoreId, y: StoreId) =>
      mergeZarrRoots(base, x, y, { store }).then(String, (error: unknown) => {
        assert.ok(isHamtError(error, 'ERR_MERGE_CONFLICT'), String(error))
        return 'conflict'
      })
    const [ab, ba] = [await outcome(a, b), await outcome(b, a)]
    assert.equal(ab, ba, 'the merge order changed the outcome')
    return { merged: ab, store }
  }
  const appended = arrayDoc([BYTES], { shape: [14, 12], attributes: { units: 'K', scale: 1 } })

  it('key order and whitespace: merged, both chunks and one zarr.json', async () => {
    const reordered = Object.fromEntries(Object.entries(appended).reverse())
    const { merged, store } = await appends(JSON.stringify(appended), JSON.stringify(reordered, null, 4))
    assert.notEqual(merged, 'conflict')
    const map = await HAMT.open<Uint8Array>(merged, { store, valuesAreBytes: true })
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await map.get('temp/zarr.json'))), appended)
    assert.deepEqual((await map.get('temp/c/6/0')) ?? null, chunk)
    assert.deepEqual((await map.get('temp/c/6/1')) ?? null, chunk)
  })

  it('another shape, 1.0 against 1, or an int64 fill value past 2^53 by one: still a conflict', async () => {
    const text = JSON.stringify(appended)
    const variants = [
      JSON.stringify({ ...appended, shape: [16, 12] }),
      text.replace('"scale":1', '"scale":1.0'),
      text.replace('"fill_value":0', '"fill_value":9007199254740993'),
    ]
    for (const variant of variants) assert.equal((await appends(text, variant)).merged, 'conflict', variant)
    const big = text.replace('"fill_value":0', '"fill_value":9007199254740992')
    assert.equal((await appends(big, big.replace('9007199254740992', '9007199254740993'))).merged, 'conflict')
  })
})

describe('mergeZarrRoots: the same metadata in other bytes, sharded', () => {
  for (const version of ['sharded_zarr_v1', 'sharded_zarr_v2'] as const) {
    it(`${version}: two writers' zarr.json in other key order and whitespace, chunks of their own: merged`, async () => {
      const store = new CidMemoryStore()
      const base = await writeShardedBase(store, version)
      const path = shardedPath(version)
      const side = async (indent: number | undefined, row: number) => {
        const sharded = await ShardedZarrStore.open(base, { store, readOnly: false })
        const doc = JSON.parse(new TextDecoder().decode(await sharded.get(`${path}/zarr.json`)))
        const reordered = Object.fromEntries(
          Object.entries({ ...doc, attributes: { units: 'kelvin' } }).reverse(),
        )
        await sharded.set(
          `${path}/zarr.json`,
          encoder.encode(
            JSON.stringify(indent ? reordered : { ...doc, attributes: { units: 'kelvin' } }, null, indent),
          ),
        )
        await writeTempRows(sharded, [row], path)
        return sharded.flush()
      }
      const [a, b] = [await side(undefined, 0), await side(4, 3)]
      const ab = await mergeZarrRoots(base, a, b, { store })
      assert.equal(String(await mergeZarrRoots(base, b, a, { store })), String(ab))
      const merged = await ShardedZarrStore.open(ab, { store })
      assert.deepEqual(
        JSON.parse(new TextDecoder().decode(await merged.get(`${path}/zarr.json`))).attributes,
        {
          units: 'kelvin',
        },
      )
      assert.ok((await merged.get(`${path}/c/0/0`)) !== undefined)
      assert.ok((await merged.get(`${path}/c/3/0`)) !== undefined)
    })
  }
})
