// Outsider review of the merge check's encoding defaults (src/dataset/metadata-compare.ts): a codec,
// chunk key encoding or storage transformer list written with fields left out must compare equal to
// what zarr-python 3 (the venv's) reads it as, field for field. Seeded documents, printed seed.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { canonical, encodingField } from '../src/dataset/metadata-compare.js'
import { parsePyJson } from '../src/sharded/pyjson.js'
import { pyHamtPython } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { MORE_V3_DATA_TYPES, V3_DATA_TYPES, v3ArrayDoc } from './helpers/zarr-dtypes.js'

const seed = testSeed()
const random = mulberry32(seed)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
/** `fields` with each one kept or left out at random. */
const some = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(() => random() < 0.5))

const TYPES = [...V3_DATA_TYPES, ...MORE_V3_DATA_TYPES]
const BYTES = { name: 'bytes', configuration: { endian: 'little' } }

function compressor(): unknown[] {
  const zstd = {
    name: 'zstd',
    configuration: some({ level: pick([-3, 0, 3, 22]), checksum: pick([true, false]) }),
  }
  const gzip = { name: 'gzip', configuration: some({ level: pick([1, 5, 9]) }) }
  const blosc = {
    name: 'blosc',
    configuration: some({
      cname: pick(['lz4', 'zstd', 'blosclz']),
      clevel: pick([0, 5, 9]),
      shuffle: pick(['noshuffle', 'shuffle', 'bitshuffle']),
      typesize: pick([1, 2, 4, 8]),
      blocksize: pick([0, 1024]),
    }),
  }
  const crc = pick([{ name: 'crc32c' }, { name: 'crc32c', configuration: {} }])
  return pick([[], [zstd], [gzip], [blosc], [zstd, crc], [crc]])
}

/** A v3 array document with some encoding fields left to their defaults. */
function arrayDoc(): Record<string, unknown> {
  const inner = [BYTES, ...compressor()]
  const sharded = {
    name: 'sharding_indexed',
    configuration: {
      chunk_shape: [2],
      codecs: inner,
      index_codecs: [BYTES, ...pick([[], [{ name: 'crc32c' }]])],
      ...some({ index_location: pick(['start', 'end']) }),
    },
  }
  const keys = pick(['default', 'v2'])
  const doc = v3ArrayDoc(pick(TYPES), random() < 0.3 ? [sharded] : inner)
  return {
    ...doc,
    chunk_key_encoding: { name: keys, ...some({ configuration: { separator: pick(['.', '/']) } }) },
    ...some({ storage_transformers: [] }),
  }
}

/** What zarr-python makes of each document: read, then written back. */
async function asZarrPythonWrites(docs: unknown[]): Promise<unknown[]> {
  const script = `
import json, sys
from zarr.core.metadata.v3 import ArrayV3Metadata
docs = json.load(sys.stdin)
fields = ('codecs', 'chunk_key_encoding', 'storage_transformers')
read = [ArrayV3Metadata.from_dict(dict(d)).to_dict() for d in docs]
json.dump([{f: r[f] for f in fields} for r in read], sys.stdout, default=lambda o: getattr(o, 'value', None) or list(o))`
  const python = await pyHamtPython()
  const child = promisify(execFile)(python, ['-c', script], { maxBuffer: 1 << 24 })
  child.child.stdin?.end(JSON.stringify(docs))
  return JSON.parse((await child).stdout) as unknown[]
}

describe('encoding defaults are zarr-python 3 reading the same document', () => {
  it('codecs, chunk_key_encoding and storage_transformers compare equal to their zarr-python rewrite', async () => {
    const docs = Array.from({ length: 300 }, arrayDoc)
    const rewritten = await asZarrPythonWrites(docs)
    const differ: string[] = []
    docs.forEach((doc, i) => {
      const ours = parsePyJson(new TextEncoder().encode(JSON.stringify(doc))) as Map<string, never>
      // The data type as the document has it: the bytes codec's and blosc's defaults depend on it.
      const rewrite = { ...(rewritten[i] as object), data_type: doc.data_type }
      const theirs = parsePyJson(new TextEncoder().encode(JSON.stringify(rewrite))) as Map<string, never>
      for (const field of ['codecs', 'chunk_key_encoding', 'storage_transformers']) {
        const [a, b] = [ours, theirs].map((d) => canonical(encodingField(d, field), 'as-integers'))
        if (a !== b) differ.push(`${JSON.stringify(doc)}\n  ${field}: ours ${a}\n  zarr-python ${b}`)
      }
    })
    assert.deepEqual(differ.slice(0, 5), [], `${differ.length} differ (seed ${seed})`)
  })
})
