// Outsider attack on set's promise-free value saves (SAVE_NOW): random concurrent histories of
// set/delete/get/flush, some aborted, against a Map; over a MemoryStore as it is and over one whose
// prototype was swapped for a subclass-like one (so every value goes through an awaited `save`).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT, type HamtError, isHamtError, MemoryStore, StoreError, type StoreId } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()

type Op =
  | { kind: 'set'; key: string; value: number }
  | { kind: 'delete'; key: string }
  | { kind: 'get'; key: string }
  | { kind: 'flush' }
/** Where a call's signal is aborted: never, before the call, or at once after it (synchronously). */
type Abort = 'none' | 'before' | 'after'

function history(random: () => number, length: number): Array<{ op: Op; abort: Abort }> {
  const keys = Array.from({ length: 40 }, (_, i) => `h${seed}-${i}`)
  return Array.from({ length }, (_, i) => {
    const key = keys[Math.floor(random() * keys.length)] as string
    const r = random()
    const op: Op =
      r < 0.5
        ? { kind: 'set', key, value: i }
        : r < 0.7
          ? { kind: 'delete', key }
          : r < 0.95
            ? { kind: 'get', key }
            : { kind: 'flush' }
    const a = random()
    return { op, abort: a < 0.8 ? 'none' : a < 0.9 ? 'before' : 'after' }
  })
}

/** Runs `ops` in groups issued without awaits; checks every outcome against a Map in call order. */
async function run(
  store: MemoryStore,
  ops: Array<{ op: Op; abort: Abort }>,
  random: () => number,
): Promise<StoreId> {
  const map = await HAMT.create<number>({ store })
  const calls: Array<{ op: Op; promise: Promise<unknown>; abort: Abort }> = []
  for (let i = 0; i < ops.length; ) {
    const group = 1 + Math.floor(random() * 12)
    const start = calls.length
    for (const { op, abort } of ops.slice(i, i + group)) {
      const controller = new AbortController()
      if (abort === 'before') controller.abort()
      const options = { signal: controller.signal }
      const promise =
        op.kind === 'set'
          ? map.set(op.key, op.value, options)
          : op.kind === 'delete'
            ? map.delete(op.key, options)
            : op.kind === 'get'
              ? map.get(op.key, options)
              : map.flush(options)
      if (abort === 'after') controller.abort()
      promise.catch(() => {})
      calls.push({ op, promise, abort })
    }
    i += group
    await Promise.allSettled(calls.slice(start).map((c) => c.promise))
  }
  const model = new Map<string, number>()
  for (const [n, { op, promise, abort }] of calls.entries()) {
    const outcome = await promise.then(
      (value) => ({ ok: true as const, value }),
      (error: HamtError) => ({ ok: false as const, error }),
    )
    const where = `call ${n} ${JSON.stringify(op)} abort ${abort}`
    if (abort === 'before') {
      assert.equal(outcome.ok, false, where)
      continue
    }
    if (!outcome.ok) {
      const code = (outcome.error as { code?: string }).code ?? outcome.error.name
      const missing = op.kind === 'delete' && !model.has(op.key)
      assert.ok(abort === 'after' || missing, `${where}: ${code} ${outcome.error.message}`)
      if (missing && abort === 'none') assert.equal(code, 'ERR_KEY_NOT_FOUND', where)
      continue
    }
    if (op.kind === 'set') model.set(op.key, op.value)
    else if (op.kind === 'delete') {
      assert.ok(model.has(op.key), `${where}: deleted a missing key`)
      model.delete(op.key)
    } else if (op.kind === 'get') assert.equal(outcome.value, model.get(op.key), where)
  }
  for (const [key, value] of model) assert.equal(await map.get(key), value, key)
  assert.equal(await map.size(), model.size)
  const root = await map.flush()
  const rebuilt = await HAMT.fromEntries([...model].sort(), { store: await MemoryStore.create() })
  assert.deepEqual(root, rebuilt.rootId, 'root equals a fresh build of the same entries')
  return root
}

