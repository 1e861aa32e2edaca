// The merge check's encoding defaults, continued (src/dataset/metadata-compare.ts): a bytes codec
// without its endian, a shard without index_codecs or codecs, v2 filters [] / null / left out and v2
// compressors with settings left out must compare equal to what zarr-python 3 (the venv's) reads
// them as. Seeded documents, printed seed.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { canonical, encodingField } from '../src/dataset/metadata-compare.js'
import { parsePyJson } from '../src/sharded/pyjson.js'
import { pyHamtPython } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { V2_DTYPES, V3_DATA_TYPES, v3ArrayDoc } from './helpers/zarr-dtypes.js'

const seed = testSeed()
const random = mulberry32(seed)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
/** `fields` with each one kept or left out at random. */
const some = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(() => random() < 0.5))

/** A bytes codec with its endian given or left to the reader. */
const bytesCodec = () =>
  pick([
    { name: 'bytes' },
    { name: 'bytes', configuration: {} },
    { name: 'bytes', configuration: { endian: 'little' } },
  ])

function arrayDoc(): Record<string, unknown> {
  const inner = [
    bytesCodec(),
    ...pick([[], [{ name: 'zstd', configuration: { level: 0, checksum: false } }]]),
  ]
  const sharded = {
    name: 'sharding_indexed',
    configuration: {
      chunk_shape: [2],
      ...some({ codecs: inner, index_codecs: [bytesCodec(), { name: 'crc32c' }], index_location: 'end' }),
    },
  }
  return v3ArrayDoc(pick(V3_DATA_TYPES), random() < 0.5 ? [sharded] : inner)
}

/** A numcodecs config with some of its settings left out. */
function numcodec(): Record<string, unknown> {
  return pick([
    { id: 'zstd', ...some({ level: pick([0, 3]), checksum: pick([false, true]) }) },
    {
      id: 'blosc',
      ...some({ cname: pick(['lz4', 'zstd']), clevel: pick([5, 9]), shuffle: pick([0, 1, 2]), blocksize: 0 }),
    },
    { id: 'gzip', ...some({ level: pick([1, 5]) }) },
    { id: 'zlib', ...some({ level: pick([1, 9]) }) },
    { id: 'bz2', ...some({ level: pick([1, 9]) }) },
    { id: 'lz4', ...some({ acceleration: pick([1, 4]) }) },
  ])
}

function v2Doc(): Record<string, unknown> {
  return {
    zarr_format: 2,
    shape: [8],
    chunks: [4],
    dtype: pick(V2_DTYPES),
    fill_value: 0,
    order: 'C',
    compressor: pick([null, numcodec()]),
    ...some({ filters: pick([null, [], [numcodec()]]) }),
  }
}

/** What zarr-python makes of each document: read, then written back. */
async function asZarrPythonWrites(docs: Record<string, unknown>[], fields: string[]): Promise<unknown[]> {
  const script = `
import json, sys
from zarr.core.metadata.v2 import ArrayV2Metadata
from zarr.core.metadata.v3 import ArrayV3Metadata
docs, fields = json.load(sys.stdin)
read = [(ArrayV3Metadata if d['zarr_format'] == 3 else ArrayV2Metadata).from_dict(dict(d)).to_dict() for d in docs]
def plain(o):
    if hasattr(o, 'get_config'): return o.get_config()
    return getattr(o, 'value', None) or list(o)
json.dump([{f: r.get(f) for f in fields} for r in read], sys.stdout, default=plain)`
  const python = await pyHamtPython()
  const child = promisify(execFile)(python, ['-c', script], { maxBuffer: 1 << 24 })
  child.child.stdin?.end(JSON.stringify([docs, fields]))
  return JSON.parse((await child).stdout) as unknown[]
}

const parse = (value: unknown) =>
  parsePyJson(new TextEncoder().encode(JSON.stringify(value))) as Map<string, never>

async function differences(docs: Record<string, unknown>[], fields: string[]): Promise<string[]> {
  const rewritten = await asZarrPythonWrites(docs, fields)
  const differ: string[] = []
  docs.forEach((doc, i) => {
    const theirs = parse({ ...doc, ...(rewritten[i] as object) })
    for (const field of fields) {
      const [a, b] = [parse(doc), theirs].map((d) => canonical(encodingField(d, field), 'as-integers'))
      if (a !== b) differ.push(`${JSON.stringify(doc)}\n  ${field}: ours ${a}\n  zarr-python ${b}`)
    }
  })
  return differ
}

describe('encoding defaults left out compare equal to zarr-python 3 reading them', () => {
  it('v3: the bytes codec without an endian, a shard without codecs or index_codecs', async () => {
    const differ = await differences(Array.from({ length: 200 }, arrayDoc), ['codecs'])
    assert.deepEqual(differ.slice(0, 5), [], `${differ.length} differ (seed ${seed})`)
  })

  it('v2: filters [], null or left out; compressor settings left out', async () => {
    const differ = await differences(Array.from({ length: 200 }, v2Doc), ['compressor', 'filters'])
    assert.deepEqual(differ.slice(0, 5), [], `${differ.length} differ (seed ${seed})`)
  })

  it('the pairs the last session left refused compare equal', () => {
    const same = (field: string, x: object, y: object) =>
      assert.equal(
        canonical(encodingField(parse(x), field), 'as-integers'),
        canonical(encodingField(parse(y), field), 'as-integers'),
        `${JSON.stringify(x)} vs ${JSON.stringify(y)}`,
      )
    const v3 = (codecs: unknown[]) => ({ data_type: 'float32', codecs })
    same('codecs', v3([{ name: 'bytes' }]), v3([{ name: 'bytes', configuration: { endian: 'little' } }]))
    const shard = (more: object) =>
      v3([
        {
          name: 'sharding_indexed',
          configuration: { chunk_shape: [2], codecs: [{ name: 'bytes' }], ...more },
        },
      ])
    same(
      'codecs',
      shard({}),
      shard({ index_codecs: [{ name: 'bytes', configuration: { endian: 'little' } }, { name: 'crc32c' }] }),
    )
    same('filters', { filters: null }, { filters: [] })
    same(
      'compressor',
      { compressor: { id: 'zstd' } },
      { compressor: { id: 'zstd', level: 0, checksum: false } },
    )
  })
})
