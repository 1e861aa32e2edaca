// BlockstoreStore over real interface-blockstore implementations (blockstore-core's memory store,
// blockstore-level, blockstore-fs through DiskStore), and its IDs against a real Kubo daemon.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { LevelBlockstore } from 'blockstore-level'
import { CID } from 'multiformats/cid'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { BlockstoreStore, HAMT, isHamtError, KuboStore } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { untouched } from './helpers/disk-markers.js'
import { kuboAddCid, startKubo } from './helpers/kubo.js'
import { storeComplianceSuite } from './helpers/store-compliance.js'

const run = promisify(execFile)
await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-blockstore-'))
after(() => rm(scratch, { recursive: true, force: true }))
let dirs = 0
const freshDir = (): string => join(scratch, `store-${dirs++}`)
const unknownCid = async () =>
  CID.createV1(0x55, blake3Hasher.digest(new TextEncoder().encode(`never ${Math.random()}`)))
const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 255)

const levels: LevelBlockstore[] = []
after(async () => {
  for (const level of levels) await level.close()
})

storeComplianceSuite(
  'BlockstoreStore (blockstore-core memory)',
  async () => new BlockstoreStore(new MemoryBlockstore()),
  unknownCid,
)
storeComplianceSuite(
  'BlockstoreStore (blockstore-level)',
  async () => {
    const level = new LevelBlockstore(freshDir())
    await level.open()
    levels.push(level)
    return new BlockstoreStore(level)
  },
  unknownCid,
)
storeComplianceSuite('DiskStore', () => DiskStore.open(freshDir()), unknownCid)
storeComplianceSuite(
  'DiskStore (write-through)',
  () => DiskStore.open(freshDir(), { writeBufferBytes: 0 }),
  unknownCid,
)

describe('BlockstoreStore IDs equal a real Kubo daemon’s', () => {
  const daemon = startKubo()
  after(async () => (await daemon).stop())

  it('for values of one chunk and for UnixFS files of several levels (balanced, 174 links)', async () => {
    const { rpcUrl } = await daemon
    // A 64-byte chunker makes a two-level tree (> 174 leaves) from a few hundred KB.
    for (const [chunk, sizes] of [
      [1 << 20, [0, 1, 5000, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17]],
      [64, [64 * 174, 64 * 174 + 1, 64 * 175, 64 * 174 * 174 + 1, 64 * 174 * 2 + 63]],
    ] as const) {
      const local = new BlockstoreStore(new MemoryBlockstore(), { chunkSize: chunk })
      for (const size of sizes) {
        const data = bytes(size, size + 3)
        for (const codec of ['raw', 'dag-cbor'] as const) {
          const actual = await local.save(data, codec)
          // Kubo's own answer to py-hamt's `add` (KuboStore computes small CIDs locally, so ask Kubo).
          const expected = await kuboAddCid(rpcUrl, data, codec, chunk)
          assert.equal(actual.toString(), expected.toString(), `chunk ${chunk}, ${size} bytes, ${codec}`)
        }
        await local.flush()
        // …and the file is read back whole and by range from the blockstore.
        const cid = await local.save(data, 'raw')
        assert.deepEqual(await local.load(cid), data)
        if (size > 100) {
          const range = { offset: size - 100, length: 90 }
          assert.deepEqual(await local.load(cid, { range }), data.slice(size - 100, size - 10))
        }
      }
    }
  })

  it('gives a map the root CID KuboStore gives it', async () => {
    const { rpcUrl, gatewayUrl } = await daemon
    const roots: string[] = []
    for (const store of [
      new BlockstoreStore(new MemoryBlockstore()),
      new KuboStore({ rpcUrl, gateways: gatewayUrl }),
    ]) {
      const map = await HAMT.create<unknown>({ store })
      for (let i = 0; i < 2000; i++) await map.set(`key-${i}`, i % 3 === 0 ? bytes(i % 200) : { i })
      await map.set('big', bytes((1 << 20) + 5))
      roots.push(String(await map.flush()))
    }
    assert.equal(roots[0], roots[1])
  })
})

