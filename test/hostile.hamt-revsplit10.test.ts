// Generated histories of writes against a plain Map, with a store call failed or aborted at random:
// a cut-short set/setMany/delete/flush must leave the map as it was (MapState's mark/restore/commit).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HAMT } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { FaultStore } from './helpers/fault-injection.js'
import { mulberry32, testSeed } from './helpers/random.js'

async function contents(map: HAMT<number>): Promise<string> {
  const entries: [string, number][] = []
  for await (const entry of map.entries()) entries.push(entry)
  entries.sort((a, b) => (a[0] < b[0] ? -1 : 1))
  return JSON.stringify(entries)
}

function modelContents(model: Map<string, number>): string {
  return JSON.stringify([...model].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
}

test('random histories with injected failures and aborts match a Map, and flush to the canonical root', async () => {
  const seed = testSeed()
  const random = mulberry32(seed)
  const pick = (n: number): number => Math.floor(random() * n)
  const cas = new FaultStore(await CidMemoryStore.create())
  // Tiny buckets and cache: splits, collapses and node loads on most writes.
  const options = { store: cas, maxBucketSize: 1, cacheBytes: 1 }
  const map = await HAMT.create<number>(options)
  const model = new Map<string, number>()
  const key = (): string => `k${pick(12)}`
  for (let step = 0; step < 120; step++) {
    const failAt = random() < 0.6 ? 1 + pick(4) : 0
    const signal = cas.arm(failAt, random() < 0.5 ? 'fail' : 'abort')
    const kind = pick(4)
    const where = `seed ${seed} step ${step} op ${kind} failAt ${failAt}`
    let apply: () => void = () => {}
    let run: Promise<unknown>
    if (kind === 0) {
      const [k, v] = [key(), step]
      run = map.set(k, v, { signal })
      apply = () => model.set(k, v)
    } else if (kind === 1) {
      const entries: [string, number][] = Array.from({ length: 1 + pick(4) }, (_, i) => [
        key(),
        step * 10 + i,
      ])
      run = map.setMany(entries, { signal })
      apply = () => {
        for (const [k, v] of entries) model.set(k, v)
      }
    } else if (kind === 2) {
      const k = model.size > 0 && random() < 0.8 ? ([...model.keys()][pick(model.size)] as string) : key()
      run = map.delete(k, { signal })
      apply = () => model.delete(k)
      if (!model.has(k))
        run = run.then(
          () => assert.fail(`${where}: delete of absent ${k} succeeded`),
          (error: { code?: string }) => {
            if (error.code !== 'ERR_KEY_NOT_FOUND') throw error
          },
        )
    } else {
      run = map.flush({ signal })
    }
    const ok = await run.then(
      () => true,
      () => false,
    )
    cas.arm(0)
    if (ok) apply()
    assert.equal(await contents(map), modelContents(model), `${where} (ok ${ok})`)
    assert.equal(await map.size(), model.size, `${where}: size`)
    if (step % 20 === 19) {
      const { problems } = await map.verify()
      assert.deepEqual(problems, [], where)
      const root = await map.flush()
      const fresh = await HAMT.fromEntries(model, { store: cas.inner, maxBucketSize: 1 })
      assert.equal(root.toString(), fresh.rootId.toString(), `${where}: flushed root is not canonical`)
    }
  }
})

test('concurrent random writes take effect in call order', async () => {
  const seed = testSeed()
  const random = mulberry32(seed)
  const pick = (n: number): number => Math.floor(random() * n)
  const cas = new FaultStore(await CidMemoryStore.create())
  const map = await HAMT.create<number>({ store: cas, maxBucketSize: 2, cacheBytes: 1 })
  const model = new Map<string, number>()
  for (let round = 0; round < 12; round++) {
    const calls: Promise<unknown>[] = []
    for (let i = 0; i < 8; i++) {
      const k = `k${pick(10)}`
      const v = round * 100 + i
      const kind = pick(4)
      if (kind === 0) {
        const present = model.has(k)
        model.delete(k)
        calls.push(
          map.delete(k).then(
            () => assert.ok(present, `seed ${seed}: delete of absent ${k} succeeded`),
            (error: { code?: string }) =>
              assert.ok(!present && error.code === 'ERR_KEY_NOT_FOUND', String(error)),
          ),
        )
      } else if (kind === 1) {
        model.set(k, v).set(`${k}x`, v + 1)
        calls.push(
          map.setMany([
            [k, v],
            [`${k}x`, v + 1],
          ]),
        )
      } else if (kind === 2) calls.push(map.flush())
      else {
        model.set(k, v)
        calls.push(map.set(k, v))
      }
    }
    await Promise.all(calls)
    assert.equal(await contents(map), modelContents(model), `seed ${seed} round ${round}`)
    assert.equal(await map.size(), model.size, `seed ${seed} round ${round}: size`)
  }
})

test('a listing sees the map as it began, whatever writes, failures and flushes run while it is read', async () => {
  const seed = testSeed()
  const random = mulberry32(seed)
  const pick = (n: number): number => Math.floor(random() * n)
  const cas = new FaultStore(await CidMemoryStore.create())
  const map = await HAMT.create<number>({ store: cas, maxBucketSize: 1, cacheBytes: 1 })
  const model = new Map<string, number>()
  for (let i = 0; i < 30; i++) {
    await map.set(`k${i}`, i)
    model.set(`k${i}`, i)
  }
  for (let round = 0; round < 6; round++) {
    const expected = modelContents(model)
    const listed: [string, number][] = []
    for await (const entry of map.entries()) {
      listed.push(entry)
      // Between two steps of the listing: a write, maybe cut short by a failed or aborted store call.
      const signal = cas.arm(random() < 0.5 ? 1 + pick(4) : 0, random() < 0.5 ? 'fail' : 'abort')
      const k = `k${pick(40)}`
      const v = round * 1000 + listed.length
      const kind = pick(4)
      if (kind === 0)
        await map.set(k, v, { signal }).then(
          () => model.set(k, v),
          () => {},
        )
      else if (kind === 1)
        await map
          .setMany(
            [
              [k, v],
              [`${k}y`, v],
            ],
            { signal },
          )
          .then(
            () => model.set(k, v).set(`${k}y`, v),
            () => {},
          )
      else if (kind === 2)
        await map.delete(k, { signal }).then(
          () => model.delete(k),
          () => {},
        )
      else await map.flush({ signal }).catch(() => {})
      cas.arm(0)
    }
    listed.sort((a, b) => (a[0] < b[0] ? -1 : 1))
    assert.equal(JSON.stringify(listed), expected, `seed ${seed} round ${round}: the listing mixed states`)
    assert.equal(await contents(map), modelContents(model), `seed ${seed} round ${round}`)
  }
})

test('a setMany cut short by an exhausted hash after some of its changes leaves the map as it was', async () => {
  const seed = testSeed()
  const random = mulberry32(seed)
  // A 1-byte hash: a key colliding with a full bucket needs a byte the hash does not have.
  const hashFn = (data: Uint8Array): Uint8Array => new Uint8Array([data.reduce((a, b) => a + b, 0) % 4])
  const map = await HAMT.create<number>({ store: await CidMemoryStore.create(), hashFn, maxBucketSize: 2 })
  const model = new Map<string, number>()
  let failures = 0
  for (let step = 0; step < 60; step++) {
    const entries = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i): [string, number] => [
      `k${Math.floor(random() * 14)}`,
      step * 10 + i,
    ])
    const before = await contents(map)
    const ok = await map.setMany(entries).then(
      () => true,
      (error: { code?: string }) => {
        assert.equal(error.code, 'ERR_HASH_EXHAUSTED', `seed ${seed} step ${step}`)
        return false
      },
    )
    if (ok) for (const [k, v] of entries) model.set(k, v)
    else {
      failures++
      assert.equal(await contents(map), before, `seed ${seed} step ${step}: a failed setMany changed the map`)
    }
    assert.equal(await contents(map), modelContents(model), `seed ${seed} step ${step}`)
    assert.equal(await map.size(), model.size, `seed ${seed} step ${step}: size`)
    if (random() < 0.2) await map.flush()
  }
  assert.ok(failures > 0, `seed ${seed}: no setMany ran out of hash`)
})
