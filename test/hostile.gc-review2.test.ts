// Outside review of garbage collection: sequences of writes, flushes and collections in one process
// must never remove a block that a root written afterwards needs.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { BlockstoreStore, HAMT, type StoreId } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-review2-'))
after(() => rm(scratch, { recursive: true, force: true }))

describe('collectGarbage between two writers of one store', () => {
  it('a value set on a map opened from a kept root, written to disk by another map’s flush, survives a collection', async () => {
    const store = await DiskStore.open(join(scratch, 'two-writers'))
    const first = await HAMT.create<string>({ store })
    await first.set('a', 'one')
    const base = await first.flush()
    const second = await HAMT.open<string>(base, { store, readOnly: false })
    // Its value block goes into the store's write buffer now; its node only at its own flush.
    await second.set('b', 'the value of b')
    await first.set('a', 'two')
    // The store's flush writes every buffered block, the second map's value too.
    const newer = await first.flush()
    const outcome = await withinBudget('collection', (signal) =>
      collectGarbage(store, { keep: [base, newer], signal }),
    )
    if (outcome.error !== undefined) throw outcome.error
    const root = await second.flush()
    const reopened = await HAMT.open<string>(root, { store })
    assert.equal(await reopened.get('b'), 'the value of b')
  })
})

describe('collectGarbage beside one writer', () => {
  it('values a map set from a kept root, written when the store’s buffer filled, survive a collection', async () => {
    const store = await DiskStore.open(join(scratch, 'one-writer'), { writeBufferBytes: 4096 })
    const first = await HAMT.create<string>({ store })
    await first.set('a', 'one')
    const base = await first.flush()
    const map = await HAMT.open<string>(base, { store, readOnly: false })
    // 40 values of 200 bytes: the 4 KiB buffer fills, and the store writes them before any flush.
    for (let i = 0; i < 40; i++) await map.set(`k${i}`, `${i}`.padEnd(200, '.'))
    const outcome = await withinBudget('collection', (signal) =>
      collectGarbage(store, { keep: [base], signal }),
    )
    if (outcome.error !== undefined) throw outcome.error
    const root = await map.flush()
    const reopened = await HAMT.open<string>(root, { store })
    for (let i = 0; i < 40; i++) assert.equal(await reopened.get(`k${i}`), `${i}`.padEnd(200, '.'))
  })
})

describe('collectGarbage and a lock that cannot be taken', () => {
  it('a directory where the lock file goes: a typed error, and the store still writes and collects once it is gone', async () => {
    const directory = join(scratch, 'lock-is-a-directory')
    const store = await DiskStore.open(directory)
    const map = await HAMT.create<string>({ store })
    await map.set('a', 'one')
    const root = await map.flush()
    await mkdir(join(directory, '.ts-hamt-gc'))
    const outcome = await withinBudget('collection', (signal) =>
      collectGarbage(store, { keep: [root], signal }),
    )
    assertTypedError(outcome, 'ERR_STORE')
    // Nothing of the failed attempt stays in the way.
    await map.set('b', 'two')
    const newer = await map.flush()
    await rm(join(directory, '.ts-hamt-gc'), { recursive: true })
    const result = await collectGarbage(store, { keep: [newer] })
    assert.ok(result.removed > 0)
    assert.equal(await (await HAMT.open<string>(newer, { store })).get('b'), 'two')
  })
})

describe('collectGarbage with two BlockstoreStores over one blockstore', () => {
  it('a map written and flushed through the other store while the collection runs keeps its blocks', async () => {
    const blockstore = new MemoryBlockstore()
    const collector = new BlockstoreStore(blockstore)
    const other = new BlockstoreStore(blockstore)
    const kept = await HAMT.create<number>({ store: collector })
    for (let i = 0; i < 400; i++) await kept.set(`k${i}`, i)
    const root = await kept.flush()
    const garbage = await HAMT.create<number>({ store: collector })
    for (let i = 0; i < 400; i++) await garbage.set(`g${i}`, -i)
    await garbage.flush()
    let written: Promise<StoreId> | undefined
    const write = async (): Promise<StoreId> => {
      const map = await HAMT.create<string>({ store: other })
      await map.set('fresh', 'written meanwhile')
      return map.flush()
    }
    const outcome = await withinBudget('collection', (signal) =>
      collectGarbage(collector, {
        keep: [root],
        concurrency: 1,
        signal,
        onProgress: () => {
          written ??= write()
        },
      }),
    )
    if (outcome.error !== undefined) throw outcome.error
    const fresh = await HAMT.open<string>(await (written as Promise<StoreId>), { store: other })
    assert.equal(await fresh.get('fresh'), 'written meanwhile')
  })
})
