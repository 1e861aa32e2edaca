// Attacks on disk14's hold of the writer marker for blocks a DiskStore wrote before a flush
// (revdisk14). The collection runs in a real child process (test/helpers/gc-child.ts).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT, ShardedZarrStore, type StoreId } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { bigEntries, collectElsewhere, missingEntries } from './helpers/early-writes.js'
import { ownMarkerIn } from './helpers/lost-marker.js'
import { testSeed } from './helpers/random.js'

/**
 * After `map`'s blocks went to disk in no root: this process's marker is there, another process's
 * collection keeping `keep` is refused, and the map's next flush returns every entry.
 */
async function assertProtected(
  directory: string,
  keep: StoreId,
  map: HAMT<string>,
  entries: [string, string][],
  seed: number,
) {
  await sleep(50) // past a put's lingering marker
  assert.ok(
    (await ownMarkerIn(directory)) !== undefined,
    `seed ${seed}: no marker while the map's blocks are in no root`,
  )
  const during = await collectElsewhere(directory, keep)
  assert.ok('refused' in during, `seed ${seed}: the collection ran and removed ${JSON.stringify(during)}`)
  assert.equal(await missingEntries(directory, await map.flush(), entries), 0, `seed ${seed}`)
}

async function freshDirectory(t: TestContext): Promise<string> {
  await loadBlake3()
  const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-revdisk14-'))
  t.after(() => rm(directory, { recursive: true, force: true }))
  return directory
}

describe('DiskStore: blocks written before a flush, for changes the flush under way does not root', () => {
  it("a set called during the map's flush: its value, written early, keeps the marker", async (t) => {
    const seed = testSeed()
    const directory = await freshDirectory(t)
    const map = await HAMT.create<string>({
      store: await DiskStore.open(directory, { writeBufferBytes: 1024 }),
    })
    const early = bigEntries(seed, 'early', 20)
    for (const [key, value] of early) await map.set(key, value)
    // The flush roots the sets called before it; these, called after, are in no root it returns.
    const flushed = map.flush()
    const late = bigEntries(seed + 1, 'late', 20)
    await Promise.all([flushed, ...late.map(([key, value]) => map.set(key, value))])
    await assertProtected(directory, await flushed, map, [...early, ...late], seed)
    assert.equal(await ownMarkerIn(directory), undefined, 'the next flush roots them: the marker goes')
  })

  it('a flush aborted after its store flush (it returns no root): the blocks it and the sets wrote keep the marker', async (t) => {
    const seed = testSeed()
    const directory = await freshDirectory(t)
    const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
    const map = await HAMT.create<string>({ store })
    const base = await map.flush()
    const entries = bigEntries(seed, 'entry', 20)
    for (const [key, value] of entries) await map.set(key, value)
    // The signal fires as the store's flush ends: its marker confirmed, the map's flush then refuses.
    const controller = new AbortController()
    const storeFlush = store.flush.bind(store)
    store.flush = async (options) => {
      await storeFlush(options)
      controller.abort()
    }
    await assert.rejects(map.flush({ signal: controller.signal }), { name: 'AbortError' })
    store.flush = storeFlush
    await assertProtected(directory, base, map, entries, seed)
    assert.equal(await ownMarkerIn(directory), undefined, 'the next flush roots them: the marker goes')
  })

  it("another store on the directory through a symbolic link: its flush's end leaves the marker the first holds", async (t) => {
    const seed = testSeed()
    const directory = await freshDirectory(t)
    const alias = `${directory}-link`
    await symlink(directory, alias)
    t.after(() => rm(alias, { force: true }))
    const map = await HAMT.create<string>({
      store: await DiskStore.open(directory, { writeBufferBytes: 1024 }),
    })
    const entries = bigEntries(seed, 'entry', 20)
    for (const [key, value] of entries) await map.set(key, value)
    const other = await HAMT.create<string>({ store: await DiskStore.open(alias) })
    await other.set('other', 'map')
    await assertProtected(directory, await other.flush(), map, entries, seed)
  })
})

