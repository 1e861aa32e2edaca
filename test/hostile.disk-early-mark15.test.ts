// mark15: what a DiskStore's hold on its writer marker (blocks a full write buffer wrote before a
// flush) waits for once no one can root those blocks.
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { HAMT, importCar } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { bigEntries, freshDirectory as fresh, mapCar } from './helpers/early-writes.js'
import { ownMarkerIn } from './helpers/lost-marker.js'
import { testSeed } from './helpers/random.js'

const freshDirectory = (t: TestContext): Promise<string> => fresh(t, 'mark15')

describe('DiskStore: an import that fails after its full buffer wrote blocks (its puts taken back)', () => {
  it('lets the marker go: no one can root those blocks, so other processes are not refused while the store lives', async (t) => {
    const seed = testSeed()
    // The CAR of a map of 40 values over 1 KiB each, made in another directory.
    const parts = await mapCar(t, bigEntries(seed, 'entry', 40))
    const directory = await freshDirectory(t)
    const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
    // A stream (no check pass) whose source fails halfway, after most of its first half was written.
    async function* failing() {
      yield* parts.slice(0, Math.floor(parts.length / 2))
      throw new Error('the source broke')
    }
    await assert.rejects(importCar(store, failing()), /the source broke|corrupt/)
    await sleep(50) // past a put's lingering marker
    assert.equal(
      await ownMarkerIn(directory),
      undefined,
      `seed ${seed}: the marker stays after the failed import`,
    )
    // The store still works: a map on it flushes whole, and the marker goes after.
    const map = await HAMT.create<string>({ store })
    await map.set('after', 'the import')
    const root = await map.flush()
    const reader = await HAMT.open<string>(root, { store: await DiskStore.open(directory), readOnly: true })
    assert.equal(await reader.get('after'), 'the import')
  })
})
