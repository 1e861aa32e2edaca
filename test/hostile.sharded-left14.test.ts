// attack14's leftovers (session 14): resizeVariable refuses a shape of another rank than the array
// document's (its index and chunk grid would disagree with it), and a merge of sharded roots that
// fails on one side stops the other side's diff before it rejects.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import type { LoadOptions, StoreId } from '../src/cas/interface.js'
import { isHamtError, mergeZarrRoots, ShardedZarrStore } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { bytes, v3Array } from './helpers/sharded.js'

// py-hamt 3.6.0 (checked on its own ShardedZarrStore): v2's resize_variable refuses any rank change
// (ArrayIndex.resize: "New shape must have the same number of dimensions"), after it has already
// replaced the document; v1's writes the document whatever its rank, so zarr can no longer open the
// array (shape and chunk_shape of different rank). ts-hamt refuses both, changing nothing.
describe('resizeVariable with a shape of another rank than the array’s', () => {
  const cases: ['v1' | 'v2', number[]][] = [
    ['v2', [4]],
    ['v2', [4, 4, 1]],
    ['v1', [4]],
    ['v1', [4, 4, 1]],
  ]
  for (const [version, shape] of cases) {
    it(`${version}, [4, 4] to ${JSON.stringify(shape)}: ERR_INVALID_ARGUMENT, the store unchanged`, async () => {
      const cas = await CidMemoryStore.create()
      const store =
        version === 'v1'
          ? await ShardedZarrStore.create({
              store: cas,
              arrayShape: [4, 4],
              chunkShape: [1, 1],
              chunksPerShard: 3,
            })
          : await ShardedZarrStore.create({ store: cas, chunksPerShard: 3 })
      const path = version === 'v1' ? 'a' : 'g/a'
      await store.set(`${path}/zarr.json`, v3Array([4, 4], [1, 1]))
      await store.set(`${path}/c/0/0`, bytes(200))
      const before = (await store.flush()).toString()
      await assert.rejects(store.resizeVariable(path, shape), (error: unknown) => {
        assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
        assert.match((error as Error).message, /rank/)
        return true
      })
      assert.equal((await store.flush()).toString(), before)
      assert.deepEqual(await store.get(`${path}/zarr.json`), v3Array([4, 4], [1, 1]))
    })
  }
})

/** Counts loads; fails the load of `failing`; holds loads of `held` until released or aborted. */
class HoldingStore extends CidMemoryStore {
  loads = 0
  failing: string | undefined
  held = new Set<string>()
  pending = 0
  #release: (() => void)[] = []

  static override async create(): Promise<HoldingStore> {
    await CidMemoryStore.create() // loads the hash function
    return new HoldingStore()
  }

  override async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    this.loads++
    const key = String(id)
    if (key === this.failing) throw new Error(`injected failure loading ${key}`)
    if (this.held.has(key)) {
      this.pending++
      try {
        await new Promise<void>((resolve, reject) => {
          const signal = options?.signal
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
          this.#release.push(resolve)
        })
      } finally {
        this.pending--
      }
    }
    return super.load(id, options)
  }

  release(): void {
    for (const resolve of this.#release.splice(0)) resolve()
  }
}

const shardCids = async (cas: CidMemoryStore, root: CID): Promise<string[]> => {
  const decoded = dagCbor.decode(await cas.load(root)) as {
    arrays: Record<string, { shard_cids: unknown[] }>
  }
  return (decoded.arrays['g/a'] as { shard_cids: unknown[] }).shard_cids.map(String)
}

describe('a merge of sharded roots that fails on one side', () => {
  it('stops the other side’s diff: no store call after it rejected', async () => {
    const cas = await HoldingStore.create()
    const writer = await ShardedZarrStore.create({ store: cas, chunksPerShard: 2 })
    await writer.set('g/a/zarr.json', v3Array([8, 1], [1, 1]))
    const base = await writer.flush()
    // Both sides change every shard (a the even chunks, b the odd ones): both diff every shard.
    const side = async (first: number): Promise<CID> => {
      const w = await ShardedZarrStore.open(base, { store: cas, readOnly: false })
      for (let i = first; i < 8; i += 2) await w.set(`g/a/c/${i}/0`, bytes(i))
      return w.flush()
    }
    const [a, b] = [await side(0), await side(1)]
    cas.failing = (await shardCids(cas, a))[0]
    cas.held = new Set(await shardCids(cas, b))
    await assert.rejects(mergeZarrRoots(base, a, b, { store: cas }), /injected failure/)
    const loadsAtRejection = cas.loads
    cas.release()
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(cas.pending, 0, 'a load still running after the merge rejected')
    assert.equal(cas.loads, loadsAtRejection, 'store calls after the merge rejected')
  })
})