describe('DiskStore: the marker kept for blocks written early goes once the writer that wrote them has flushed', () => {
  it('a bulk build (fromEntries: it flushes the store at its end)', async (t) => {
    const seed = testSeed()
    const directory = await freshDirectory(t)
    const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
    const entries = bigEntries(seed, 'entry', 20)
    const map = await HAMT.fromEntries<string>(entries, { store })
    await sleep(50) // the hold goes as the build's end reaches the collection view (a macrotask)
    assert.equal(await ownMarkerIn(directory), undefined, `seed ${seed}: the marker stays after the build`)
    assert.equal(await missingEntries(directory, map.rootId as StoreId, entries), 0)
  })

  it('a sharded Zarr store writing chunks early, then its flush', async (t) => {
    const directory = await freshDirectory(t)
    const store = await DiskStore.open(directory, { writeBufferBytes: 4096 })
    const zarr = await ShardedZarrStore.create({
      store,
      arrayShape: [8, 8],
      chunkShape: [1, 1],
      chunksPerShard: 4,
    })
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 5; j++) await zarr.set(`a/c/${i}/${j}`, new Uint8Array(200).fill(i * 8 + j))
    await sleep(50)
    assert.ok((await ownMarkerIn(directory)) !== undefined, 'chunks written early: the marker stays')
    await zarr.flush()
    await sleep(50)
    assert.equal(await ownMarkerIn(directory), undefined, 'the marker stays after the flush')
  })
})

describe('DiskStore: a store dropped (its map with it) before a flush', () => {
  it('lets its hold go once collected: its marker no longer refuses other processes for ever', async (t) => {
    const directory = await freshDirectory(t)
    // In a child with --expose-gc: the store and map live only in writeAndDrop, then garbage collection runs.
    const script = `
      import { readdirSync } from 'node:fs'
      import { setTimeout as sleep } from 'node:timers/promises'
      import { HAMT } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)}
      import { DiskStore } from ${JSON.stringify(new URL('../src/node/index.ts', import.meta.url).href)}
      const markers = () => readdirSync(${JSON.stringify(directory)}).filter((name) => name.startsWith('.ts-hamt-writing-')).length
      async function writeAndDrop() {
        const map = await HAMT.create({ store: await DiskStore.open(${JSON.stringify(directory)}, { writeBufferBytes: 1024 }) })
        for (const [key, value] of ${JSON.stringify(bigEntries(testSeed(), 'entry', 20))}) await map.set(key, value)
      }
      await writeAndDrop()
      await sleep(20)
      const before = markers()
      for (let i = 0; i < 50 && markers() > 0; i++) {
        globalThis.gc()
        await sleep(10)
      }
      process.stdout.write(JSON.stringify({ before, after: markers() }))
    `
    const args = ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script]
    const { stdout } = await promisify(execFile)(process.execPath, args)
    assert.deepEqual(
      JSON.parse(stdout),
      { before: 1, after: 0 },
      'markers before and after the store was collected',
    )
  })
})

describe('DiskStore: a hold kept for writers on another store of the directory', () => {
  it("goes at the flush's end: a store's flush writes only its own maps' blocks", async (t) => {
    const seed = testSeed()
    const directory = await freshDirectory(t)
    // Its change buffered only (an 8 MiB buffer): nothing of it on disk for a marker to protect.
    const pending = await HAMT.create<string>({ store: await DiskStore.open(directory) })
    await pending.set('pending', 'change')
    const map = await HAMT.create<string>({
      store: await DiskStore.open(directory, { writeBufferBytes: 1024 }),
    })
    const entries = bigEntries(seed, 'entry', 20)
    for (const [key, value] of entries) await map.set(key, value)
    const root = await map.flush()
    await sleep(50)
    assert.equal(
      await ownMarkerIn(directory),
      undefined,
      `seed ${seed}: the marker stays for the other store's map`,
    )
    const during = await collectElsewhere(directory, root)
    assert.ok('removed' in during, `seed ${seed}: the collection was refused: ${JSON.stringify(during)}`)
    assert.equal(await missingEntries(directory, root, entries), 0, `seed ${seed}`)
    assert.equal(await missingEntries(directory, await pending.flush(), [['pending', 'change']]), 0)
  })
})
