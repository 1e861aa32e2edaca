// Review 5 of the disk store: a writer marker names its process by pid, start time and token (as the
// collector lock does, `disk-lock.ts`), so a marker whose pid the system handed to another process
// is a dead writer's: its leftovers are cleaned up and garbage collection is not refused for it.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { collectGarbage } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { processStart } from '../src/util/partial-files.js'
import { storeWithLeftover } from './helpers/disk-leftover.js'
import { currentMarker } from './helpers/disk-markers.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-disk-review5-'))
after(() => rm(scratch, { recursive: true, force: true }))
const linux = (await processStart(process.pid)) !== undefined

/** A live process other than this one, its real start time, and a way to stop it. */
async function liveProcess(): Promise<{ pid: number; start: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'])
  const pid = child.pid as number
  const start = await processStart(pid)
  assert.ok(start !== undefined)
  return { pid, start, stop: () => child.kill() }
}

const exists = (path: string): Promise<boolean> =>
  readFile(path).then(
    () => true,
    () => false,
  )

describe('writer markers name their process as the collector lock does', {
  skip: !linux && 'no /proc',
}, () => {
  it('a marker whose pid now belongs to another process is a dead writer’s (open cleans up)', async (t) => {
    const other = await liveProcess()
    t.after(other.stop)
    const { directory, leftover } = await storeWithLeftover(join(scratch, 'reused-pid'))
    // The writer that made this marker had the pid the live process has now, and another start time.
    const { name, text } = await currentMarker(other.pid, 1)
    await writeFile(join(directory, name), text)
    await DiskStore.open(directory)
    assert.equal(await exists(leftover), false, 'the killed writer’s temporary file is removed')
    assert.deepEqual(
      (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-')),
      [],
    )
  })

  it('the same marker with the live process’s own start time is a live writer’s (nothing removed)', async (t) => {
    const other = await liveProcess()
    t.after(other.stop)
    const { directory, leftover } = await storeWithLeftover(join(scratch, 'live-pid'))
    const { name, text } = await currentMarker(other.pid, other.start)
    await writeFile(join(directory, name), text)
    await DiskStore.open(directory)
    assert.equal(await exists(leftover), true)
  })

  it('garbage collection is not refused for a reused pid’s marker, and is for a live one', async (t) => {
    const other = await liveProcess()
    t.after(other.stop)
    const directory = join(scratch, 'gc')
    const store = await DiskStore.open(directory)
    const map = await HAMT.create({ store })
    await map.set('a', 1)
    const root = await map.flush()
    const reused = await currentMarker(other.pid, 1)
    const marker = join(directory, reused.name)
    await writeFile(marker, reused.text)
    await collectGarbage(store, { keep: [root] })
    await writeFile(marker, (await currentMarker(other.pid, other.start)).text)
    await assert.rejects(
      collectGarbage(store, { keep: [root] }),
      new RegExp(`process ${other.pid} is writing`),
    )
  })

  it('a flush writes its marker as `<pid> <start> <token> <space>`, named by its pid and a token', async () => {
    const directory = join(scratch, 'marker-text')
    const store = await DiskStore.open(directory)
    for (let i = 0; i < 2000; i++) await store.save(Uint8Array.of(i & 255, i >> 8, 7), 'raw')
    const flushing = store.flush()
    // blockstore-fs writes the blocks one file at a time: the marker is there meanwhile.
    let text: string | undefined
    for (let tries = 0; tries < 1000 && text === undefined; tries++) {
      const name = (await readdir(directory)).find((entry) => entry.startsWith('.ts-hamt-writing-'))
      assert.match(
        name ?? `.ts-hamt-writing-${process.pid}-0000000000000000`,
        new RegExp(`^\\.ts-hamt-writing-${process.pid}-[0-9a-f]{16}$`),
      )
      text = name && (await readFile(join(directory, name), 'utf8').catch(() => undefined))
      if (text === undefined) await new Promise((resolve) => setImmediate(resolve))
    }
    await flushing
    assert.match(
      text ?? '',
      new RegExp(`^${process.pid} ${await processStart(process.pid)} [0-9a-f]{16} [0-9a-f-]{36}/\\d+\\n$`),
    )
  })
})

describe('a flush that failed in a process still running', { skip: !linux && 'no /proc' }, () => {
  it('does not keep other processes’ garbage collection out (nothing of it is writing)', async (t) => {
    const directory = join(scratch, 'failed-flush')
    const store = await DiskStore.open(directory)
    const map = await HAMT.create({ store })
    await map.set('kept', 1)
    const root = await map.flush()
    // A child whose flush fails (its block's shard folder is a file), then stays alive.
    const script = `
      import { existsSync } from 'node:fs'
      import { writeFile } from 'node:fs/promises'
      import { join } from 'node:path'
      import { DiskStore } from ${JSON.stringify(new URL('../src/node/index.ts', import.meta.url).href)}
      const store = await DiskStore.open(${JSON.stringify(directory)})
      // A block whose shard folder the parent's blocks did not make (1 in ~30 runs they had).
      let dir
      for (let i = 0; dir === undefined || existsSync(join(store.directory, dir)); i++) {
        const cid = await store.save(new TextEncoder().encode('child ${process.pid} ' + i), 'raw')
        dir = store.blockstore.shardingStrategy.encode(cid).dir
      }
      await writeFile(join(store.directory, dir), 'not a folder')
      const failed = await store.flush().then(() => 'flushed', (error) => error.code)
      process.stdout.write(failed + '\\n')
      setTimeout(() => {}, 60_000)
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    t.after(() => child.kill('SIGKILL'))
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += String(chunk)
    })
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(String(chunk).trim()))
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)))
    })
    assert.equal(line, 'ERR_STORE')
    const outcome = await collectGarbage(store, { keep: [root] }).catch((error: unknown) => error)
    assert.ok(!(outcome instanceof Error), String(outcome))
  })
})

describe('a block file that is not a file (a stranger’s directory)', () => {
  it('a block file linked to /dev/zero or made a FIFO is a StoreError, not an endless read or wait', {
    skip: !linux && 'no /dev/zero',
  }, async () => {
    const directory = join(scratch, 'dev-zero')
    const store = await DiskStore.open(directory)
    const cid = await store.save(new TextEncoder().encode(`a block ${process.pid}`), 'raw')
    await store.flush()
    const { dir, file } = (
      store.blockstore as unknown as {
        shardingStrategy: { encode(c: unknown): { dir: string; file: string } }
      }
    ).shardingStrategy.encode(cid)
    const path = join(directory, dir, file)
    const reopened = await DiskStore.open(directory)
    await rm(path)
    await symlink('/dev/zero', path)
    assertTypedError(await withinBudget('/dev/zero', () => reopened.load(cid)), 'ERR_STORE')
    // A FIFO no one writes to: opening it to read would wait for a writer for ever.
    await rm(path)
    execFileSync('mkfifo', [path])
    assertTypedError(await withinBudget('FIFO', () => reopened.load(cid)), 'ERR_STORE')
    await rm(path)
    assertTypedError(await withinBudget('missing', () => reopened.load(cid)), 'ERR_BLOCK_NOT_FOUND')
  })
})
