// HAMT.fromEntries on bad input: the error `set` gives for the same entry, within budget, no tree
// node left in the store, and a retry with good entries that succeeds.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { blake3 } from '../src/blocks.js'
import type { ContentAddressedStore } from '../src/cas/interface.js'
import { HAMT, type HAMTOptions, type HashFn, isHamtError, MemoryStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

const good = Array.from({ length: 3000 }, (_, i) => [`key-${i}`, i] as [string, unknown])

/** Entries 0..n-1 of `good` with `bad` spliced in at `at`. */
const withBad = (at: number, bad: unknown): unknown[] => [...good.slice(0, at), bad, ...good.slice(at)]

/** True when some block of the store is a HAMT node (a CBOR array of 256: `99 01 00`). */
function holdsNode(store: MemoryStore): boolean {
  for (const [, data] of store.blocks())
    if (data[0] === 0x99 && data[1] === 0x01 && data[2] === 0x00) return true
  return false
}

/** The error `set` gives on the first bad entry, in a set loop over `entries`. */
async function setError(entries: unknown[], options: Omit<HAMTOptions, 'store'>): Promise<unknown> {
  const map = await HAMT.create({ ...options, store: await MemoryStore.create() })
  try {
    for (const [key, value] of entries as Array<[string, unknown]>) await map.set(key, value)
  } catch (err) {
    return err
  }
  assert.fail('set accepted every entry')
}

async function rootOfSets(entries: Array<[string, unknown]>, options: Omit<HAMTOptions, 'store'> = {}) {
  const map = await HAMT.create({ ...options, store: await MemoryStore.create() })
  for (const [key, value] of entries) await map.set(key, value)
  return map.flush()
}

/** fromEntries fails as `set` does, leaves no node in its store, and a retry there succeeds. */
async function assertFailsAsSet(
  name: string,
  entries: unknown[],
  options: Omit<HAMTOptions, 'store'> = {},
  retryOptions: Omit<HAMTOptions, 'store'> = options,
): Promise<void> {
  const expected = (await setError(entries, options)) as Error & { code: string }
  const store = await MemoryStore.create()
  const outcome = await withinBudget(name, () =>
    HAMT.fromEntries(entries as Array<[string, unknown]>, { ...options, store }),
  )
  assertTypedError(outcome, expected.code as never)
  assert.equal((outcome.error as Error).message, expected.message, 'the message set gives')
  assert.equal(holdsNode(store), false, 'no node of a half-built tree in the store')
  const retried = await HAMT.fromEntries(good, { ...retryOptions, store })
  assert.deepEqual(retried.rootId, await rootOfSets(good, retryOptions))
}

describe('hostile bulk builds fail as set does and leave no tree behind', () => {
  it('a key with a lone surrogate: ERR_INVALID_ARGUMENT', async () => {
    await assertFailsAsSet('lone surrogate key', withBad(2500, ['bad\ud800', 1]))
  })

  it('a key that is not a string: ERR_INVALID_ARGUMENT', async () => {
    await assertFailsAsSet('number key', withBad(10, [42, 1]))
  })

  it('a value with a lone surrogate, undefined, a function: ERR_INVALID_VALUE', async () => {
    await assertFailsAsSet('lone surrogate value', withBad(1500, ['k', { text: 'x\udc00' }]))
    await assertFailsAsSet('undefined value', withBad(0, ['k', undefined]))
    await assertFailsAsSet('function value', withBad(2999, ['k', () => 1]))
    const bytes = good.map(([key]) => [key, Uint8Array.of(1)])
    await assertFailsAsSet('string for bytes', [...bytes, ['k', 'text']], { valuesAreBytes: true }, {})
  })

  it('a hashFn that throws for one key: ERR_INVALID_HASH with the cause kept', async () => {
    const cause = new Error('user hash broke')
    const hashFn: HashFn = (data) => {
      if (new TextDecoder().decode(data) === 'poison') throw cause
      return blake3(data)
    }
    await assertFailsAsSet('throwing hashFn', withBad(2000, ['poison', 1]), { hashFn })
    const store = await MemoryStore.create()
    const outcome = await withinBudget('throwing hashFn cause', () =>
      HAMT.fromEntries(withBad(0, ['poison', 1]) as Array<[string, unknown]>, { store, hashFn }),
    )
    assertTypedError(outcome, 'ERR_INVALID_HASH')
    assert.equal((outcome.error as Error).cause, cause)
  })

  it('entries that are not pairs or not iterable: ERR_INVALID_ARGUMENT naming the entry', async () => {
    const store = await MemoryStore.create()
    const notPair = await withinBudget('not a pair', () =>
      HAMT.fromEntries(withBad(7, 'key') as Array<[string, unknown]>, { store }),
    )
    assertTypedError(notPair, 'ERR_INVALID_ARGUMENT')
    assert.match((notPair.error as Error).message, /entry 7 must be a \[key, value\] array/)
    const notIterable = await withinBudget('not iterable', () => HAMT.fromEntries({} as never, { store }))
    assertTypedError(notIterable, 'ERR_INVALID_ARGUMENT')
    assert.equal(holdsNode(store), false)
  })

  it('too many keys on one full hash: ERR_HASH_EXHAUSTED, at once', async () => {
    const hashFn: HashFn = () => Uint8Array.of(1, 2)
    const entries = Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i] as [string, unknown])
    const expected = (await setError(entries.slice(0, 5), { hashFn })) as Error & { code: string }
    assert.equal(expected.code, 'ERR_HASH_EXHAUSTED')
    const store = await MemoryStore.create()
    const outcome = await withinBudget('exhausted hash', () => HAMT.fromEntries(entries, { store, hashFn }))
    assertTypedError(outcome, 'ERR_HASH_EXHAUSTED')
    assert.equal(holdsNode(store), false)
  })

  it('50 000 entries of one key: one bucket, within budget', async () => {
    const store = await MemoryStore.create()
    const entries = (function* () {
      for (let i = 0; i < 50_000; i++) yield ['same', i % 3] as [string, unknown]
    })()
    const outcome = await withinBudget('one key repeated', () => HAMT.fromEntries(entries, { store }))
    const map = outcome.value as HAMT
    assert.equal(await map.size(), 1)
    assert.equal(await map.get('same'), 49_999 % 3)
    assert.deepEqual(map.rootId, await rootOfSets([['same', 49_999 % 3]]))
  })
})

