// A DiskStore writes its buffered blocks when the buffer fills, not only on `flush()`: those writes
// must keep to the directory's rules between processes as a flush does (README: other processes
// cannot flush while a collection runs). Real processes; blocks from a printed seed.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { sameBlock } from './helpers/disk-same-blocks.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()

/** A child writing blocks with no write buffer; `put(i)` resolves with its answer. */
function unbufferedWriter(directory: string, seed: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/disk-unbuffered-writer.ts', directory, String(seed)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async () =>
    JSON.parse((await lines.next()).value as string) as { put?: string; message?: string }
  return {
    ready: next(),
    put: (i: number) => {
      child.stdin.write(`put ${i}\n`)
      return next()
    },
    end: () => {
      child.stdin.end()
      return new Promise((resolve) => child.once('exit', resolve))
    },
  }
}

/** A store with one kept root and a child writer on its directory; `done` ends both. */
async function withWriter(seed: number, name: string) {
  const directory = await mkdtemp(join(tmpdir(), `ts-hamt-rev10-${name}-`))
  const writer = unbufferedWriter(directory, seed)
  const store = await DiskStore.open(directory)
  const map = await HAMT.create<number>({ store })
  await map.set('kept', 1)
  const root = (await map.flush()) as CID
  await writer.ready
  const get = store.blockstore.get.bind(store.blockstore)
  return {
    directory,
    writer,
    /** A collection keeping the root, held at its first block read (marking the root) until released. */
    heldCollection() {
      let release = (): void => {}
      const held = new Promise<void>((resolve) => (release = resolve))
      let collecting = (): void => {}
      const started = new Promise<void>((resolve) => (collecting = resolve))
      store.blockstore.get = async function* (...args: Parameters<typeof get>) {
        collecting()
        await held
        yield* get(...args)
      }
      return { gc: collectGarbage(store, { keep: [root] }), started, release }
    },
    /** Whether block `i` of the seed is on disk. */
    present: async (i: number) => (await DiskStore.open(directory)).hasBlock((await sameBlock(seed, i)).cid),
    done: async () => {
      await writer.end()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

describe('DiskStore: a full write buffer in another process while a collection runs', () => {
  it('is refused, or its block survives the collection (not silently deleted)', async () => {
    const seed = testSeed()
    const { writer, heldCollection, present, done } = await withWriter(seed, 'put')
    try {
      const { gc, started, release } = heldCollection()
      await started
      const answer = await writer.put(0)
      release()
      await gc
      assert.ok(
        answer.put === 'refused' || (await present(0)),
        `seed ${seed}: the child's put said ${answer.put}, its block was deleted`,
      )
    } finally {
      await done()
    }
  })
})

describe('DiskStore: a run of unbuffered puts shares one marker', () => {
  it('a collection begun right after a put either sees the writer or is seen by its next put', async () => {
    const seed = testSeed()
    const { writer, heldCollection, present, done } = await withWriter(seed, 'run')
    try {
      // Each round: a put (its marker may still linger, or be gone), a collection at once, held at its
      // first block read while the writer puts again; whichever way the timing falls, no block is lost.
      for (let round = 0; round < 6; round++) {
        const before = await writer.put(2 * round + 1)
        assert.equal(before.put, 'ok', `seed ${seed}: round ${round}: no collection ran yet`)
        const { gc, started, release } = heldCollection()
        const refused = gc.then(
          () => false,
          (error: unknown) => /process \d+ is writing to it/.test(String((error as Error)?.message)),
        )
        const first = await Promise.race([started.then(() => 'started' as const), refused])
        if (first !== 'started') {
          assert.equal(first, true, `seed ${seed}: round ${round}: the collection failed otherwise`)
          continue // the lingering marker was seen
        }
        const answer = await writer.put(2 * round)
        release()
        await gc
        assert.ok(
          answer.put === 'refused' || (await present(2 * round)),
          `seed ${seed}: round ${round}: the child's put said ${answer.put}, its block was deleted`,
        )
      }
    } finally {
      await done()
    }
  })
})
