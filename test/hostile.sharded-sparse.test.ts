// Hostile shard blocks under sparse reads (shardReadMode 'sparse'): truncated blocks, lying list
// and string lengths, wrong entry sizes, entries that are not CIDs, and random mutations of a real
// shard. Each read ends with the entry a full decode gives, or a typed error, within the budget;
// a shard whose entries differ in width (nulls among CIDs) is read by position, not by offset.
// Generated cases print their seed; TS_HAMT_SEED=<n> replays one.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import type { CID } from 'multiformats/cid'
import { ShardedZarrStore, type ShardReadMode } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

const cas = await CidMemoryStore.create()
const chunks: CID[] = []
for (let i = 0; i < 64; i++) chunks.push(await cas.save(Uint8Array.from([i, 7]), 'raw'))

/** A v1 root over a 1-d array `a` of `n` chunks, all in one shard whose block is `shard` (any bytes). */
async function rootOver(shard: Uint8Array, n: number): Promise<CID> {
  const shardCid = await cas.save(shard, 'dag-cbor')
  const root = {
    manifest_version: 'sharded_zarr_v1',
    metadata: {},
    chunks: {
      array_shape: [n],
      chunk_shape: [1],
      sharding_config: { chunks_per_shard: n },
      shard_cids: [shardCid],
      primary_array_path: 'a',
    },
  }
  return cas.save(dagCbor.encode(root), 'dag-cbor')
}

/** Reads chunk `position` in `mode`: which of `chunks` it is (-1: none), or the error. */
async function readAt(root: CID, mode: ShardReadMode, position: number): Promise<number> {
  const store = await ShardedZarrStore.open(root, { store: cas, shardReadMode: mode })
  const bytes = await store.get(`a/c/${position}`)
  return bytes === undefined ? -1 : (bytes[0] as number)
}

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'))
const cidEntry = (cid: CID): Uint8Array => dagCbor.encode(cid)
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))
const valid = dagCbor.encode([chunks[0], null, chunks[1], chunks[2]])

describe('hostile shard blocks under sparse reads', () => {
  const cases: Array<[string, Uint8Array, number]> = [
    ['an empty block', new Uint8Array(0), 4],
    ['a block cut inside the list header', hex('99 01'), 300],
    ['a block cut inside an entry before the one read', valid.subarray(0, 20), 4],
    ['a block cut inside the entry read', valid.subarray(0, valid.length - 5), 4],
    ['a header declaring one entry more', concat(hex('85'), valid.subarray(1)), 4],
    ['a header declaring 2^64-1 entries', concat(hex('9b ffffffffffffffff'), valid.subarray(1)), 4],
    ['an indefinite-length list', concat(hex('9f'), valid.subarray(1), hex('ff')), 4],
    ['a header not minimally encoded', concat(hex('98 04'), valid.subarray(1)), 4],
    ['not a list at all', dagCbor.encode({ a: 1 }), 4],
    [
      'a CID byte string whose length says 2^64-1',
      concat(hex('84'), hex('d8 2a 5b ffffffffffffffff'), cidEntry(chunks[1] as CID)),
      4,
    ],
    ['a CID entry of 5 bytes (wrong entry size)', concat(hex('84 f6 f6 f6 d8 2a 45 00 01 55 1e 20')), 4],
    [
      'a CID entry 3 bytes longer than its CID',
      concat(hex('84 f6 f6 f6'), hex('d8 2a 58 28'), cidEntry(chunks[1] as CID).subarray(4), hex('000000')),
      4,
    ],
    ['an integer where an entry should be', concat(hex('84 f6 01 f6'), cidEntry(chunks[1] as CID)), 4],
    ['a map as the entry read', concat(hex('84 f6 f6 f6 a0')), 4],
    ['a string as the entry read', concat(hex('84 f6 f6 f6 63 616263')), 4],
    ['a tag other than 42', concat(hex('84 f6 f6 f6 d8 2b 41 00')), 4],
  ]
  for (const [name, shard, n] of cases) {
    it(`${name}: a typed error, as a full read gives one`, async () => {
      const root = await rootOver(shard, n)
      const sparse = await withinBudget(name, () => readAt(root, 'sparse', n - 1))
      assertTypedError(sparse, 'ERR_INVALID_MANIFEST')
      assertTypedError(await withinBudget(name, () => readAt(root, 'full', n - 1)))
    })
  }

  it('a million-entry shard cut after its first entry is refused at the first missing entry', async () => {
    const root = await rootOver(hex('9a 000f4240 f6'), 1_000_000)
    assertTypedError(
      await withinBudget('cut million', () => readAt(root, 'sparse', 999_999)),
      'ERR_INVALID_MANIFEST',
    )
  })

  it('entries of different widths: 41 nulls before the entry read, where a fixed-width offset lands on another CID', async () => {
    // A null is 1 byte and a CID 41: 41 nulls shift every later entry by 40 x 41 bytes, exactly 40
    // entries, so reading entry 41 at 41 x 41 bytes would give entry 81's CID. Read by position, it is entry 41's.
    const entries = [...new Array(41).fill(null), ...chunks.slice(0, 41), ...new Array(22).fill(null)]
    const shard = dagCbor.encode(entries)
    const root = await rootOver(shard, entries.length)
    for (const mode of ['sparse', 'full', 'auto'] as const) {
      assert.equal(await readAt(root, mode, 41), 0, mode)
      assert.equal(await readAt(root, mode, 81), 40, mode)
      assert.equal(await readAt(root, mode, 40), -1, mode)
    }
  })

  it('random mutations of a shard: the entry a full read gives, or a typed error', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? null : (chunks[i] as CID)))
    const good = dagCbor.encode(entries)
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(good.length - 1), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(good.length - 1) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(good.length - 1), value: fc.nat(255) }),
    )
    const samples = fc.sample(fc.tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.nat(39)), {
      numRuns: 120,
      seed,
    })
    for (const [index, [mutations, position]] of samples.entries()) {
      let bytes = good
      for (const m of mutations) {
        if (m.kind === 'flip') bytes = Uint8Array.from(bytes, (b, i) => (i === m.at ? m.value : b))
        else if (m.kind === 'cut') bytes = bytes.subarray(0, Math.min(m.at, bytes.length))
        else bytes = concat(bytes.subarray(0, m.at), Uint8Array.of(m.value), bytes.subarray(m.at))
      }
      const root = await rootOver(bytes, 40)
      const label = `mutation ${index} (seed ${seed})`
      const sparse = await withinBudget(label, () => readAt(root, 'sparse', position))
      const full = await withinBudget(label, () => readAt(root, 'full', position))
      if ('error' in full && full.error !== undefined) {
        // The damage may lie after the entry read, which a sparse read does not look at.
        if ('error' in sparse && sparse.error !== undefined) assertTypedError(sparse)
        else
          assert.ok(
            typeof sparse.value === 'number' && sparse.value >= -1 && sparse.value < chunks.length,
            label,
          )
      } else {
        // A shard that decodes whole is read the same way entry by entry.
        assert.ok(!('error' in sparse) || sparse.error === undefined, `${label}: ${String(sparse.error)}`)
        assert.equal(sparse.value, full.value, label)
      }
    }
  })
})
