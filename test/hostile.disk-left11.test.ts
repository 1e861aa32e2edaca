// A DiskStore put aborted while its block is being written: the write stops there (the rest of the
// block is not written), its temporary file is removed and no block file appears. Two processes with
// one pid (two containers' pid 1 on a shared volume, here real pid namespaces) writing the same blocks:
// one's failed put must not remove the other's temporary file. Seeded blocks (printed seed).
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DiskStore } from '../src/node/index.js'
import { untouched } from './helpers/disk-markers.js'
import { sameBlock } from './helpers/disk-same-blocks.js'
import { asPidOne, namespaces } from './helpers/pid-namespace.js'
import { testSeed } from './helpers/random.js'

/** Every file under `directory` (one level of shard folders), markers aside. */
async function filesIn(directory: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    for (const name of await readdir(join(directory, entry.name))) found.push(`${entry.name}/${name}`)
  }
  return found
}

describe('DiskStore: a put aborted while it writes', () => {
  it('stops writing, removes its temporary file and leaves no block', async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-left11-'))
    try {
      const store = await DiskStore.open(directory)
      const { cid, bytes } = await sameBlock(seed, 0)
      const controller = new AbortController()
      const PIECE = bytes.length / 8
      let handedOut = 0
      // The block arrives in pieces; the caller aborts once the first is handed to the write.
      async function* pieces(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < bytes.length; at += PIECE) {
          handedOut++
          yield bytes.subarray(at, at + PIECE)
          if (at === 0) controller.abort(new DOMException('the caller stopped', 'AbortError'))
        }
      }
      const failure = await store.blockstore
        .put(cid, pieces(), { signal: controller.signal })
        .then(() => undefined)
        .catch((error: unknown) => error as Error)
      assert.ok(failure !== undefined, `seed ${seed}: the aborted put succeeded`)
      assert.equal((failure.cause as Error | undefined)?.name, 'AbortError', `seed ${seed}: ${failure}`)
      assert.ok(handedOut < 8, `seed ${seed}: the write read all ${handedOut} pieces after the abort`)
      assert.deepEqual(await filesIn(directory), [], `seed ${seed}: left behind`)
      assert.equal(await store.hasBlock(cid), false)
      // The same put again, not aborted, writes the whole block.
      await store.blockstore.put(cid, bytes)
      assert.deepEqual(await store.getBlock(cid), bytes)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('DiskStore: two processes of the same pid putting the same blocks', {
  skip: !namespaces && 'unshare cannot make pid namespaces here',
}, () => {
  it("one's failed puts never fail the other's", async () => {
    const seed = testSeed()
    const count = 40
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-left11-'))
    try {
      await DiskStore.open(directory)
      const args = [directory, String(seed), String(count)]
      const failing = asPidOne('test/helpers/disk-aborting-puts.ts', args)
      assert.equal((await failing.lines.next()).value, 'ready 1')
      const writer = asPidOne('test/helpers/disk-same-blocks.ts', args)
      const exited = new Promise<number | null>((resolve) => writer.child.on('exit', resolve))
      assert.equal((await writer.lines.next()).value, 'ready 1', 'both processes are pid 1')
      const result = JSON.parse((await writer.lines.next()).value as string) as {
        failures: number
        first?: string
      }
      assert.equal(await exited, 0)
      failing.child.stdin.end()
      await new Promise((resolve) => failing.child.on('exit', resolve))
      assert.deepEqual(result, { failures: 0 }, `seed ${seed}`)
      const store = await DiskStore.open(directory)
      for (let i = 0; i < count; i++) {
        const { cid, bytes } = await sameBlock(seed, i)
        assert.deepEqual(await store.getBlock(cid), bytes)
      }
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe("DiskStore clean-up after a killed writer, every version's temporary file names", () => {
  it('removes them all (blockstore-fs, pid, pid and token), nothing else', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-left11-'))
    try {
      const store = await DiskStore.open(directory)
      await store.save(new TextEncoder().encode('one block'), 'raw')
      await store.flush()
      const [block] = await filesIn(directory)
      const shard = (block as string).split('/')[0] as string
      const ours = ['.CIQA.data.tmp', '.CIQA.data.77.tmp', '.CIQA.data.77.0123456789ab.tmp']
      const theirs = ['.CIQA.data.77.draft.tmp', '.CIQA.data.77.0123456789AB.tmp', '.notes.tmp']
      for (const name of [...ours, ...theirs]) await writeFile(join(directory, shard, name), 'x')
      // A marker under this process's pid with no write running here: a killed older version's, long ago.
      await writeFile(join(directory, `.ts-hamt-writing-${process.pid}`), '')
      await untouched(join(directory, `.ts-hamt-writing-${process.pid}`))
      await DiskStore.open(directory)
      assert.deepEqual(
        (await filesIn(directory)).sort(),
        [block, ...theirs.map((name) => `${shard}/${name}`)].sort(),
      )
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
