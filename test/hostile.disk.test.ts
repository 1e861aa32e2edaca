// DiskStore's clean-up of a killed writer's temporary files touches only blockstore-fs's own files:
// a store opened in a directory that holds other things leaves them alone.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { DiskStore } from '../src/node/index.js'
import { untouched } from './helpers/disk-markers.js'

const run = promisify(execFile)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-hostile-disk-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** A store in `scratch/name` holding one flushed block; returns its directory and its one shard folder. */
async function storeWithOneShard(
  name: string,
  block: Uint8Array,
): Promise<{ directory: string; shard: string }> {
  const directory = join(scratch, name)
  const store = await DiskStore.open(directory)
  await store.save(block, 'raw')
  await store.flush()
  const shard = (await readdir(directory, { withFileTypes: true })).find((e) => e.isDirectory())?.name
  assert.ok(shard !== undefined, 'a shard folder')
  return { directory, shard }
}

describe('DiskStore clean-up after a killed writer', () => {
  it('removes blockstore-fs temporary files in shard folders only, never other files', async () => {
    const { directory, shard } = await storeWithOneShard('shared', Uint8Array.of(1, 2, 3))
    const blockTemp = join(directory, shard, '.CIQLEFTOVER.data.tmp')
    await writeFile(blockTemp, 'x')
    // Someone else's files beside the store: a project folder, an editor's temporary file.
    await mkdir(join(directory, 'notes'))
    const theirs = [join(directory, 'notes', '.draft.tmp'), join(directory, shard, '.draft.tmp')]
    for (const path of theirs) await writeFile(path, 'keep me')
    const dead = (await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])).stdout
    await writeFile(join(directory, `.ts-hamt-writing-${dead}`), '')
    await untouched(join(directory, `.ts-hamt-writing-${dead}`)) // an older version's, its writer killed long ago
    await DiskStore.open(directory)
    assert.deepEqual(await readdir(join(directory, 'notes')), ['.draft.tmp'])
    assert.ok((await readdir(join(directory, shard))).includes('.draft.tmp'))
    assert.ok(
      !(await readdir(join(directory, shard))).includes('.CIQLEFTOVER.data.tmp'),
      'the block temp goes',
    )
  })
})

describe('a killed writer whose pid comes back', () => {
  it('a marker under this process’s own pid, with no flush running here, is a dead writer’s (pid 1 in a restarted container)', async () => {
    const { directory, shard } = await storeWithOneShard('own-pid', Uint8Array.of(4, 5, 6))
    await writeFile(join(directory, shard, '.CIQLEFTOVER.data.tmp'), 'x')
    // An older version's marker (no token, no pid space): only its age tells it is not another container's pid.
    await writeFile(join(directory, `.ts-hamt-writing-${process.pid}`), '')
    await untouched(join(directory, `.ts-hamt-writing-${process.pid}`))
    await DiskStore.open(directory)
    assert.deepEqual(
      (await readdir(join(directory, shard))).filter((name) => name.endsWith('.tmp')),
      [],
      'the leftover goes',
    )
    assert.deepEqual(
      (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-')),
      [],
      'and so does the marker',
    )
  })
})

describe('two stores on one directory in one process', () => {
  it('the marker stays while either one is still flushing', async () => {
    const directory = join(scratch, 'two-stores')
    const [slow, quick] = [await DiskStore.open(directory), await DiskStore.open(directory)]
    for (let i = 0; i < 3000; i++) await slow.save(Uint8Array.of(i & 255, i >> 8, 1), 'raw')
    await quick.save(Uint8Array.of(9, 9, 9), 'raw')
    let slowDone = false
    const slowFlush = slow.flush().then(() => {
      slowDone = true
    })
    await quick.flush()
    const markers = async () =>
      (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-'))
    assert.equal(slowDone, false, 'the slow flush is still running (else this test shows nothing)')
    assert.equal((await markers()).length, 1)
    assert.match(
      (await markers())[0] as string,
      new RegExp(`^\\.ts-hamt-writing-${process.pid}-[0-9a-f]{16}$`),
    )
    await slowFlush
    assert.deepEqual(await markers(), [])
  })
})
