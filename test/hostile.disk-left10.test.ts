// Two processes writing the same blocks into one DiskStore directory: a put of one that fails (here
// aborted) must not remove or cut short the other's temporary file, failing a write that should
// succeed. Real processes, seeded blocks (printed seed).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DiskStore } from '../src/node/index.js'
import { sameBlock } from './helpers/disk-same-blocks.js'
import { testSeed } from './helpers/random.js'

const COUNT = 40
/** Not a speed limit: the child writes its blocks in seconds; past this it hangs. */
const HANG_MS = 120_000

describe('DiskStore: two processes putting the same blocks', () => {
  it("a failed put in one never fails the other's put of the same block", async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-left10-'))
    try {
      const store = await DiskStore.open(directory)
      const blocks = await Promise.all(Array.from({ length: COUNT }, (_, i) => sameBlock(seed, i)))
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/helpers/disk-same-blocks.ts', directory, String(seed), String(COUNT)],
        // The hang bound: both wait loops below end when the child exits, so a child that hangs is
        // killed and the test fails on its exit code instead of hanging.
        { timeout: HANG_MS },
      )
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk))
      child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk))
      const exited = new Promise<string>((resolve) =>
        child.on('exit', (code, signal) => resolve(signal === null ? `code ${code}` : `killed by ${signal}`)),
      )
      let done = false
      void exited.then(() => (done = true))
      while (!out.includes('ready') && !done) await new Promise((resolve) => setTimeout(resolve, 5))
      // This process's puts of the same blocks fail (aborted) over and over while the child writes.
      const aborted = { signal: AbortSignal.abort() }
      while (!done) {
        await Promise.all(
          blocks.map(({ cid, bytes }) => store.blockstore.put(cid, bytes, aborted).catch(() => {})),
        )
        await new Promise((resolve) => setImmediate(resolve))
      }
      assert.equal(await exited, 'code 0', `the child (killed after ${HANG_MS} ms if it hangs)`)
      const result = JSON.parse(out.trim().split('\n').at(-1) as string) as {
        failures: number
        first?: string
      }
      assert.deepEqual(result, { failures: 0 }, `seed ${seed}`)
      for (const { cid, bytes } of blocks) assert.deepEqual(await store.getBlock(cid), bytes)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('two stores of one process putting the same blocks at once, some puts failing: the others all succeed', async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-left10-'))
    try {
      const [one, two] = [await DiskStore.open(directory), await DiskStore.open(directory)]
      const blocks = await Promise.all(Array.from({ length: 8 }, (_, i) => sameBlock(seed, i)))
      const aborted = { signal: AbortSignal.abort() }
      const results = await Promise.allSettled(
        blocks.flatMap(({ cid, bytes }) => [
          one.blockstore.put(cid, bytes),
          two.blockstore.put(cid, bytes, aborted).catch(() => cid),
          two.blockstore.put(cid, bytes),
        ]),
      )
      assert.deepEqual(
        results.filter((result) => result.status === 'rejected'),
        [],
        `seed ${seed}`,
      )
      for (const { cid, bytes } of blocks) assert.deepEqual(await two.getBlock(cid), bytes)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
