// Outsider review of disk13 on a real DiskStore: its marker lost mid-flush (another process's removal
// and collection done by hand, as in hostile.disk-disk13) and, in the same flush, an abort or a put
// failing on its own. The flush fails typed; flushing again gives a root with every entry, and no
// marker is left. Two stores on one directory (one process's marker) lose it together.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { deleteBlockFiles, ownMarkerIn, seededMap } from './helpers/lost-marker.js'
import { testSeed } from './helpers/random.js'

/** Entries of `entries` the map at `root` (read by a fresh store) does not give back. */
async function missingAt(directory: string, root: unknown, entries: readonly (readonly [string, string])[]) {
  const again = await HAMT.open<string>(root as never, { store: await DiskStore.open(directory) })
  let missing = 0
  for (const [key, value] of entries) if ((await again.get(key).catch(() => undefined)) !== value) missing++
  return missing
}

/** At put `at`, another process judged this one dead: its marker removed, every block collected. */
async function loseMarker(directory: string): Promise<void> {
  await rm(join(directory, (await ownMarkerIn(directory)) as string))
  await deleteBlockFiles(directory)
}

describe('DiskStore: a lost marker with another failure in the same flush (revdisk13)', () => {
  for (const failure of ['an abort', 'a put failing on its own'] as const) {
    it(`${failure} after the loss: flushing again writes every block`, { timeout: 60_000 }, async () => {
      const seed = testSeed()
      const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-revdisk13-'))
      try {
        // One put at a time: the loss and the failure land at known puts.
        const store = await DiskStore.open(directory, { writeConcurrency: 1 })
        const { map, entries } = await seededMap(store, seed, 150)
        const put = store.blockstore.put.bind(store.blockstore)
        const controller = new AbortController()
        let puts = 0
        store.blockstore.put = async (...args: Parameters<typeof put>) => {
          puts++
          if (puts === 5 && failure === 'a put failing on its own') throw new Error('no room (injected)')
          const written = await put(...args)
          if (puts === 3) await loseMarker(directory)
          if (puts === 4 && failure === 'an abort') controller.abort(new Error('stopped (injected)'))
          return written
        }
        await assert.rejects(map.flush({ signal: controller.signal }))
        store.blockstore.put = put
        const root = await map.flush()
        assert.equal(await missingAt(directory, root, entries), 0, `seed ${seed}: entries the root misses`)
        assert.equal(await ownMarkerIn(directory), undefined, 'no marker once the flush ended')
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    })
  }

  it('two stores on one directory flushing together both lose it; each flushed again has every entry', {
    timeout: 60_000,
  }, async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-revdisk13-'))
    try {
      const stores = [await DiskStore.open(directory), await DiskStore.open(directory)]
      const maps = await Promise.all(stores.map((store, i) => seededMap(store, seed + i, 100)))
      const first = stores[0] as DiskStore
      const put = first.blockstore.put.bind(first.blockstore)
      let puts = 0
      first.blockstore.put = async (...args: Parameters<typeof put>) => {
        const written = await put(...args)
        if (++puts === 3) await loseMarker(directory)
        return written
      }
      const results = await Promise.allSettled(maps.map(({ map }) => map.flush()))
      assert.equal(results[0]?.status, 'rejected', 'the store whose put saw the loss')
      first.blockstore.put = put
      for (const [i, { map, entries }] of maps.entries()) {
        const result = results[i] as PromiseSettledResult<unknown>
        const root = result.status === 'fulfilled' ? result.value : await map.flush()
        assert.equal(
          await missingAt(directory, root, entries),
          0,
          `seed ${seed}: store ${i}'s root misses entries`,
        )
      }
      assert.equal(await ownMarkerIn(directory), undefined, 'no marker once the flushes ended')
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
