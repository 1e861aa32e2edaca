// A garbage collection SIGKILLed at random points of its sweep (and of its mark) leaves every
// block the kept roots reach on disk and whole, and a second run finishes the job. The kill points
// come from a printed seed (replay with TS_HAMT_SEED).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { DiskStore } from '../src/node/index.js'
import { blockFiles, reachable, writeVersions } from './helpers/gc-store.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-crash-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** Runs a collection in a child that kills itself after `killAfter` deletes or reads; returns its signal. */
async function collectUntilKilled(
  directory: string,
  keep: CID[],
  mode: 'delete' | 'read',
  killAfter: number,
): Promise<NodeJS.Signals | null> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/gc-child.ts', directory, keep.join(','), mode, String(killAfter)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_, signal) => resolve(signal)),
  )
  clearTimeout(guard)
  return signal
}

describe('a garbage collection killed at random points', () => {
  it('leaves every kept root whole, and a rerun completes', async () => {
    const template = join(scratch, 'template')
    const store = await DiskStore.open(template)
    const { maps, datasets } = await writeVersions(store)
    const keep = [maps[1] as CID, datasets[2] as CID]
    const reach = await reachable(store, keep)
    const all = await blockFiles(template)
    // A dry run counts the reads of the mark (the blocks that can link; raw ones are only looked up).
    let reads = 0
    const get = store.blockstore.get.bind(store.blockstore)
    store.blockstore.get = (...args: Parameters<typeof get>) => {
      reads++
      return get(...args)
    }
    const { removed } = await collectGarbage(store, { keep, dryRun: true })
    assert.equal(removed, all.size - reach.size)
    const next = mulberry32(seed)
    for (let run = 0; run < 12; run++) {
      const mode = run % 4 === 3 ? 'read' : 'delete'
      // Deletes: anywhere in the sweep; reads: anywhere in the mark.
      const killAfter = 1 + Math.floor(next() * ((mode === 'delete' ? removed : reads) - 1))
      const directory = join(scratch, `run-${run}`)
      await cp(template, directory, { recursive: true })
      const signal = await collectUntilKilled(directory, keep, mode, killAfter)
      const where = `run ${run}: killed after ${mode} ${killAfter} (seed ${seed})`
      assert.equal(signal, 'SIGKILL', `${where}: the collection was to be killed, it ended`)

      const left = await blockFiles(directory) // every file read and checked against its name
      // Deletes run a few at a time: at least `killAfter` were done when it died.
      if (mode === 'delete') assert.ok(left.size <= all.size - killAfter && left.size >= reach.size, where)
      else assert.equal(left.size, all.size, where)
      for (const hash of reach) assert.ok(left.has(hash), `${where}: kept block ${hash} is gone`)
      const reopened = await DiskStore.open(directory)
      assert.equal((await reachable(reopened, keep)).size, reach.size, where)

      const rerun = await collectGarbage(reopened, { keep })
      assert.equal(rerun.removed, left.size - reach.size, where)
      assert.deepEqual([...(await blockFiles(directory))].sort(), [...reach].sort(), where)
      await rm(directory, { recursive: true, force: true })
    }
  })
})
