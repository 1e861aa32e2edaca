// DiskStore blocks written before a flush because the write buffer filled (disk14): another
// process's collection between those writes and the flush deleted them (no root reaches them yet), and
// the flush returned a root missing them without an error. Now a store with blocks written but not
// confirmed by a flush keeps its writer marker until one does, so that collection is refused. The
// collection runs in a real child process (test/helpers/gc-child.ts).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs, { mkdtemp, readdir, rm } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, it, mock, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { LEASE_MS } from '../src/cas/disk-lock.js'
import { HAMT, type StoreId } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { assertTypedError } from './helpers/hostile.js'
import { deleteBlockFiles, ownMarkerIn } from './helpers/lost-marker.js'
import { mulberry32, testSeed } from './helpers/random.js'

/** Runs a child Node (tsx loaded) to its end: its exit code and output. */
function runChild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args])
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A collection in another process keeping `root`: its result, or the message it was refused with. */
async function collectElsewhere(
  directory: string,
  root: StoreId,
): Promise<{ removed: number } | { refused: string }> {
  // gc-child kills itself after that many deletes: never here.
  const { code, stdout, stderr } = await runChild([
    'test/helpers/gc-child.ts',
    directory,
    String(root),
    'delete',
    '1000000000',
  ])
  if (code === 0) return JSON.parse(stdout) as { removed: number }
  if (/ERR_STORE|is writing to it/.test(stderr)) return { refused: stderr }
  throw new Error(`the collecting child exited ${code}: ${stderr}`)
}

/** `count` seeded entries, each value long enough to be its own block (so a small buffer fills). */
function seededEntries(seed: number, count: number): [string, string][] {
  const random = mulberry32(seed)
  return Array.from({ length: count }, (_, i) => [
    `key ${seed} ${i}`,
    `value ${random().toString(36)} `.repeat(8),
  ])
}

async function assertEveryEntry(directory: string, root: StoreId, entries: [string, string][], seed: number) {
  const reader = await HAMT.open<string>(root, { store: await DiskStore.open(directory), readOnly: true })
  let missing = 0
  for (const [key, value] of entries) {
    const got = await reader.get(key).catch(() => undefined)
    if (got !== value) missing++
  }
  assert.equal(
    missing,
    0,
    `seed ${seed}: ${missing} of ${entries.length} entries missing from the flushed root`,
  )
}

/**
 * A map on a fresh directory (removed after the test) flushed once empty (`base`), then given 200
 * seeded entries through a 1 KiB write buffer (by default): most of its blocks written before its next flush.
 */
async function mapWrittenEarly(t: TestContext, writeBufferBytes = 1024) {
  await loadBlake3()
  const seed = testSeed()
  const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk14-'))
  t.after(() => rm(directory, { recursive: true, force: true }))
  const map = await HAMT.create<string>({ store: await DiskStore.open(directory, { writeBufferBytes }) })
  const base = await map.flush()
  const entries = seededEntries(seed, 200)
  for (const [key, value] of entries) await map.set(key, value)
  // Past the 5 ms a put's marker lingers: before, no marker said this process had blocks in flight.
  await sleep(50)
  return { seed, directory, map, base, entries }
}

describe('DiskStore: blocks written before a flush (a full write buffer)', () => {
  it("are not deleted by another process's collection before the flush: it is refused", async (t) => {
    const { seed, directory, map, base, entries } = await mapWrittenEarly(t)
    assert.ok((await ownMarkerIn(directory)) !== undefined, 'the marker stays while blocks are unconfirmed')
    const during = await collectElsewhere(directory, base)
    assert.ok('refused' in during, `seed ${seed}: the collection ran and removed ${JSON.stringify(during)}`)
    const root = await map.flush()
    await assertEveryEntry(directory, root, entries, seed)
    // The flush confirmed them: the marker is gone and another process may collect again.
    assert.equal(await ownMarkerIn(directory), undefined)
    const after = await collectElsewhere(directory, root)
    assert.ok('removed' in after, `a collection after the flush runs: ${JSON.stringify(after)}`)
    await assertEveryEntry(directory, root, entries, seed)
  })

  for (const buffer of ['1 KiB', '8 MiB'] as const) {
    it(`stay protected when another map on the store flushes first (a ${buffer} buffer: that flush writes them)`, async (t) => {
      const { seed, directory, map, entries } = await mapWrittenEarly(t, buffer === '1 KiB' ? 1024 : 8 << 20)
      const other = await HAMT.create<string>({ store: map.store })
      await other.set('other', 'map')
      const otherRoot = await other.flush()
      await sleep(50)
      const during = await collectElsewhere(directory, otherRoot)
      assert.ok('refused' in during, `seed ${seed}: the collection ran and removed ${JSON.stringify(during)}`)
      await assertEveryEntry(directory, await map.flush(), entries, seed)
      assert.equal(await ownMarkerIn(directory), undefined, 'no marker once both flushed')
    })
  }

  it("survive this process's own collection before the flush (the map's unflushed state is kept)", async (t) => {
    const { seed, directory, map, base, entries } = await mapWrittenEarly(t)
    // Through another store on the directory, as a separate part of the program would.
    const result = await collectGarbage(await DiskStore.open(directory), { keep: [base] })
    const root = await map.flush()
    await assertEveryEntry(directory, root, entries, seed)
    assert.equal(await ownMarkerIn(directory), undefined, `collection removed ${result.removed}`)
  })
})

