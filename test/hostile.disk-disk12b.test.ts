// DiskStore writer markers removed behind a live writer's back (its event loop blocked past the
// lease, judged dead in another pid namespace), and dead writers' markers piling up in a directory
// that always has a live writer. Real processes in their own pid namespaces; seeded maps (printed seed).
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
