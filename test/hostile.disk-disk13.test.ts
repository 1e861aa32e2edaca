// DiskStore's writer marker lost mid-flush (disk13): a flush's blocks stay buffered until its end
// finds the marker held, so flushing again writes every one again; and the lease's restore of a lost
// marker runs in turn with this process's other marker changes. In one process: another process's
// removal of the marker (and its collection's deletes) done by hand; the lease's timer ticked by
// node:test's mock timers; fs calls held back by wrapping node:fs/promises (the real calls run).
import assert from 'node:assert/strict'
import fs, { mkdtemp, rm } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, it, mock } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { LEASE_MS } from '../src/cas/disk-lock.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { assertTypedError } from './helpers/hostile.js'
import { deleteBlockFiles, ownMarkerIn, seededMap } from './helpers/lost-marker.js'
import { testSeed } from './helpers/random.js'
import './helpers/with-resolvers.js'

type FsName = 'writeFile' | 'rm' | 'utimes'
const realFs = { writeFile: fs.writeFile, rm: fs.rm, utimes: fs.utimes }
/** Wraps fs/promises' `name` for the modules that import it by name (restored after each test). */
function wrapFs<N extends FsName>(name: N, wrapper: (real: (typeof realFs)[N]) => (typeof realFs)[N]): void {
  ;(fs as Record<FsName, unknown>)[name] = wrapper(realFs[name])
  syncBuiltinESMExports()
}
afterEach(() => {
  Object.assign(fs, realFs)
  syncBuiltinESMExports()
  mock.timers.reset()
})

describe('DiskStore: flushing again after its marker was lost mid-flush', () => {
  it('writes every block of the failed flush again: the new root has every entry', async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk13-'))
    try {
      const store = await DiskStore.open(directory)
      const { map, entries } = await seededMap(store, seed, 200)
      const put = store.blockstore.put.bind(store.blockstore)
      let puts = 0
      let deleted = 0
      store.blockstore.put = async (...args: Parameters<typeof put>) => {
        const written = await put(...args)
        if (++puts === 3) {
          // Another process judged this one dead: removed its marker and collected every block.
          await rm(join(directory, (await ownMarkerIn(directory)) as string))
          deleted = await deleteBlockFiles(directory)
        }
        return written
      }
      const failed = await map.flush().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      )
      assertTypedError(failed, 'ERR_STORE')
      assert.ok(deleted >= 3, `seed ${seed}: the collection deleted the ${deleted} blocks written so far`)
      store.blockstore.put = put
      const root = await map.flush()
      const again = await HAMT.open<string>(root, { store: await DiskStore.open(directory) })
      let missing = 0
      for (const [key, value] of entries)
        if ((await again.get(key).catch(() => undefined)) !== value) missing++
      assert.equal(missing, 0, `seed ${seed}: entries the root of the second flush misses`)
      assert.equal(await ownMarkerIn(directory), undefined, 'no marker once the flush ended')
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

/**
 * A store whose lease ticks when the test says (mock timers) and a one-entry map on it whose next
 * flush holds in its first put until `goOn`; `held()`: our marker's path once that put is reached.
 */
async function flushHeld(directory: string) {
  mock.timers.enable({ apis: ['setInterval'] })
  const store = await DiskStore.open(directory)
  const map = await HAMT.create<string>({ store })
  await map.set('a', 'b')
  const put = store.blockstore.put.bind(store.blockstore)
  const inPut = Promise.withResolvers<void>()
  const goOn = Promise.withResolvers<void>()
  store.blockstore.put = async (...args: Parameters<typeof put>) => {
    inPut.resolve()
    await goOn.promise
    return put(...args)
  }
  const held = async (): Promise<string> => {
    await inPut.promise
    return join(directory, (await ownMarkerIn(directory)) as string)
  }
  return { store, map, put, goOn, held }
}

describe("DiskStore's lease restoring a lost marker", () => {
  it('leaves no marker once our last writer ended, whichever of its write and our removal comes first', {
    timeout: 60_000,
  }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk13-'))
    try {
      const { map, goOn, held } = await flushHeld(directory)
      const flushing = map.flush().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      )
      const marker = await held()
      // Another process judged this one dead and removed its marker.
      await rm(marker)
      // The lease's write of it again held until our own removal of the marker is done (the order
      // that left it behind); when that removal waits for the write instead, let it go after a while.
      const removed = Promise.withResolvers<void>()
      const restoring = Promise.withResolvers<void>()
      let restored: Promise<void> | undefined
      wrapFs('rm', (real) => async (path, options) => {
        await real(path, options)
        if (path === marker) removed.resolve()
      })
      wrapFs('writeFile', (real) => (path, data, options) => {
        const wx = typeof options === 'object' && options?.flag === 'wx'
        if (path !== marker || !wx || restored !== undefined) return real(path, data, options)
        restoring.resolve()
        restored = Promise.race([removed.promise, sleep(3000)]).then(() => real(path, data, options))
        return restored
      })
      mock.timers.tick(LEASE_MS)
      await restoring.promise
      goOn.resolve()
      assertTypedError(await flushing, 'ERR_STORE')
      await restored
      assert.equal(await ownMarkerIn(directory), undefined, 'a marker left with no lease and no writer')
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it("does not mark a writer that began after our last writer's removal lost (a touch failing on that removal)", {
    timeout: 60_000,
  }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk13-'))
    try {
      const { store, map, put, goOn, held } = await flushHeld(directory)
      const first = map.flush()
      const marker = await held()
      // The lease's touch runs once the first flush's end removed the marker; its failure is
      // reported once the second flush began.
      const removed = Promise.withResolvers<void>()
      const touchFailed = Promise.withResolvers<void>()
      const secondBegan = Promise.withResolvers<void>()
      let touch: Promise<void> | undefined
      wrapFs('rm', (real) => async (path, options) => {
        await real(path, options)
        if (path === marker) removed.resolve()
      })
      wrapFs('utimes', (real) => (path, atime, mtime) => {
        if (path !== marker || touch !== undefined) return real(path, atime, mtime)
        touch = removed.promise.then(async () => {
          try {
            await real(path, atime, mtime)
          } catch (error) {
            touchFailed.resolve()
            await secondBegan.promise
            throw error
          }
          assert.fail('the touch after the removal found the marker')
        })
        return touch
      })
      mock.timers.tick(LEASE_MS)
      assert.ok(touch !== undefined, 'the lease touched the marker')
      goOn.resolve()
      await first
      await touchFailed.promise
      await map.set('c', 'd')
      store.blockstore.put = async (...args: Parameters<typeof put>) => {
        secondBegan.resolve()
        // The late touch's failure handled before this put checks its marker.
        await (touch as Promise<void>).catch(() => {})
        await new Promise((resolve) => setImmediate(resolve))
        return put(...args)
      }
      const root = await map.flush()
      const again = await HAMT.open<string>(root, { store: await DiskStore.open(directory) })
      assert.equal(await again.get('c'), 'd')
      assert.equal(await ownMarkerIn(directory), undefined)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
