// ShardedZarrStore calls made without waiting take effect in call order, as a HAMT's do: a read of a
// key called after a write of that key sees the write, however long its upload takes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, newV1 } from './helpers/sharded.js'

const seed = testSeed()

/** A CID store whose saves and loads take a random few milliseconds, so later calls overtake earlier ones. */
class SlowStore implements ContentAddressedStore {
  constructor(
    readonly inner: CidMemoryStore,
    readonly random: () => number,
  ) {}

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    await sleep(Math.floor(this.random() * 4))
    return this.inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    await sleep(Math.floor(this.random() * 4))
    return this.inner.load(id, options)
  }
}

type Call = { op: 'set'; key: string; value: number } | { op: 'delete' | 'get' | 'has'; key: string }

describe('ShardedZarrStore calls in call order', () => {
  it('generated batches of set, delete, get and has fired without waiting: each read sees the calls before it', async () => {
    const random = mulberry32(seed)
    const outcome = await withinBudget(
      'call order',
      async () => {
        for (let run = 0; run < 40; run++) {
          const store = await newV1(new SlowStore(await CidMemoryStore.create(), random))
          const model = new Map<string, number>()
          const keys = Array.from(
            { length: 3 },
            () => `a/c/${Math.floor(random() * 4)}/${Math.floor(random() * 4)}`,
          )
          const calls: Call[] = Array.from({ length: 12 }, () => {
            const key = keys[Math.floor(random() * keys.length)] as string
            const pick = random()
            if (pick < 0.35) return { op: 'set', key, value: Math.floor(random() * 250) }
            return { op: pick < 0.5 ? 'delete' : pick < 0.8 ? 'get' : 'has', key }
          })
          // v1 settles its sharded array at the first chunk write (which runs alone): settled first here.
          await store.set(keys[0] as string, bytes(255))
          model.set(keys[0] as string, 255)
          const expected: unknown[] = []
          const running = calls.map((call) => {
            if (call.op === 'set') {
              model.set(call.key, call.value)
              expected.push(undefined)
              return store.set(call.key, bytes(call.value))
            }
            if (call.op === 'delete') {
              model.delete(call.key)
              expected.push(undefined)
              return store.delete(call.key)
            }
            const value = model.get(call.key)
            if (call.op === 'has') {
              expected.push(value !== undefined)
              return store.has(call.key)
            }
            expected.push(value === undefined ? undefined : bytes(value))
            return store.get(call.key)
          })
          const got = await Promise.all(running)
          assert.deepEqual(got, expected, `seed ${seed} run ${run}: ${JSON.stringify(calls)}`)
        }
      },
      { ms: 20_000 },
    )
    assert.equal(outcome.error, undefined, String((outcome.error as Error)?.message).slice(0, 2000))
  })
})