describe('BlockstoreStore writes and failures', () => {
  /** A real memory blockstore whose puts fail while `failing` is set: a disk that is full, say. */
  class FailingBlockstore extends MemoryBlockstore {
    failing = false
    puts = 0
    override put(...args: Parameters<MemoryBlockstore['put']>): ReturnType<MemoryBlockstore['put']> {
      if (this.failing) throw new Error('disk full')
      this.puts++
      return super.put(...args)
    }
  }

  it('keeps blocks in the write buffer until flush, readable meanwhile', async () => {
    const blockstore = new FailingBlockstore()
    const store = new BlockstoreStore(blockstore)
    const cid = await store.save(bytes(100), 'raw')
    assert.equal(blockstore.puts, 0)
    assert.deepEqual(await store.load(cid), bytes(100))
    await store.flush()
    assert.equal(blockstore.puts, 1)
    assert.equal(store.bufferedBytes, 0)
    assert.deepEqual(await new BlockstoreStore(blockstore).load(cid), bytes(100))
  })

  it('a failed flush keeps the map’s changes; the retry gives the root an undisturbed flush gives', async () => {
    const blockstore = new FailingBlockstore()
    const store = new BlockstoreStore(blockstore)
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < 500; i++) await map.set(`k${i}`, i)
    blockstore.failing = true
    await assert.rejects(map.flush(), (e) => isHamtError(e, 'ERR_STORE') && /disk full/.test(String(e)))
    assert.equal(await map.get('k499'), 499)
    blockstore.failing = false
    const root = await map.flush()

    const clean = await HAMT.create<number>({ store: new BlockstoreStore(new MemoryBlockstore()) })
    for (let i = 0; i < 500; i++) await clean.set(`k${i}`, i)
    assert.equal(String(root), String(await clean.flush()))
    const reopened = await HAMT.open<number>(root, { store: new BlockstoreStore(blockstore) })
    assert.equal(await reopened.size(), 500)
  })

  it('reports a missing block as ERR_BLOCK_NOT_FOUND and a corrupt one as ERR_INTEGRITY', async () => {
    const directory = freshDir()
    const store = await DiskStore.open(directory)
    const cid = await store.save(bytes(500, 3), 'raw')
    await store.flush()
    await assert.rejects(store.load(await unknownCid()), (e) => isHamtError(e, 'ERR_BLOCK_NOT_FOUND'))
    const file = await findBlockFile(directory)
    const content = await readFile(file)
    content[10] = (content[10] as number) ^ 0xff
    await writeFile(file, content)
    const reopened = await DiskStore.open(directory)
    await assert.rejects(reopened.load(cid), (e) => isHamtError(e, 'ERR_INTEGRITY'))
    await assert.rejects(reopened.getBlock(cid), (e) => isHamtError(e, 'ERR_INTEGRITY'))
  })

  it('rejects bad arguments with named, typed errors', async () => {
    assert.throws(
      () => new BlockstoreStore({} as never),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /blockstore/.test(String(e)),
    )
    assert.throws(
      () => new BlockstoreStore(new MemoryBlockstore(), { chunkSize: 0 }),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /chunkSize/.test(String(e)),
    )
    await assert.rejects(DiskStore.open(''), (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT'))
    await assert.rejects(
      DiskStore.open(join(scratch, 'missing'), { createIfMissing: false }),
      (e) => isHamtError(e, 'ERR_STORE') && /missing/.test(String(e)),
    )
    const store = new BlockstoreStore(new MemoryBlockstore())
    const cid = await store.save(bytes(10), 'raw')
    await assert.rejects(store.putBlock(cid, bytes(11)), (e) => isHamtError(e, 'ERR_INTEGRITY'))
    await assert.rejects(store.load(new Uint8Array(34)), (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT'))
  })

  it('a map on disk opens again from a new process’s view of the directory', async () => {
    const directory = freshDir()
    const map = await HAMT.create<unknown>({ store: await DiskStore.open(directory) })
    for (let i = 0; i < 300; i++) await map.set(`key ${i}`, { i, even: i % 2 === 0 })
    await map.set('big', bytes(3 << 20, 5))
    const root = await map.flush()
    const again = await HAMT.open<unknown>(root, { store: await DiskStore.open(directory), readOnly: true })
    assert.deepEqual(await again.get('key 299'), { i: 299, even: false })
    assert.deepEqual(await again.get('big'), bytes(3 << 20, 5))
    assert.equal(await again.size(), 301)
    assert.deepEqual((await again.verify()).problems, [])
  })
})

describe('DiskStore on a full disk', () => {
  /** A 1 MiB tmpfs (root only); the cases that need one are skipped, saying why, without it. */
  async function tinyDisk(): Promise<{ path: string; release(): Promise<void> } | string> {
    const path = await mkdtemp(join(tmpdir(), 'ts-hamt-full-'))
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path])
    } catch (error) {
      await rm(path, { recursive: true, force: true })
      return `no tmpfs mount: ${(error as Error).message.split('\n')[0]}`
    }
    return {
      path,
      release: async () => {
        await run('umount', [path]).catch(() => {})
        await rm(path, { recursive: true, force: true })
      },
    }
  }
  const tempFiles = async (directory: string): Promise<string[]> =>
    (await readdir(directory, { recursive: true })).filter((name) => /(^|\/)\.[^/]+\.tmp$/.test(name))

  it('a flush that fills the disk fails with ERR_STORE, leaves no temporary file, and succeeds once there is room', async (t) => {
    const disk = await tinyDisk()
    if (typeof disk === 'string') return t.skip(disk)
    try {
      const filler = join(disk.path, 'filler')
      await writeFile(filler, new Uint8Array(700 << 10))
      const store = await DiskStore.open(join(disk.path, 'store'))
      const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
      for (let i = 0; i < 40; i++) await map.set(`v${i}`, bytes(10_000, i + 1))
      await assert.rejects(map.flush(), (e) => isHamtError(e, 'ERR_STORE') && /ENOSPC/.test(String(e)))
      assert.deepEqual(await tempFiles(disk.path), [])
      assert.equal(map.hasUnflushedChanges, true)
      await rm(filler)
      const root = await map.flush()
      const again = await HAMT.open<Uint8Array>(root, {
        store: await DiskStore.open(join(disk.path, 'store')),
        valuesAreBytes: true,
      })
      assert.deepEqual(await again.get('v39'), bytes(10_000, 40))
      assert.deepEqual(await tempFiles(disk.path), [])
    } finally {
      await disk.release()
    }
  })

  it('open removes the temporary files a killed writer left, but not those of a live one', async (t) => {
    const directory = freshDir()
    const store = await DiskStore.open(directory)
    const cid = await store.save(bytes(100, 7), 'raw')
    await store.flush()
    const shard = (await readdir(directory, { withFileTypes: true })).find((e) => e.isDirectory())
      ?.name as string
    const leftover = join(directory, shard, '.CIQLEFTOVER.data.tmp')
    // A pid that was alive and is not now: a child that has exited; a live writer: a child still running.
    const dead = (await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])).stdout
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'])
    t.after(() => live.kill())
    for (const [pid, kept] of [
      [String(live.pid), true],
      [dead, false],
    ] as const) {
      await writeFile(leftover, bytes(10))
      await writeFile(join(directory, `.ts-hamt-writing-${pid}`), '')
      // An older version's marker, written long ago: its pid alone tells its writer alive.
      await untouched(join(directory, `.ts-hamt-writing-${pid}`))
      const reopened = await DiskStore.open(directory)
      assert.equal((await tempFiles(directory)).length, kept ? 1 : 0, `writer ${pid}`)
      assert.deepEqual(await reopened.load(cid), bytes(100, 7))
      await rm(join(directory, `.ts-hamt-writing-${pid}`), { force: true })
    }
    assert.deepEqual(
      (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-')),
      [],
      'a flush that succeeds leaves no marker',
    )
  })
})

/** Path of the one block file under a fresh blockstore-fs directory. */
async function findBlockFile(directory: string): Promise<string> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.data'))
  assert.equal(files.length, 1)
  const file = files[0] as (typeof files)[number]
  return join(file.parentPath, file.name)
}
