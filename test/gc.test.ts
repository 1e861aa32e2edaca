// Garbage collection (issue 16 item 4): a store with three versions of a map and of a Zarr dataset
// keeps exactly what the kept roots reach, a dry run names exactly what a run removes, a missing
// kept block stops it before anything goes, and writers in this process and others are safe.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { toHex } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { walkDag } from '../src/car/walk.js'
import { BlockstoreStore, exportCar, HAMT, importCar, isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { untouched } from './helpers/disk-markers.js'
import { blockFiles, reachable, writeVersions } from './helpers/gc-store.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-'))
after(() => rm(scratch, { recursive: true, force: true }))
let dirs = 0
const freshDisk = (): Promise<DiskStore> => DiskStore.open(join(scratch, `store-${dirs++}`))

/** Collects `keep` once as a dry run and once for real; returns what each named, as hex multihashes. */
async function dryThenReal(
  store: DiskStore | BlockstoreStore,
  keep: CID[],
): Promise<{ dry: string[]; real: string[]; bytes: [number, number] }> {
  const dry: string[] = []
  const real: string[] = []
  const a = await collectGarbage(store, {
    keep,
    dryRun: true,
    onRemove: (cid) => dry.push(toHex(cid.multihash.bytes)),
  })
  const b = await collectGarbage(store, { keep, onRemove: (cid) => real.push(toHex(cid.multihash.bytes)) })
  assert.equal(a.removed, dry.length)
  assert.equal(b.removed, real.length)
  assert.equal(a.dryRun, true)
  return { dry: dry.sort(), real: real.sort(), bytes: [a.removedBytes, b.removedBytes] }
}

