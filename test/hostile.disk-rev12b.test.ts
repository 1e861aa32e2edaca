// Review of the disk writer-marker lease (disk12b): a flush whose marker another process removed
// (its event loop blocked past the lease, judged dead in another pid namespace) after the flush's
// last block write was checked. Real processes in their own pid namespaces; a seeded map (printed seed).
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { collectGarbage } from '../src/blocks.js'
import { DiskStore } from '../src/node/index.js'
import { asPidOne, namespaces } from './helpers/pid-namespace.js'
import { testSeed } from './helpers/random.js'

const writer = (args: string[]) => asPidOne('test/helpers/disk-paused-writer.ts', args)
const markersIn = async (directory: string): Promise<string[]> =>
  (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-'))

describe('DiskStore: a writer whose marker is removed after its last block write', {
  skip: !namespaces && 'unshare cannot make pid namespaces here',
}, () => {
  it('its flush fails with a typed error, not a root missing the blocks a collection deleted meanwhile', {
    timeout: 120_000,
  }, async () => {
    const seed = testSeed()
    const counted = await mkdtemp(join(tmpdir(), 'ts-hamt-rev12b-'))
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-rev12b-'))
    try {
      // The same seeded map flushed once to count its block writes: the writer below holds after the last.
      const counter = writer([counted, String(seed), '200', 'count'])
      const line = String((await counter.lines.next()).value)
      await new Promise((resolve) => counter.child.on('exit', resolve))
      const puts = Number(/^puts (\d+)$/.exec(line)?.[1])
      assert.ok(puts > 3, `seed ${seed}: ${line}`)
      const paused = writer([directory, String(seed), '200', 'block', String(puts)])
      assert.equal((await paused.lines.next()).value, 'paused 1', `seed ${seed}`)
      const [marker] = await markersIn(directory)
      assert.ok(marker !== undefined, 'the blocked writer, its flush not ended, has a marker')
      // As another pid space's collection removes it once the lease ran out (see hostile.disk-disk12b).
      await rm(join(directory, marker))
      const store = await DiskStore.open(directory)
      const { removed } = await collectGarbage(store, { keep: [], all: true })
      assert.ok(removed > 0, `seed ${seed}: the collection deleted the blocks written so far`)
      paused.child.stdin.write('go\n')
      const result = JSON.parse((await paused.lines.next()).value as string) as Record<string, unknown>
      await new Promise((resolve) => paused.child.on('exit', resolve))
      assert.equal(result.error, 'ERR_STORE', `seed ${seed}: the writer's flush: ${JSON.stringify(result)}`)
    } finally {
      await rm(counted, { recursive: true, force: true })
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('DiskStore: flushing again after the lost-marker error', {
  skip: !namespaces && 'unshare cannot make pid namespaces here',
}, () => {
  it('the second flush gives a root with every entry (the blocks the collection deleted written again)', {
    timeout: 120_000,
    // The buffer keeps a flush's blocks until its end finds the marker held (disk13): before, those
    // written before the loss had left it, and the map keeps no value bytes (14 of 200 missing).
  }, async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-rev12b-'))
    try {
      const paused = writer([directory, String(seed), '200', 'retry'])
      assert.equal((await paused.lines.next()).value, 'paused 1', `seed ${seed}`)
      const [marker] = await markersIn(directory)
      assert.ok(marker !== undefined, 'the blocked writer has a marker')
      await rm(join(directory, marker))
      const store = await DiskStore.open(directory)
      const { removed } = await collectGarbage(store, { keep: [], all: true })
      assert.ok(removed > 0, `seed ${seed}: the collection deleted the blocks written so far`)
      paused.child.stdin.write('go\n')
      const failed = JSON.parse((await paused.lines.next()).value as string) as Record<string, unknown>
      assert.equal(failed.error, 'ERR_STORE', `seed ${seed}: the first flush: ${JSON.stringify(failed)}`)
      const again = JSON.parse((await paused.lines.next()).value as string) as unknown
      await new Promise((resolve) => paused.child.on('exit', resolve))
      assert.deepEqual(again, { missing: 0 }, `seed ${seed}: the root of the flush made again`)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
