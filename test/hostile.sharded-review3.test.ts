// ShardedZarrStore calls made without waiting take effect in call order, as a HAMT's do: a read of a
// key called after a write of that key sees the write, however long its upload takes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AbortOptions,
  type Codec,
  type ContentAddressedStore,
  type LoadOptions,
  ShardedZarrStore,
  type StoreId,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { bytes, newV1, v3Array } from './helpers/sharded.js'

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
    const outcome = await withinBudget('call order', async () => {
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
    })
    assert.equal(outcome.error, undefined, String((outcome.error as Error)?.message).slice(0, 2000))
  })

  it('generated writes and resizes fired without waiting, then list: exactly the keys the calls before it leave', async () => {
    const random = mulberry32(seed + 1)
    const outcome = await withinBudget('list in call order', async () => {
      for (let run = 0; run < 40; run++) {
        const store = await newV1(new SlowStore(await CidMemoryStore.create(), random))
        let shape = [4, 4]
        const model = new Set<string>()
        const keyIn = (): string =>
          `a/c/${Math.floor(random() * (shape[0] as number))}/${Math.floor(random() * (shape[1] as number))}`
        const first = keyIn()
        await store.set(first, bytes(1)) // settles v1's sharded array (that write runs alone)
        model.add(first)
        const running: Promise<void>[] = []
        for (let i = 0; i < 10; i++) {
          const pick = random()
          if (pick < 0.5) {
            const key = keyIn()
            model.add(key)
            running.push(store.set(key, bytes(i)))
          } else if (pick < 0.8) {
            const key = keyIn()
            model.delete(key)
            running.push(store.delete(key))
          } else {
            shape = [1 + Math.floor(random() * 5), 1 + Math.floor(random() * 5)]
            for (const key of [...model]) {
              const [, , i0, i1] = key.split('/').map(Number)
              if ((i0 as number) >= (shape[0] as number) || (i1 as number) >= (shape[1] as number))
                model.delete(key)
            }
            running.push(store.resize(shape))
          }
        }
        const listed: string[] = []
        for await (const key of store.list()) listed.push(key)
        await Promise.all(running)
        assert.deepEqual(new Set(listed), model, `seed ${seed} run ${run}`)
        assert.equal(listed.length, model.size, `seed ${seed} run ${run}: each key once`)
      }
    })
    assert.equal(outcome.error, undefined, String((outcome.error as Error)?.message).slice(0, 2000))
  })
})

/** A CID store whose next save fails once when `failNext` is set. */
class FailingStore implements ContentAddressedStore {
  failNext = false
  constructor(readonly inner: CidMemoryStore) {}

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('injected save failure')
    }
    return this.inner.save(data, codec, options)
  }

  load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    return this.inner.load(id, options)
  }
}

const groupJson = new TextEncoder().encode('{"zarr_format": 3, "node_type": "group", "attributes": {}}')

describe('a failed metadata write of a v2 sharded store changes nothing', () => {
  it('the root-group rule after a failed write decides as if the write had not been made', async () => {
    const random = mulberry32(seed + 2)
    for (let run = 0; run < 10; run++) {
      // Writes before the failing one: a root group (the rule then refuses a top-level array next), or not.
      const rootGroupFirst = random() < 0.5
      const failing =
        random() < 0.5
          ? { key: 'g/x/zarr.json', value: v3Array([4], [2]) }
          : { key: 'zarr.json', value: groupJson }
      const outcomes: string[] = []
      for (const attempt of [false, true]) {
        const cas = new FailingStore(await CidMemoryStore.create())
        const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
        if (rootGroupFirst) await store.set('zarr.json', groupJson)
        if (attempt) {
          cas.failNext = true
          await assert.rejects(store.set(failing.key, failing.value))
        }
        // The same next write, with and without the failed one before it: the same outcome.
        outcomes.push(
          await store.set('temp/zarr.json', v3Array([4], [2])).then(
            () => 'written',
            (error: Error) => `refused: ${error.message}`,
          ),
        )
      }
      assert.equal(
        outcomes[1],
        outcomes[0],
        `seed ${seed} run ${run}: root group first ${rootGroupFirst}, failed ${failing.key}`,
      )
    }
  })

  it('a top-level array refused after a root group is taken when written again, as py-hamt 3.6.0 does', async () => {
    const store = await ShardedZarrStore.create({ store: await CidMemoryStore.create(), chunksPerShard: 4 })
    await store.set('zarr.json', groupJson)
    await assert.rejects(store.set('temp/zarr.json', v3Array([4], [2])), /explicit Zarr group/)
    await store.set('temp/zarr.json', v3Array([4], [2]))
    assert.ok(await store.has('temp/zarr.json'))
  })
})
