// DiskStore writer markers across pid namespaces (two containers on one volume, here real pid
// namespaces): writers that are both pid 1 keep their own markers, and a collection elsewhere sees a
// live writer by its lease, not by a pid that means nothing in its own namespace. Seeded maps (printed seed).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { collectGarbage } from '../src/blocks.js'
import { isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { storeWithLeftover } from './helpers/disk-leftover.js'
import { untouched } from './helpers/disk-markers.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { asPidOne, namespaces } from './helpers/pid-namespace.js'
import { testSeed } from './helpers/random.js'

const writer = (args: string[]) => asPidOne('test/helpers/disk-paused-writer.ts', args)

describe('DiskStore: two writers of pid 1 in their own pid namespaces, and a collection in a third', {
  skip: !namespaces && 'unshare cannot make pid namespaces here',
}, () => {
  it('the collection is refused while either writes (its marker kept fresh), and no block of a flush under way is lost', async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-leftdisk12-'))
    try {
      const store = await DiskStore.open(directory)
      const paused = writer([directory, String(seed), '200', 'pause'])
      assert.equal((await paused.lines.next()).value, 'paused 1', `seed ${seed}`)
      // The other pid 1 flushes and ends while the first is still flushing.
      const quick = writer([directory, String(seed + 1), '20', 'quick'])
      assert.equal((await quick.lines.next()).value, 'flushed 1')
      await new Promise((resolve) => quick.child.on('exit', resolve))
      const markers = (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-'))
      assert.equal(markers.length, 1, `the paused writer's marker alone: ${markers}`)
      // Its marker made stale behind its back: the writer's lease (a touch every 10 s) renews it.
      const marker = join(directory, markers[0] as string)
      await untouched(marker)
      for (let waited = 0; (await stat(marker)).mtimeMs < Date.now() - 60_000; waited++) {
        assert.ok(waited < 600, 'the writer never touched its marker in 60 s')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const collected = await collectGarbage(store, { keep: [], all: true }).then(
        (result) => result,
        (error: unknown) => error,
      )
      paused.child.stdin.write('go\n')
      const result = JSON.parse((await paused.lines.next()).value as string) as { missing: number }
      await new Promise((resolve) => paused.child.on('exit', resolve))
      assert.deepEqual(result, { missing: 0 }, `seed ${seed}: the paused writer's root lost entries`)
      assert.ok(isHamtError(collected), `seed ${seed}: the collection ran: ${JSON.stringify(collected)}`)
      assert.equal(collected.code, 'ERR_STORE')
      assert.match(collected.message, /process 1 is writing to it/)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

/** A pid that was alive and is not now. */
const deadPid = Number(
  spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
)
/** A kernel and pid namespace no process here counts pids in. */
const ELSEWHERE = '00000000-0000-0000-0000-000000000000/1'
const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )

describe('writer markers judged by lease', () => {
  it("another pid space's marker is its writer's while fresh, whatever its pid is here", async () => {
    const { directory, leftover } = await storeWithLeftover(
      await mkdtemp(join(tmpdir(), 'ts-hamt-leftdisk12-')),
    )
    try {
      // Pid 1, this process's pid, a dead pid: none of them says anything about a writer elsewhere.
      for (const pid of [1, process.pid, deadPid]) {
        const marker = join(directory, `.ts-hamt-writing-${pid}-0123456789abcdef`)
        await writeFile(marker, `${pid} 1 0123456789abcdef ${ELSEWHERE}\n`)
        const store = await DiskStore.open(directory)
        assert.equal(await exists(leftover), true, `pid ${pid}: a live writer's temporary file was removed`)
        await assert.rejects(
          collectGarbage(store, { keep: [], all: true }),
          new RegExp(`process ${pid} is writing`),
        )
        await untouched(marker) // its writer stopped touching it long ago
        await DiskStore.open(directory)
        assert.equal(await exists(leftover), false, `pid ${pid}: a stale marker kept the clean-up out`)
        assert.deepEqual(
          await readdir(directory).then((names) => names.filter((n) => n.startsWith('.ts-hamt-w'))),
          [],
        )
        await writeFile(leftover, 'x')
      }
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it("an older version's marker (a pid alone) of a dead pid is its writer's while fresh (it may be another container's)", async () => {
    const { directory, leftover } = await storeWithLeftover(
      await mkdtemp(join(tmpdir(), 'ts-hamt-leftdisk12-')),
    )
    try {
      const marker = join(directory, `.ts-hamt-writing-${deadPid}`)
      await writeFile(marker, '')
      const store = await DiskStore.open(directory)
      assert.equal(await exists(leftover), true)
      await assert.rejects(
        collectGarbage(store, { keep: [], all: true }),
        new RegExp(`process ${deadPid} is writing`),
      )
      await untouched(marker)
      await collectGarbage(store, { keep: [], all: true })
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('a marker dated far ahead counts as live once, pulled back to now: it goes stale, not never', async () => {
    const { directory } = await storeWithLeftover(await mkdtemp(join(tmpdir(), 'ts-hamt-leftdisk12-')))
    try {
      const marker = join(directory, `.ts-hamt-writing-${deadPid}-0123456789abcdef`)
      await writeFile(marker, `${deadPid} 1 0123456789abcdef ${ELSEWHERE}\n`)
      const year3000 = new Date('3000-01-01T00:00:00Z')
      await utimes(marker, year3000, year3000)
      const store = await DiskStore.open(directory)
      await assert.rejects(collectGarbage(store, { keep: [], all: true }), /is writing/)
      const { mtimeMs } = await stat(marker)
      assert.ok(Math.abs(mtimeMs - Date.now()) < 3_600_000, `still dated ${new Date(mtimeMs).toISOString()}`)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('a directory full of fresh markers (their writers may live): a collection judges them all and is refused by a typed error, open leaves them, both within budget', async () => {
    const { directory, leftover } = await storeWithLeftover(
      await mkdtemp(join(tmpdir(), 'ts-hamt-leftdisk12-')),
    )
    try {
      for (let i = 0; i < 1100; i++)
        await writeFile(
          join(directory, `.ts-hamt-writing-${deadPid}-${i.toString(16).padStart(16, '0')}`),
          '',
        )
      const opened = await withinBudget('open among 1100 markers', () => DiskStore.open(directory))
      assert.ok(opened.error === undefined, String(opened.error))
      assert.equal(await exists(leftover), true)
      const collected = await withinBudget('collect among 1100 markers', () =>
        collectGarbage(opened.value as DiskStore, { keep: [], all: true }),
      )
      assertTypedError(collected, 'ERR_STORE')
      assert.match(String((collected.error as Error).message), new RegExp(`process ${deadPid} is writing`))
      assert.equal((await readdir(directory)).filter((n) => n.startsWith('.ts-hamt-w')).length, 1100)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('the collector lock judged by lease', () => {
  it('a collector in another pid space keeps writers out while its lock is fresh, whatever its pid is here', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-leftdisk12-'))
    try {
      const store = await DiskStore.open(directory)
      const lock = join(directory, '.ts-hamt-gc')
      for (const pid of [1, process.pid, deadPid]) {
        await writeFile(lock, `${pid} 1 0123456789abcdef ${ELSEWHERE}\n`)
        await store.save(new TextEncoder().encode(`written while ${pid} collects`), 'raw')
        await assert.rejects(store.flush(), new RegExp(`process ${pid} is collecting garbage`))
        await untouched(lock)
        await store.flush()
      }
      await collectGarbage(store, { keep: [], all: true }) // the stale lock taken over
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