describe('an aborted or failing bulk build returns no map', () => {
  it('a signal aborted before the call: its reason, as set gives', async () => {
    const reason = new Error('stop')
    const signal = AbortSignal.abort(reason)
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store })
    await assert.rejects(map.set('k', 1, { signal }), (err) => err === reason)
    await assert.rejects(HAMT.fromEntries(good, { store, signal }), (err) => err === reason)
    assert.equal(store.blockCount, 0)
  })

  it('a signal aborted while entries stream in: its reason, no node saved, a retry succeeds', async () => {
    const controller = new AbortController()
    const reason = new Error('stop midway')
    const store = await MemoryStore.create()
    const entries = (async function* () {
      for (const [i, entry] of good.entries()) {
        if (i === 1700) controller.abort(reason)
        yield entry
      }
    })()
    await assert.rejects(
      HAMT.fromEntries(entries, { store, signal: controller.signal }),
      (err) => err === reason,
    )
    assert.equal(holdsNode(store), false)
    const retried = await HAMT.fromEntries(good, { store })
    assert.deepEqual(retried.rootId, await rootOfSets(good))
  })

  it('a store that fails node saves: ERR_STORE with the cause, and a retry once it works', async () => {
    const memory = await MemoryStore.create()
    let failNodes = true
    const store: ContentAddressedStore = {
      save: async (data, codec, options) => {
        if (failNodes && codec === 'dag-cbor') throw new Error('disk full')
        return memory.save(data, codec, options)
      },
      load: (id, options) => memory.load(id, options),
    }
    const outcome = await withinBudget('failing store', () => HAMT.fromEntries(good, { store }))
    assertTypedError(outcome, 'ERR_STORE')
    assert.match(String((outcome.error as Error & { cause: Error }).cause), /disk full/)
    failNodes = false
    const retried = await HAMT.fromEntries(good, { store })
    assert.deepEqual(retried.rootId, await rootOfSets(good))
  })

  it('a store whose flush fails: the error, and no map', async () => {
    const memory = await MemoryStore.create()
    const store: ContentAddressedStore = {
      save: (data, codec, options) => memory.save(data, codec, options),
      load: (id, options) => memory.load(id, options),
      flush: async () => {
        throw new Error('upload refused')
      },
    }
    await assert.rejects(HAMT.fromEntries(good, { store }), (err) => isHamtError(err, 'ERR_STORE'))
  })
})
