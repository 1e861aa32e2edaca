// DiskStore writer markers removed behind a live writer's back (its event loop blocked past the
// lease, judged dead in another pid namespace), and dead writers' markers piling up in a directory
// that always has a live writer. Real processes in their own pid namespaces; seeded maps (printed seed).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { collectGarbage } from '../src/blocks.js'
import { pidSpace } from '../src/cas/disk-lock.js'
import { DiskStore } from '../src/node/index.js'
import { untouched } from './helpers/disk-markers.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { asPidOne, namespaces } from './helpers/pid-namespace.js'
import { testSeed } from './helpers/random.js'

const writer = (args: string[]) => asPidOne('test/helpers/disk-paused-writer.ts', args)
/** A pid that was alive and is not now. */
const deadPid = Number(
  spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
)
const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )
const markersIn = async (directory: string): Promise<string[]> =>
  (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-'))

describe('DiskStore: a live writer whose marker another process removed', {
  skip: !namespaces && 'unshare cannot make pid namespaces here',
}, () => {
  it('its flush fails with a typed error, not a root missing blocks a collection deleted meanwhile', {
    timeout: 120_000,
  }, async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk12b-'))
    try {
      const paused = writer([directory, String(seed), '200', 'block'])
      assert.equal((await paused.lines.next()).value, 'paused 1', `seed ${seed}`)
      const [marker] = await markersIn(directory)
      assert.ok(marker !== undefined, 'the paused writer has a marker')
      // Its event loop blocked: as an `open` in another pid space removes it once the lease ran out (its
      // temporary files left alone here: a put failing on one would hide what is tested).
      await rm(join(directory, marker))
      const store = await DiskStore.open(directory)
      const { removed } = await collectGarbage(store, { keep: [], all: true })
      assert.ok(removed > 0, `seed ${seed}: the collection deleted the blocks written so far`)
      paused.child.stdin.write('go\n')
      const result = JSON.parse((await paused.lines.next()).value as string) as {
        error?: string
        message?: string
      }
      await new Promise((resolve) => paused.child.on('exit', resolve))
      assert.equal(result.error, 'ERR_STORE', `seed ${seed}: the writer's flush: ${JSON.stringify(result)}`)
      assert.match(String(result.message), /writer marker was removed while it wrote/)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('DiskStore: dead writers’ markers among live writers', {
  skip: !namespaces && 'unshare cannot make pid namespaces here',
}, () => {
  it('a collection removes 1100 dead writers’ markers and temporary files while one writes, then proceeds once it ends', {
    timeout: 120_000,
  }, async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-disk12b-'))
    try {
      const store = await DiskStore.open(directory)
      const paused = writer([directory, String(seed), '200', 'pause'])
      assert.equal((await paused.lines.next()).value, 'paused 1', `seed ${seed}`)
      const [live] = await markersIn(directory)
      assert.ok(live !== undefined, 'the live writer has a marker')
      const shard = (await readdir(directory, { withFileTypes: true })).find((e) => e.isDirectory())?.name
      assert.ok(shard !== undefined)
      const space = (await pidSpace()) ?? '-'
      const token = (i: number) => `d12b${i.toString(16).padStart(12, '0')}`
      for (let i = 0; i < 1100; i++) {
        const marker = join(directory, `.ts-hamt-writing-${deadPid}-${token(i)}`)
        await writeFile(marker, `${deadPid} 1 ${token(i)} ${space}\n`)
        await untouched(marker)
      }
      const theirs = join(directory, shard, `.CIQDEAD.data.${deadPid}.${token(7)}.tmp`)
      // No marker names this token: whose it is is not known, so it is kept.
      const unknown = join(directory, shard, `.CIQUNKNOWN.data.${deadPid}.ffffffffffffffff.tmp`)
      for (const file of [theirs, unknown]) await writeFile(file, 'x')
      const refused = await withinBudget('collect among 1100 dead markers', () =>
        collectGarbage(store, { keep: [], all: true }),
      )
      assertTypedError(refused, 'ERR_STORE')
      assert.match(String((refused.error as Error).message), /process 1 is writing to it/)
      assert.deepEqual(await markersIn(directory), [live], 'the dead markers are gone, the live one kept')
      assert.equal(await exists(theirs), false, "a dead writer's temporary file was kept")
      assert.equal(await exists(unknown), true, 'a temporary file of no known writer was removed')
      paused.child.stdin.write('go\n')
      const result = JSON.parse((await paused.lines.next()).value as string) as unknown
      await new Promise((resolve) => paused.child.on('exit', resolve))
      assert.deepEqual(result, { missing: 0 }, `seed ${seed}: the live writer's root lost entries`)
      const { removed } = await collectGarbage(store, { keep: [], all: true })
      assert.ok(removed > 0, 'the collection ran once the writer ended')
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