/** `store` with a prototype whose `save` is not the class's own (so no value is saved at once). */
function awaitedSaves(store: MemoryStore): MemoryStore {
  let saves = 0
  const proto = Object.create(MemoryStore.prototype, {
    save: {
      value(this: MemoryStore, ...args: Parameters<MemoryStore['save']>) {
        saves++
        return MemoryStore.prototype.save.apply(this, args)
      },
    },
  })
  Object.setPrototypeOf(store, proto)
  Object.defineProperty(store, 'saves', { get: () => saves })
  return store
}

describe('set/delete/get/flush histories over a memory store (values saved at once or awaited)', () => {
  for (let round = 0; round < 6; round++) {
    it(`round ${round}: outcomes in call order, as a Map; roots equal both ways`, async () => {
      const ops = history(mulberry32(seed + round), 300)
      const now = await run(await MemoryStore.create(), ops, mulberry32(seed * 7 + round))
      const swapped = awaitedSaves(await MemoryStore.create())
      const awaited = await run(swapped, ops, mulberry32(seed * 7 + round))
      assert.ok((swapped as unknown as { saves: number }).saves > 0, 'the swapped prototype saw the saves')
      // Aborts after the call may land differently (a promise-free set can finish before it): the
      // roots then legitimately differ, each checked against its own model above.
      if (!ops.some((o) => o.abort === 'after')) assert.deepEqual(now, awaited)
    })
  }

  it('a value object mutated after set (before it settles) is stored as it was at the call', async () => {
    for (const store of [await MemoryStore.create(), awaitedSaves(await MemoryStore.create())]) {
      const map = await HAMT.create<{ n: number[] }>({ store })
      const value = { n: [1, 2] }
      const blocker = map.set('other', { n: [] })
      const pending = map.set('v', value)
      value.n.push(3)
      await Promise.all([blocker, pending])
      assert.deepEqual(await map.get('v'), { n: [1, 2] })
    }
  })

  it('a store whose prototype is swapped after the map was made is asked through its new save and load', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    await map.set('a', 1)
    // The store object now delegates to another one (its class's own methods, promise-free ones included, gone).
    const inner = await MemoryStore.create()
    for (const [, bytes] of store.blocks()) await inner.save(bytes, 'raw')
    let calls = 0
    Object.setPrototypeOf(store, {
      save(...args: Parameters<MemoryStore['save']>) {
        calls++
        return inner.save(...args)
      },
      load(...args: Parameters<MemoryStore['load']>) {
        calls++
        return inner.load(...args)
      },
    })
    await map.clearCache()
    await map.set('b', 2)
    assert.equal(await map.get('a'), 1)
    assert.equal(await map.get('b'), 2)
    assert.ok(calls > 0)
  })

  it("a save patched on MemoryStore's prototype (a spy, a full store) is called by set and fromEntries", async (t) => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    await map.set('a', 1)
    const root = await map.flush()
    const own = MemoryStore.prototype.save
    let full = false
    let calls = 0
    t.mock.method(
      MemoryStore.prototype,
      'save',
      function (this: MemoryStore, ...args: Parameters<MemoryStore['save']>) {
        calls++
        if (full) return Promise.reject(new StoreError('the store is full'))
        return own.apply(this, args)
      },
    )
    await map.set('b', 2)
    assert.ok(calls > 0, 'the spy saw the value of set')
    full = true
    await assert.rejects(map.set('c', 3), (error) => isHamtError(error) && error.code === 'ERR_STORE')
    await assert.rejects(
      HAMT.fromEntries([['d', 4]], { store: await MemoryStore.create() }),
      (error) => isHamtError(error) && error.code === 'ERR_STORE',
    )
    full = false
    assert.equal(await map.get('c'), undefined)
    assert.equal(await map.get('b'), 2)
    assert.notDeepEqual(await map.flush(), root)
  })

  it("a load patched on MemoryStore's prototype is called by get", async (t) => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    await map.set('a', 1)
    await map.flush()
    await map.clearCache()
    const own = MemoryStore.prototype.load
    let calls = 0
    t.mock.method(
      MemoryStore.prototype,
      'load',
      function (this: MemoryStore, ...args: Parameters<MemoryStore['load']>) {
        calls++
        return own.apply(this, args)
      },
    )
    assert.equal(await map.get('a'), 1)
    assert.ok(calls >= 2, `the spy saw the node and the value loads (${calls})`)
  })
})