const realUtimes = fs.utimes
afterEach(() => mock.timers.reset())

/**
 * A map on a fresh directory whose write buffer filled (blocks written before a flush), then this
 * process judged dead by another: its marker removed and every block collected (done by hand).
 */
async function earlyWritesLost(seed: number, lease: 'ticked' | 'not ticked') {
  await loadBlake3()
  const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk14-'))
  if (lease === 'ticked') mock.timers.enable({ apis: ['setInterval'] })
  const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
  const map = await HAMT.create<string>({ store })
  const entries = seededEntries(seed, 200)
  for (const [key, value] of entries) await map.set(key, value)
  await rm(join(directory, (await ownMarkerIn(directory)) as string))
  const deleted = await deleteBlockFiles(directory)
  assert.ok(deleted > 100, `seed ${seed}: only ${deleted} blocks were written before the flush`)
  if (lease === 'ticked') {
    // The lease finds the marker gone (no put running: only the unconfirmed blocks keep it).
    let touched: Promise<void> | undefined
    fs.utimes = (...args: Parameters<typeof realUtimes>) => {
      touched = realUtimes(...args)
      return touched
    }
    syncBuiltinESMExports()
    mock.timers.tick(LEASE_MS)
    fs.utimes = realUtimes
    syncBuiltinESMExports()
    assert.ok(touched !== undefined, 'the lease touched the marker')
    await touched.catch(() => {})
    await new Promise(setImmediate) // its failure handled: the loss noted
  }
  return { directory, map, entries }
}

const outcome = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )

describe('DiskStore: blocks written before a flush, its marker lost meanwhile', () => {
  for (const lease of ['not ticked', 'ticked'] as const) {
    it(`every later flush fails typed (lease ${lease}); the changes redone on the store opened again flush whole`, async (t) => {
      const seed = testSeed()
      const { directory, map, entries } = await earlyWritesLost(seed, lease)
      t.after(() => rm(directory, { recursive: true, force: true }))
      // Before: the flush wrote a fresh marker and returned a root missing the deleted blocks.
      const first = await outcome(map.flush())
      assertTypedError(first, 'ERR_STORE')
      // Found by the lease, the loss leaves no marker: the flush's own is fresh, its blocks refused at its end.
      if (lease === 'ticked')
        assert.match(String('error' in first ? first.error : first), /open the store again/)
      const retry = await outcome(map.flush())
      assertTypedError(retry, 'ERR_STORE')
      assert.match(
        String('error' in retry ? retry.error : retry),
        /open the store again/,
        `seed ${seed}: flushing again is refused too`,
      )
      mock.timers.reset()
      const again = await HAMT.create<string>({
        store: await DiskStore.open(directory, { writeBufferBytes: 1024 }),
      })
      for (const [key, value] of entries) await again.set(key, value)
      await assertEveryEntry(directory, await again.flush(), entries, seed)
      // (The failed map still has unflushed changes: while it lives this process keeps its marker.)
    })
  }
})

describe('DiskStore: a process that wrote blocks before a flush and ends without one', () => {
  it('removes its marker as it exits: another process collects at once', async (t) => {
    await loadBlake3()
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk14-'))
    t.after(() => rm(directory, { recursive: true, force: true }))
    const store = await DiskStore.open(directory)
    const base = await (await HAMT.create<string>({ store })).flush()
    const script = `
      import { HAMT } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)}
      import { DiskStore } from ${JSON.stringify(new URL('../src/node/index.ts', import.meta.url).href)}
      const store = await DiskStore.open(${JSON.stringify(directory)}, { writeBufferBytes: 1024 })
      const map = await HAMT.create({ store })
      for (const [key, value] of ${JSON.stringify(seededEntries(seed, 50))}) await map.set(key, value)
      const markers = (await import('node:fs')).readdirSync(store.directory).filter((name) => name.startsWith('.ts-hamt-writing-'))
      process.stdout.write(JSON.stringify(markers))
    `
    const { code, stdout, stderr } = await runChild(['--input-type=module', '-e', script])
    assert.equal(code, 0, stderr)
    assert.equal((JSON.parse(stdout) as string[]).length, 1, 'the child kept its marker while it lived')
    const markers = (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-'))
    assert.deepEqual(markers, [], 'the exited child left its marker')
    const result = await collectGarbage(store, { keep: [base] })
    assert.ok(result.removed > 0, `seed ${seed}: the child's blocks, in no root, are collected`)
  })
})