describe('collectGarbage on a DiskStore with three versions', () => {
  it('keeps every block of the kept roots, verified, and nothing else; the dry run named exactly those removed', async () => {
    const store = await freshDisk()
    const { maps, datasets } = await writeVersions(store)
    const keep = [maps[1] as CID, datasets[2] as CID]
    const before = await blockFiles(store.directory)
    const reach = await reachable(store, keep)
    const everything = await reachable(store, [...maps, ...datasets])
    assert.equal(before.size, everything.size, 'every block on disk is in some version')
    assert.ok(reach.size < before.size)

    const { dry, real, bytes } = await dryThenReal(store, keep)
    assert.deepEqual(dry, real)
    assert.equal(bytes[0], bytes[1])
    assert.ok(bytes[1] > 0)

    const left = await blockFiles(store.directory) // reads and verifies every file
    assert.deepEqual([...left].sort(), [...reach].sort())
    assert.deepEqual(real, [...before].filter((hash) => !reach.has(hash)).sort())
    // The kept versions read in full from a fresh store; the others do not.
    const reopened = await DiskStore.open(store.directory)
    const kept = await HAMT.open<unknown>(maps[1] as CID, { store: reopened })
    assert.deepEqual((await kept.verify()).problems, [])
    assert.deepEqual(await kept.get('key-1'), { i: 1, version: 1 })
    assert.equal(((await kept.get('added-in-0')) as Uint8Array).length, (1 << 20) + 100)
    const dataset = await HAMT.open<Uint8Array>(datasets[2] as CID, { store: reopened, valuesAreBytes: true })
    assert.equal(await dataset.size(), 2 + 12)
    await assert.rejects(
      HAMT.open<unknown>(maps[2] as CID, { store: reopened }).then((old) => old.verify()),
      { code: 'ERR_BLOCK_NOT_FOUND' },
    )

    // A second run finds nothing left to remove.
    assert.equal((await collectGarbage(store, { keep })).removed, 0)
  })

  it('keeps only the last of three versions and the count on disk is what it reaches', async () => {
    const store = await freshDisk()
    const { maps, datasets } = await writeVersions(store)
    const keep = [maps[2] as CID, datasets[2] as CID]
    const result = await collectGarbage(store, { keep })
    const left = await blockFiles(store.directory)
    assert.equal(left.size, (await reachable(store, keep)).size)
    assert.equal(result.marked, left.size)
    assert.ok(result.removed > 0)
  })

  it('stops with a BlockNotFoundError naming the kept root when one of its blocks is missing, removing nothing', async () => {
    for (const kind of ['inner node', 'raw leaf'] as const) {
      const store = await freshDisk()
      const { maps, datasets } = await writeVersions(store)
      const keep = [maps[0] as CID, datasets[2] as CID]
      const root = kind === 'raw leaf' ? (datasets[2] as CID) : (maps[0] as CID)
      const blocks: CID[] = []
      for await (const { cid } of walkDag(store, root, { concurrency: 4 })) blocks.push(cid)
      const victim = blocks.find((cid, i) =>
        kind === 'raw leaf' ? cid.code === 0x55 : i > 0 && cid.code === 0x71,
      )
      assert.ok(victim !== undefined)
      await store.blockstore.delete(victim)
      const before = await blockFiles(store.directory)
      await assert.rejects(collectGarbage(store, { keep }), (error: unknown) => {
        assert.ok(isHamtError(error) && error.code === 'ERR_BLOCK_NOT_FOUND', String(error))
        assert.match(error.message, new RegExp(`block ${victim}.*kept root ${root}.*nothing was removed`))
        return true
      })
      assert.deepEqual(await blockFiles(store.directory), before, kind)
    }
  })

  it('stops when its signal aborts mid-sweep, leaving the kept roots whole and the store unlocked', async () => {
    const store = await freshDisk()
    const { maps } = await writeVersions(store)
    const keep = [maps[2] as CID]
    const controller = new AbortController()
    const stopped = collectGarbage(store, {
      keep,
      signal: controller.signal,
      onRemove: () => controller.abort(new Error('enough')),
    })
    await assert.rejects(stopped, /enough/)
    assert.equal(existsSync(join(store.directory, '.ts-hamt-gc')), false)
    const left = await blockFiles(store.directory)
    const reach = await reachable(store, keep)
    for (const hash of reach) assert.ok(left.has(hash))
    const rest = await collectGarbage(store, { keep })
    assert.ok(rest.removed > 0, 'the abort came before the sweep was done')
    assert.equal((await blockFiles(store.directory)).size, reach.size)
  })

  it('refuses an empty keep unless all is given, and all removes every block', async () => {
    const store = await freshDisk()
    await writeVersions(store)
    await assert.rejects(collectGarbage(store, { keep: [] }), { code: 'ERR_INVALID_ARGUMENT' })
    await assert.rejects(collectGarbage(store, { keep: ['not a cid'] }), { code: 'ERR_INVALID_ARGUMENT' })
    await assert.rejects(collectGarbage({} as never, { keep: [] }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.ok((await blockFiles(store.directory)).size > 0)
    await collectGarbage(store, { keep: [], all: true })
    assert.equal((await blockFiles(store.directory)).size, 0)
  })
})

describe('collectGarbage on a BlockstoreStore', () => {
  it('keeps exactly what the kept root reaches in a MemoryBlockstore', async () => {
    const blockstore = new MemoryBlockstore()
    const store = new BlockstoreStore(blockstore)
    const { maps, datasets } = await writeVersions(store)
    const keep = [maps[0] as CID]
    const held = async (): Promise<string[]> => {
      const found: string[] = []
      for await (const { cid } of blockstore.getAll()) found.push(toHex(cid.multihash.bytes))
      return found.sort()
    }
    const before = await held()
    const { dry, real } = await dryThenReal(store, keep)
    assert.deepEqual(dry, real)
    const reach = await reachable(store, keep)
    const left = await held()
    assert.deepEqual(left, [...reach].sort())
    assert.deepEqual(
      real,
      before.filter((hash) => !reach.has(hash)),
    )
    await assert.rejects(
      HAMT.open(datasets[0] as CID, { store, valuesAreBytes: true }).then((map) => map.size()),
      { code: 'ERR_BLOCK_NOT_FOUND' },
    )
  })

  it('refuses a blockstore that cannot list or delete', async () => {
    const memory = new MemoryBlockstore()
    const store = new BlockstoreStore({
      get: (cid) => memory.get(cid),
      put: (cid, bytes) => memory.put(cid, bytes),
      has: (cid) => memory.has(cid),
    })
    await assert.rejects(collectGarbage(store, { keep: [], all: true }), /no getAll and delete/)
  })
})

describe('writers while a collection runs', () => {
  it('a map flushed during the mark, over a version not kept, stays whole with the old blocks it links to', async () => {
    const store = await freshDisk()
    const { maps } = await writeVersions(store)
    const writer = await HAMT.open<unknown>(maps[0] as CID, { store, readOnly: false })
    let written: CID | undefined
    // The collection's first read runs the writer to the end: its flush lands mid-mark.
    const fs = store.blockstore
    const get = fs.get.bind(fs)
    let started = false
    fs.get = async function* (...args: Parameters<typeof get>) {
      if (!started) {
        started = true
        await writer.set('written during gc', true)
        written = (await writer.flush()) as CID
      }
      yield* get(...args)
    }
    await collectGarbage(store, { keep: [maps[2] as CID] })
    fs.get = get
    assert.ok(written !== undefined)
    const reread = await HAMT.open<unknown>(written, { store: await DiskStore.open(store.directory) })
    assert.deepEqual((await reread.verify()).problems, [])
    assert.equal(await reread.get('written during gc'), true)
    assert.deepEqual(await reread.get('key-1'), { i: 1, version: 0 })
    assert.equal(((await reread.get('added-in-0')) as Uint8Array).length, (1 << 20) + 100)
    const left = await blockFiles(store.directory)
    assert.deepEqual([...left].sort(), [...(await reachable(store, [maps[2] as CID, written]))].sort())
  })

  it('a CAR imported during the sweep, whose blocks link to blocks being swept, stays whole', async () => {
    // The store holds versions 0 and 1; the CAR brings what version 2 adds to version 1, and
    // importCar skips the blocks the store says it has: those must not be swept after it asked.
    const source = new BlockstoreStore(new MemoryBlockstore())
    const { maps } = await writeVersions(source)
    const store = await freshDisk()
    for (const root of maps.slice(0, 2)) await importCar(store, exportCar(source, root as CID))
    // An import's blocks are held for collections until a macrotask after it returns: past that.
    await new Promise((resolve) => setImmediate(resolve))
    const delta = exportCar(source, maps[2] as CID, { base: maps[1] as CID })
    const chunks: Uint8Array[] = []
    for await (const chunk of delta) chunks.push(chunk)

    const fs = store.blockstore
    const remove = fs.delete.bind(fs)
    const hasBlock = store.hasBlock.bind(store)
    let asked: () => void = () => {}
    const askedOnce = new Promise<void>((resolve) => {
      asked = resolve
    })
    store.hasBlock = (...args) => {
      asked()
      return hasBlock(...args)
    }
    let imported: Promise<unknown> | undefined
    let firstRemoved: CID | undefined
    fs.delete = async (...args: Parameters<typeof remove>) => {
      if (imported === undefined) {
        firstRemoved = args[0]
        imported = importCar(
          store,
          (async function* () {
            yield* chunks
          })(),
        ).then(
          () => undefined,
          (error: unknown) => error,
        )
        // The import has put its blocks and asks about the rest (answered once this batch ends).
        await Promise.race([askedOnce, imported])
      }
      return remove(...args)
    }
    const result = await collectGarbage(store, { keep: [maps[0] as CID] })
    assert.ok(result.removed > 0)
    const failure = await imported
    if (failure !== undefined) {
      // Only the block whose delete was under way when the import began may be missing to it.
      assert.ok(isHamtError(failure) && failure.code === 'ERR_INVALID_VALUE', String(failure))
      assert.match(failure.message, new RegExp(`1 linked block\\(s\\).*first ${firstRemoved}`))
      return
    }
    const reread = await HAMT.open<unknown>(maps[2] as CID, { store: await DiskStore.open(store.directory) })
    assert.deepEqual((await reread.verify()).problems, [])
    assert.deepEqual(await reread.get('key-1'), { i: 1, version: 1 })
  })

  it('a second collection on the same store in this process is refused while one runs', async () => {
    const store = await freshDisk()
    const { maps } = await writeVersions(store)
    const other = await DiskStore.open(store.directory)
    // The first collection waits in its first read until both others were refused.
    const fs = store.blockstore
    const get = fs.get.bind(fs)
    let go: () => void = () => {}
    const refused = new Promise<void>((resolve) => {
      go = resolve
    })
    fs.get = async function* (...args: Parameters<typeof get>) {
      await refused
      yield* get(...args)
    }
    const first = collectGarbage(store, { keep: [maps[2] as CID] })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await assert.rejects(collectGarbage(store, { keep: [maps[2] as CID] }), { code: 'ERR_STORE' })
    await assert.rejects(collectGarbage(other, { keep: [maps[2] as CID] }), /already/)
    // Another store on the directory in this process writes as another process would: refused.
    const map = await HAMT.open<unknown>(maps[2] as CID, { store: other, readOnly: false })
    await map.set('elsewhere', 1)
    await assert.rejects(map.flush(), /another store in this process is collecting garbage/)
    go()
    await first
    fs.get = get
    await map.flush()
    await collectGarbage(other, { keep: [maps[2] as CID] })
  })
})

describe('other processes on one DiskStore directory', () => {
  /** A live process that is not this one (its pid stands for another writer or collector). */
  function otherProcess(): ChildProcess {
    return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' })
  }
  const stop = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })

  it("refuses to flush while another process collects, and to collect while another process flushes; a dead one's files are ignored", async () => {
    const store = await freshDisk()
    const { maps } = await writeVersions(store)
    const collector = otherProcess()
    await writeFile(join(store.directory, '.ts-hamt-gc'), String(collector.pid))
    const map = await HAMT.open<unknown>(maps[2] as CID, { store, readOnly: false })
    await map.set('new', 1)
    await assert.rejects(map.flush(), (error: unknown) => {
      assert.ok(isHamtError(error) && error.code === 'ERR_STORE')
      assert.match(error.message, new RegExp(`process ${collector.pid} is collecting garbage`))
      return true
    })
    await assert.rejects(collectGarbage(store, { keep: [maps[2] as CID] }), /is collecting garbage in it/)
    await stop(collector)
    await untouched(join(store.directory, '.ts-hamt-gc')) // an older version's lock (a bare pid): dead once old too
    const root = (await map.flush()) as CID // the failed flush kept its blocks; the dead collector's lock is no obstacle

    const writer = otherProcess()
    const marker = join(store.directory, `.ts-hamt-writing-${writer.pid}`)
    await writeFile(marker, '')
    const before = await blockFiles(store.directory)
    await assert.rejects(
      collectGarbage(store, { keep: [root] }),
      new RegExp(`process ${writer.pid} is writing`),
    )
    assert.deepEqual(await blockFiles(store.directory), before)
    await stop(writer)
    await untouched(marker) // an older version's marker (no pid space): dead once its pid is and it is old
    assert.ok((await collectGarbage(store, { keep: [root] })).removed > 0)
    await unlink(marker)
  })
})
