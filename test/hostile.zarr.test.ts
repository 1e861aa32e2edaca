// Byte ranges built to hurt (negative, NaN, fractional, huge, beyond the end, suffixes longer than
// the value, zero length) through every path that reads a range: the stores, HAMT.get, the Zarr
// stores' cached-metadata and chunk paths, the encrypted store and the sharded store. Each must give
// what one reference slicing function says: the bytes, ERR_INVALID_ARGUMENT or ERR_RANGE_NOT_SATISFIABLE.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import {
  EncryptedZarrHAMTStore,
  HAMT,
  isHamtError,
  MemoryStore,
  ShardedZarrStore,
  type StoreId,
  ZarrHAMTStore,
} from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-hostile-zarr-'))
after(() => rm(scratch, { recursive: true, force: true }))

type Range = { offset: unknown; length?: unknown } | { suffix: unknown }
type Outcome = { bytes: number[] } | { code: string }

/** The rules, written out once here and independently of src/cas/range.ts. */
function reference(value: Uint8Array, range: Range): Outcome {
  const count = (x: unknown): x is number =>
    typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= Number.MAX_SAFE_INTEGER
  const size = value.length
  if ('suffix' in range) {
    if ('offset' in range) return { code: 'ERR_INVALID_ARGUMENT' }
    if (!count(range.suffix)) return { code: 'ERR_INVALID_ARGUMENT' }
    if (range.suffix > size) return { code: 'ERR_RANGE_NOT_SATISFIABLE' }
    return { bytes: [...value.subarray(size - range.suffix)] }
  }
  if (!count(range.offset)) return { code: 'ERR_INVALID_ARGUMENT' }
  if (range.length !== undefined && !count(range.length)) return { code: 'ERR_INVALID_ARGUMENT' }
  const end = range.length === undefined ? size : range.offset + range.length
  if (range.offset > size || end > size) return { code: 'ERR_RANGE_NOT_SATISFIABLE' }
  return { bytes: [...value.subarray(range.offset, end)] }
}

async function outcome(read: () => Promise<Uint8Array | undefined>): Promise<Outcome> {
  try {
    const bytes = await read()
    assert.ok(bytes instanceof Uint8Array, 'a present value read as undefined')
    return { bytes: [...bytes] }
  } catch (error) {
    assert.ok(isHamtError(error), `not a typed error: ${String((error as Error)?.stack ?? error)}`)
    return { code: error.code }
  }
}

/** zarrita's shape of a range. */
function rangeQuery(range: Range): never {
  if (!('suffix' in range)) return range as never
  const { suffix, ...rest } = range
  return { suffixLength: suffix, ...rest } as never
}

const SIZES = [0, 1, 2, 7, 64, 300]
const values = SIZES.map((size, i) => Uint8Array.from({ length: size }, (_, j) => (i * 31 + j * 7) & 0xff))

interface Reader {
  name: string
  /** Reads range `range` of value `index`. */
  read(index: number, range: Range): Promise<Uint8Array | undefined>
  /** Whether the path takes ranges with an offset and no length (zarrita's type always gives one). */
  offsetOnly: boolean
}

