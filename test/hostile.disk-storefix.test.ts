// DiskStore with a stranger's hand in its directory: a block file grown huge (a sparse file costs no
// disk), read within a memory budget; what the store itself writes it still reads.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { temporaryFile } from '../src/cas/disk.js'
import { HAMT, importCar, isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { processStart } from '../src/util/partial-files.js'
import { carOf } from './helpers/car-blocks.js'
import { storeWithLeftover } from './helpers/disk-leftover.js'
import { untouched } from './helpers/disk-markers.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-disk-storefix-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** The path of the one block file in `directory`. */
async function onlyBlockFile(directory: string): Promise<string> {
  const files: string[] = []
  for (const shard of await readdir(directory, { withFileTypes: true })) {
    if (!shard.isDirectory()) continue
    for (const name of await readdir(join(directory, shard.name)))
      if (name.endsWith('.data')) files.push(join(directory, shard.name, name))
  }
  assert.equal(files.length, 1, files.join(', '))
  return files[0] as string
}

describe('a DiskStore block file made huge', () => {
  for (const [label, bytes] of [
    ['256 MiB', 256 << 20],
    ['10 GB', 10e9],
  ] as const) {
    it(`${label} (sparse): load and collection fail typed, naming the file and its size, within 64 MiB`, async () => {
      const directory = join(scratch, `huge-${label.replace(' ', '')}`)
      const store = await DiskStore.open(directory)
      // dag-cbor: a collection reads it (raw blocks it only checks are there).
      const cid = (await store.save(dagCbor.encode({ seed }), 'dag-cbor')) as CID
      await store.flush()
      const file = await onlyBlockFile(directory)
      await truncate(file, bytes)
      const loaded = await withinBudget(`load a ${label} block file`, () => store.load(cid))
      assertTypedError(loaded, 'ERR_STORE')
      const message = (loaded.error as Error).message
      assert.ok(message.includes(file), message)
      assert.ok(message.includes(String(bytes)), message)
      const collected = await withinBudget(`collect over a ${label} block file`, () =>
        collectGarbage(store, { keep: [cid] }),
      )
      assertTypedError(collected, 'ERR_STORE')
    })
  }

  it('blocks as large as the store writes them (its chunkSize, above 4 MiB) are read back', async () => {
    const chunkSize = 6 << 20
    const directory = join(scratch, 'large-chunks')
    const store = await DiskStore.open(directory, { chunkSize })
    const value = new Uint8Array(chunkSize).fill(seed & 0xff)
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await map.set('big', value)
    const root = await map.flush()
    const reopened = await DiskStore.open(directory, { chunkSize })
    const again = await HAMT.open<Uint8Array>(root, { store: reopened, valuesAreBytes: true })
    assert.deepEqual(await again.get('big'), value)
  })

  it('a CAR block larger than the store reads is refused at import (typed), one within its chunkSize is kept', async () => {
    const bytes = new Uint8Array(5 << 20).fill((seed + 1) & 0xff)
    const block = { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
    const car = await carOf([block.cid], [block])
    const small = await DiskStore.open(join(scratch, 'import-default'))
    const refused = await importCar(small, car).catch((error: unknown) => error)
    assert.ok(isHamtError(refused, 'ERR_INVALID_VALUE'), String(refused))
    assert.ok((refused as Error).message.includes(String(bytes.length)), (refused as Error).message)
    assert.equal(await small.hasBlock(block.cid), false)
    const large = await DiskStore.open(join(scratch, 'import-large'), { chunkSize: 6 << 20 })
    await importCar(large, car)
    assert.deepEqual(await large.getBlock(block.cid), bytes)
  })
})

const linux = (await processStart(process.pid)) !== undefined
const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )
const markerOf = (directory: string, pid: number): string => join(directory, `.ts-hamt-writing-${pid}`)
/** Whether this process's marker (its pid and token) is in `directory`. */
const ownMarkerIn = async (directory: string): Promise<boolean> =>
  (await readdir(directory)).some((name) => name.startsWith(`.ts-hamt-writing-${process.pid}-`))

describe('a temporary file a failed write could not remove', () => {
  it('keeps the writer marker only while it is there: once it is gone, the next flush removes the marker', async () => {
    const directory = join(scratch, 'left-temp')
    const store = await DiskStore.open(directory, { writeBufferBytes: 1 << 20 })
    const bytes = new TextEncoder().encode(`left ${seed}`)
    await store.save(bytes, 'raw')
    await store.flush()
    const file = await onlyBlockFile(directory)
    await rm(file)
    // A folder where the block's temporary file goes: the write fails, and rm (not recursive) cannot remove it.
    const temp = temporaryFile(file)
    await mkdir(temp)
    await store.save(bytes, 'raw')
    await assert.rejects(store.flush(), (error: unknown) => isHamtError(error, 'ERR_STORE'))
    assert.equal(await ownMarkerIn(directory), true, 'the leftover keeps the marker')
    await rm(temp, { recursive: true })
    await store.flush()
    assert.equal(await exists(file), true)
    assert.equal(
      await ownMarkerIn(directory),
      false,
      'the marker outlived the leftover: other processes cannot collect garbage while this one lives',
    )
  })
})

describe('a writer marker whose text names another pid than its file name', {
  skip: !linux && 'no /proc',
}, () => {
  const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']))
  // A live process other than this one (and not ours to stop): the test runner that started this file.
  const livePid = process.ppid

  it('the file name wins: a live pid named, a dead one in the text, is a live writer (nothing cleaned)', async () => {
    const { directory, leftover } = await storeWithLeftover(join(scratch, 'name-live'))
    await writeFile(markerOf(directory, livePid), `${deadPid} - 0123456789abcdef\n`)
    await DiskStore.open(directory)
    assert.equal(await exists(leftover), true, 'a live writer’s temporary file was removed')
    const store = await DiskStore.open(directory)
    await assert.rejects(
      collectGarbage(store, { keep: [], all: true }),
      new RegExp(`process ${livePid} is writing`),
    )
  })

  it('a dead pid named, a live one in the text, is a dead writer (cleaned up, collection runs)', async () => {
    const { directory, leftover } = await storeWithLeftover(join(scratch, 'name-dead'))
    await writeFile(markerOf(directory, deadPid), `${livePid} - 0123456789abcdef\n`)
    await untouched(markerOf(directory, deadPid)) // an older version's, its writer killed long ago
    const store = await DiskStore.open(directory)
    assert.equal(await exists(leftover), false)
    await collectGarbage(store, { keep: [], all: true })
  })
})
