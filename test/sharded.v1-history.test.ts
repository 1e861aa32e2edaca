// A v1 sharded store's root after a history of calls, with flushes and reopens between them, compared
// with the real py-hamt 3.6.0 ShardedZarrStore making the same calls. py-hamt's v1 roots depend on
// history: a new store leaves `primary_array_path` unrecorded, so a bare `c/0/0` stays in the metadata
// map, while reopening a root whose `zarr.json` declares the store's shape records `""` and shards it.
// The reference wins (spec/formats.md): ts-hamt must give the same roots and reads, not its own rule.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { hexToBytes } from '../src/blocks.js'
import { isHamtError, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { shardedDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { v3Array } from './helpers/sharded.js'

type Call = [op: 'set' | 'delete' | 'get' | 'flush' | 'reopen' | 'peek', key: string, hex: string]

const create = { arrayShape: [4, 4], chunkShape: [2, 2], chunksPerShard: 3 }
const hex = (text: string): string => Buffer.from(text).toString('hex')
const array = (shape: number[], chunkShape: number[], separator: '/' | '.'): string =>
  Buffer.from(v3Array(shape, chunkShape, separator)).toString('hex')
const docs = {
  slash: array([4, 4], [2, 2], '/'),
  dot: array([4, 4], [2, 2], '.'),
  taller: array([6, 4], [2, 2], '/'),
  rank1: array([4], [2], '/'),
  group: hex(JSON.stringify({ zarr_format: 3, node_type: 'group', attributes: {} })),
}

/** The calls in ts-hamt, answered as sharded_driver.py's `history` answers them. */
async function tsAnswers(calls: Call[]): Promise<(string | null)[]> {
  const cas = await CidMemoryStore.create()
  let store = await ShardedZarrStore.create({ store: cas, ...create })
  const answers: (string | null)[] = []
  const found = (bytes: Uint8Array | undefined): string | null =>
    bytes === undefined ? null : Buffer.from(bytes).toString('hex')
  const refused = async (op: string, key: string, call: () => Promise<void>): Promise<void> => {
    try {
      await call()
    } catch (error) {
      assert.ok(isHamtError(error), `${op} ${key}: ${String(error)}`)
      answers.push('error')
    }
  }
  for (const [op, key, data] of calls) {
    if (op === 'set') await refused(op, key, () => store.set(key, hexToBytes(data)))
    else if (op === 'delete') await refused(op, key, () => store.delete(key))
    else {
      let reader = store
      if (op !== 'get') {
        const root = await store.flush()
        answers.push(root.toString())
        if (op === 'reopen') store = await ShardedZarrStore.open(root, { store: cas, readOnly: false })
        if (op !== 'peek') continue
        reader = await ShardedZarrStore.open(root, { store: cas })
      }
      await refused(op, key, async () => void answers.push(found(await reader.get(key))))
    }
  }
  answers.push((await store.flush()).toString())
  return answers
}

async function compare(calls: Call[], what: string): Promise<(string | null)[]> {
  const { answers } = await shardedDriver<{ answers: (string | null)[] }>('history', { create, calls })
  assert.deepEqual(await tsAnswers(calls), answers, `${what}\n${JSON.stringify(calls)}`)
  return answers
}

describe('v1 roots after histories of calls and reopens match py-hamt 3.6.0', () => {
  // Each zarr v3 chunk key encoding, for an array at the root and at `temp`, written to a new store
  // and to the same store reopened from its flushed root (where py-hamt records the primary).
  for (const path of ['', 'temp/']) {
    for (const [encoding, chunk, doc] of [
      ['default /', 'c/1/0', docs.slash],
      ['default .', 'c.1.0', docs.dot],
      ['v2 .', '1.0', docs.dot],
      ['v2 /', '1/0', docs.slash],
    ] as const) {
      it(`${path || 'root '}array, ${encoding}: ${path}${chunk} on a new store and after a reopen`, async () => {
        const key = `${path}${chunk}`
        const write: Call[] = [
          ['set', `${path}zarr.json`, doc],
          ['set', key, '0102'],
          ['get', key, ''],
          ['peek', key, ''],
        ]
        const fresh = await compare(write, 'new store')
        const reopened = await compare([write[0] as Call, ['reopen', '', ''], ...write.slice(1)], 'reopened')
        // py-hamt's history dependence, kept: only a `temp/c/…` write records the primary on a new
        // store; otherwise the reopen records it (from zarr.json) and the roots differ.
        assert.equal(fresh.at(-1) === reopened.at(-1), key === 'temp/c/1/0', 'roots equal')
      })
    }
  }

  const seed = testSeed()
  for (let run = 0; run < 6; run++) {
    it(`a random history of sets, deletes, reads, flushes and reopens (seed ${seed}, run ${run})`, async () => {
      const random = mulberry32(seed + run)
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
      const paths = ['', 'temp/', 'x/', 'time/']
      const chunkKey = (): string => {
        const [i, j] = [pick([0, 1]), pick([0, 1])]
        return pick(paths) + pick([`c/${i}/${j}`, `c.${i}.${j}`, `${i}.${j}`, `c/${i}`, `c/${i}.${j}`])
      }
      const calls: Call[] = []
      for (let n = 10 + Math.floor(random() * 40); n > 0; n--) {
        const roll = random()
        if (roll < 0.2) calls.push(['set', `${pick(paths)}zarr.json`, pick(Object.values(docs))])
        else if (roll < 0.55) calls.push(['set', chunkKey(), pick(['01', '02', '0303'])])
        else if (roll < 0.65) calls.push(['delete', pick([chunkKey(), `${pick(paths)}zarr.json`]), ''])
        else if (roll < 0.8) calls.push(['get', chunkKey(), ''])
        else if (roll < 0.85) calls.push(['peek', chunkKey(), ''])
        else calls.push([pick(['flush', 'reopen'] as const), '', ''])
      }
      await compare(calls, `seed ${seed + run}`)
    })
  }

  // py-hamt compares an array document's shape with the shape the store had when opened, moved by
  // a resize only while the primary array is the root one: once `temp` is primary, a document of
  // that stale shape resizes nothing. Found by the random histories (a reopen would not see it).
  it('array documents after a resize of a store sharding a named array', async () => {
    const stale: Call[] = [
      ['set', 'time/zarr.json', docs.taller],
      ['set', 'temp/c/1/0', '01'],
      ['set', 'zarr.json', docs.slash],
      ['set', 'zarr.json', docs.taller],
      ['flush', '', ''],
    ]
    await compare(stale, 'stale shape')
    await compare([...stale.slice(0, 3), ['reopen', '', ''], ...stale.slice(3)], 'stale shape, reopened')
    await compare(
      [
        ['set', 'temp/c/0/1', '01'],
        ['set', 'temp/zarr.json', docs.taller],
        ['set', 'x/zarr.json', docs.slash],
        ['set', 'temp/c/1/1', '02'],
        ['set', 'x/zarr.json', docs.taller],
        ['get', 'temp/c/1/1', ''],
      ],
      'back and forth',
    )
  })

  it('a bare chunk kept in the metadata map moves to its shard once a reopen records the root array', async () => {
    const answers = await compare(
      [
        ['set', 'zarr.json', docs.slash],
        ['set', 'c/1/1', '01'],
        ['reopen', '', ''],
        ['get', 'c/1/1', ''],
        ['set', 'c/1/1', '02'],
        ['flush', '', ''],
      ],
      'moved',
    )
    const cas = await CidMemoryStore.create()
    const store = await ShardedZarrStore.create({ store: cas, ...create })
    await store.set('zarr.json', hexToBytes(docs.slash))
    await store.set('c/1/1', hexToBytes('01'))
    const reopened = await ShardedZarrStore.open(await store.flush(), { store: cas, readOnly: false })
    await reopened.set('c/1/1', hexToBytes('02'))
    const root = await reopened.flush()
    assert.equal(root.toString(), answers.at(-1))
    const fields = dagCbor.decode(await cas.load(root)) as { metadata: Record<string, unknown> }
    assert.deepEqual(Object.keys(fields.metadata), ['zarr.json'])
  })
})