async function readers(): Promise<Reader[]> {
  const memory = await MemoryStore.create()
  const disk = await DiskStore.open(join(scratch, 'disk'))
  // Values above 16 bytes become UnixFS files there: ranges are then read across 16-byte leaves.
  const chunked = await DiskStore.open(join(scratch, 'chunked'), { chunkSize: 16 })
  const pointers: StoreId[] = []
  const diskIds: StoreId[] = []
  const fileIds: StoreId[] = []
  for (const value of values) {
    pointers.push(await memory.save(value, 'raw'))
    diskIds.push(await disk.save(value, 'raw'))
    fileIds.push(await chunked.save(value, 'raw'))
  }
  const map = await HAMT.create<Uint8Array>({ store: memory, valuesAreBytes: true })
  const zarrStore = new ZarrHAMTStore(map)
  const key = new Uint8Array(32).fill(7)
  const encrypted = new EncryptedZarrHAMTStore(
    await HAMT.create<Uint8Array>({ store: memory, valuesAreBytes: true }),
    { key, header: new TextEncoder().encode('hostile') },
  )
  const sharded = await ShardedZarrStore.create({
    store: await CidMemoryStore.create(),
    arrayShape: [values.length],
    chunkShape: [1],
    chunksPerShard: 4,
  })
  for (const [i, value] of values.entries()) {
    await map.set(`k${i}`, value)
    for (const store of [zarrStore, encrypted]) {
      await store.set(`/g${i}/zarr.json`, value)
      await store.set(`/g${i}/c/0`, value)
    }
    await sharded.set(`/g${i}/zarr.json`, value)
    await sharded.set(`/c/${i}`, value)
  }
  // Metadata paths keep a decoded copy: read once so the cached path is what is tested.
  for (const [i] of values.entries()) {
    await zarrStore.get(`/g${i}/zarr.json`)
    await encrypted.get(`/g${i}/zarr.json`)
  }
  const byteRange = (range: Range) => ({ range: range as never })
  return [
    {
      name: 'MemoryStore.load',
      offsetOnly: true,
      read: (i, r) => memory.load(pointers[i] as StoreId, byteRange(r)),
    },
    {
      name: 'DiskStore.load',
      offsetOnly: true,
      read: (i, r) => disk.load(diskIds[i] as StoreId, byteRange(r)),
    },
    {
      name: 'DiskStore.load of a UnixFS file',
      offsetOnly: true,
      read: (i, r) => chunked.load(fileIds[i] as StoreId, byteRange(r)),
    },
    { name: 'HAMT.get', offsetOnly: true, read: (i, r) => map.get(`k${i}`, byteRange(r)) },
    {
      name: 'ZarrHAMTStore metadata',
      offsetOnly: false,
      read: (i, r) => zarrStore.getRange(`/g${i}/zarr.json`, rangeQuery(r)),
    },
    {
      name: 'ZarrHAMTStore chunk',
      offsetOnly: false,
      read: (i, r) => zarrStore.getRange(`/g${i}/c/0`, rangeQuery(r)),
    },
    {
      name: 'EncryptedZarrHAMTStore metadata',
      offsetOnly: false,
      read: (i, r) => encrypted.getRange(`/g${i}/zarr.json`, rangeQuery(r)),
    },
    {
      name: 'EncryptedZarrHAMTStore chunk',
      offsetOnly: false,
      read: (i, r) => encrypted.getRange(`/g${i}/c/0`, rangeQuery(r)),
    },
    {
      name: 'ShardedZarrStore metadata',
      offsetOnly: false,
      read: (i, r) => sharded.getRange(`/g${i}/zarr.json`, rangeQuery(r)),
    },
    {
      name: 'ShardedZarrStore chunk',
      offsetOnly: false,
      read: (i, r) => sharded.getRange(`/c/${i}`, rangeQuery(r)),
    },
  ]
}

const number = fc.oneof(
  fc.integer({ min: -3, max: 310 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0.5,
    1.5,
    -1,
    2 ** 53,
    2 ** 53 - 1,
  ),
  fc.double(),
  fc.constantFrom('1', null, undefined, 1n, {}, true) as fc.Arbitrary<unknown>,
)
const rangeArb: fc.Arbitrary<Range> = fc.oneof(
  fc.record({ offset: number, length: number }),
  fc.record({ offset: number }),
  fc.record({ suffix: number }),
  fc.record({ suffix: number, offset: number }, { requiredKeys: ['suffix'] }),
)

describe('byte ranges on every path that reads them', () => {
  it('agree with one reference slicing function, for random and hostile ranges', async () => {
    const paths = await readers()
    const result = await withinBudget('random ranges', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: values.length - 1 }), rangeArb, async (index, range) => {
          const expected = reference(values[index] as Uint8Array, range)
          for (const path of paths) {
            if (!path.offsetOnly && !('suffix' in range) && !('length' in range)) continue
            const got = await outcome(() => path.read(index, range))
            assert.deepEqual(
              got,
              expected,
              `${path.name}, value of ${SIZES[index]} bytes, range ${show(range)}`,
            )
          }
        }),
        { seed, numRuns: 400 },
      )
    })
    if (result.error !== undefined) throw result.error
  })

  it('reject a malformed range before looking the key up: a missing key does not hide it', async () => {
    const paths = (await readers()).filter((path) => !path.offsetOnly)
    for (const range of [{ offset: -1, length: 2 }, { suffix: Number.NaN }, { offset: 0.5, length: 1 }]) {
      for (const path of paths) {
        await assert.rejects(
          path.read(1000, range),
          (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT'),
          `${path.name} ${show(range)}`,
        )
      }
    }
  })
})

function show(range: Range): string {
  return JSON.stringify(range, (_k, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? `${v}n` : v,
  )
}
