// revmark14: holes left in the DiskStore's hold of its writer marker for blocks written before a
// flush. Collections run in a real child process (test/helpers/gc-child.ts).
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { beginWriting, endWriting } from '../src/cas/disk-markers.js'
import { exportCar, HAMT, importCar, type StoreId } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import {
  bigEntries,
  collectElsewhere,
  freshDirectory as fresh,
  mapDroppedInChild,
  missingEntries,
  pausedHalfway,
} from './helpers/early-writes.js'
import { deleteBlockFiles, ownMarkerIn } from './helpers/lost-marker.js'
import { testSeed } from './helpers/random.js'

const freshDirectory = (t: TestContext): Promise<string> => fresh(t, 'revmark14')

describe('DiskStore: an import under way whose blocks a full buffer wrote (in no root until it ends)', () => {
  const triggers: [string, (store: DiskStore) => Promise<unknown>][] = [
    ['a plain store.flush()', (store) => store.flush()],
    [
      "a map's flush on the store",
      async (store) => {
        const map = await HAMT.create<string>({ store })
        await map.set('other', 'map')
        return map.flush()
      },
    ],
  ]
  for (const [name, trigger] of triggers)
    it(`${name} meanwhile leaves the marker: a collection elsewhere is refused, the import’s root is whole`, async (t) => {
      const seed = testSeed()
      const directory = await freshDirectory(t)
      // The CAR of a map of 40 values over 1 KiB each, made in another directory.
      const entries = bigEntries(seed, 'entry', 40)
      const source = await DiskStore.open(await freshDirectory(t))
      const made = await HAMT.fromEntries<string>(entries, { store: source })
      const parts: Uint8Array[] = []
      for await (const part of exportCar(source, made.rootId as StoreId)) parts.push(part)
      const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
      const keep = await (await HAMT.create<string>({ store })).flush()
      // A stream (no check pass): its first half, then it waits until `resume` is called.
      const { stream, resume } = pausedHalfway(parts)
      const imported = importCar(store, stream)
      await sleep(200) // the first half put: most of it written by the full 1 KiB buffer
      // Another writer's end on this store (a second import's, a map's, a plain flush).
      await trigger(store)
      await sleep(50) // past a put's lingering marker
      const marker = await ownMarkerIn(directory)
      const during = await collectElsewhere(directory, keep)
      resume()
      const done = await imported.catch((error: Error) => error)
      assert.ok(marker !== undefined, `seed ${seed}: no marker while the import's blocks are in no root`)
      assert.ok('refused' in during, `seed ${seed}: the collection ran: ${JSON.stringify(during)}`)
      if (done instanceof Error) throw done // refused, typed: the next session decides whether that suffices
      const missing = await missingEntries(directory, done.roots[0] as StoreId, entries).catch(String)
      assert.equal(missing, 0, `seed ${seed}: the import returned a root missing blocks: ${missing}`)
      // Its end lets the hold go: no marker stays to refuse other processes while this one lives.
      await sleep(50)
      assert.equal(
        await ownMarkerIn(directory),
        undefined,
        `seed ${seed}: the marker stayed after the import`,
      )
    })
})

describe('DiskStore: a map dropped before its flush while its store lives on (a long-lived store)', () => {
  /**
   * In a child with --expose-gc: the store stays in `kept`, a map lives only while it sets 20 big entries. With
   * `first: 'save'`, the store saves big blocks itself first (no map or import to own them); with
   * `'map'`, a map that stays alive sets them (unflushed). The markers before and after the dropped map
   * is collected, and after the live map's flush (it flushes the store).
   */
  async function dropInChild(directory: string, first: 'save' | 'map' | 'none') {
    return mapDroppedInChild(directory, {
      setup: `
        const [saved, set] = [${JSON.stringify(bigEntries(testSeed(), 'saved', 3))}, ${JSON.stringify(bigEntries(testSeed(), 'entry', 20))}]
        if (${JSON.stringify(first)} === 'save') for (const [, value] of saved) await kept.save(new TextEncoder().encode(value), 'raw')
        const live = await HAMT.create({ store: kept }) // after the saves: none owns them
        if (${JSON.stringify(first)} === 'map') for (const [key, value] of saved) await live.set(key, value)
      `,
      drop: 'for (const [key, value] of set) await map.set(key, value)',
      after: 'await live.flush()',
    })
  }

  it('lets the hold go once the map is collected: its marker no longer refuses other processes while the store lives', async (t) => {
    assert.deepEqual(
      await dropInChild(await freshDirectory(t), 'none'),
      { before: 1, collected: true, after: 0, flushed: 0 },
      'markers before and after the map was collected (its store alive), and after a flush of the store',
    )
  })

  it('keeps it while a live map of the store has changes in no root, until its flush', async (t) => {
    assert.deepEqual(
      await dropInChild(await freshDirectory(t), 'map'),
      { before: 1, collected: true, after: 1, flushed: 0 },
      'markers before and after the map was collected (another map alive, unflushed), and after its flush',
    )
  })

  it("keeps it for blocks the store saved early with no map to own them, until the store's flush", async (t) => {
    assert.deepEqual(
      await dropInChild(await freshDirectory(t), 'save'),
      { before: 1, collected: true, after: 1, flushed: 0 },
      'markers before and after the map was collected (its store alive), and after a flush of the store',
    )
  })
})

describe("DiskStore: this process's marker lost while a flush of another store runs", () => {
  /**
   * Maps on two stores of one directory: `early` (a 1 KiB buffer) with a small change buffered, `other`
   * (the default buffer). A flush of a third store is under way (stood in for by `beginWriting`, as
   * DiskStore.flush calls it) when another process removes this one's marker (as the disk14 tests do);
   * `lose` then runs (a collection deleting blocks). Two big sets of `early` follow: the first finds
   * the loss, the second takes a hold after it (the map's change keeps it).
   */
  async function lostDuringFlush(
    t: TestContext,
    seed: number,
    before: (early: HAMT<string>) => Promise<unknown>,
    lose: (directory: string) => Promise<unknown>,
  ) {
    const directory = await freshDirectory(t)
    const early = await HAMT.create<string>({
      store: await DiskStore.open(directory, { writeBufferBytes: 1024 }),
    })
    const other = await HAMT.create<string>({ store: await DiskStore.open(directory) })
    await before(early)
    await early.set('small', 'change')
    await beginWriting(directory)
    await rm(join(directory, (await ownMarkerIn(directory)) as string))
    await lose(directory)
    const [first, second] = bigEntries(seed, 'entry', 2) as [[string, string], [string, string]]
    const sets = [await outcome(early.set(...first)), await outcome(early.set(...second))]
    await endWriting(directory)
    await other.set('other', 'map')
    const flushes = [await outcome(other.flush()), await outcome(other.flush())]
    const said = (results: { error: unknown }[] | object[]) =>
      results.map((result) => ('error' in result ? String(result.error).slice(0, 90) : 'flushed'))
    return { directory, early, sets: said(sets), flushes: said(flushes) }
  }

  it('a store that never wrote early flushes once the marker is written afresh (a hold taken after the loss keeps the loss for ever)', async (t) => {
    const seed = testSeed()
    const { directory, early, sets, flushes } = await lostDuringFlush(
      t,
      seed,
      async () => {},
      async () => {},
    )
    assert.deepEqual(
      flushes,
      ['flushed', 'flushed'],
      `seed ${seed}: the other store's flushes (early sets: ${sets})`,
    )
    // The early store lost nothing (its refused puts' blocks stay buffered): its flush is whole.
    const root = await early.flush()
    const reader = await HAMT.open<string>(root, { store: await DiskStore.open(directory), readOnly: true })
    assert.equal(await reader.get('small'), 'change', `seed ${seed}`)
    await sleep(20) // past a put's lingering marker
    assert.equal(await ownMarkerIn(directory), undefined, 'the marker stays after both stores flushed')
  })

  it('a store that wrote early before the loss still fails its flush typed; the other store flushes', async (t) => {
    const seed = testSeed()
    const [written] = bigEntries(seed + 1, 'before', 1) as [[string, string]]
    const { directory, early, flushes } = await lostDuringFlush(
      t,
      seed,
      (map) => map.set(...written), // a block written early, in no root
      deleteBlockFiles, // another process's collection, the marker gone
    )
    assert.deepEqual(flushes, ['flushed', 'flushed'], `seed ${seed}: the other store's flushes`)
    for (let i = 0; i < 2; i++) {
      const result = await outcome(early.flush())
      assert.ok('error' in result, `seed ${seed}: flush ${i} of the store that lost blocks returned a root`)
      assert.equal((result.error as { code?: string }).code, 'ERR_STORE', String(result.error))
    }
    await sleep(20)
    assert.equal(await ownMarkerIn(directory), undefined, 'the marker stays after the failed flushes')
  })
})

const outcome = <T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
