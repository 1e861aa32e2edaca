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

describe('DiskStore: a full write buffer in another process while a collection runs', () => {
  it('is refused, or its block survives the collection (not silently deleted)', async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-rev10-'))
    const writer = unbufferedWriter(directory, seed)
    try {
      const store = await DiskStore.open(directory)
      const map = await HAMT.create<number>({ store })
      await map.set('kept', 1)
      const root = (await map.flush()) as CID
      await writer.ready
      // The collection holds at its first block read (marking the kept root) until released.
      let release = (): void => {}
      const held = new Promise<void>((resolve) => (release = resolve))
      let collecting = (): void => {}
      const started = new Promise<void>((resolve) => (collecting = resolve))
      const get = store.blockstore.get.bind(store.blockstore)
      store.blockstore.get = async function* (...args: Parameters<typeof get>) {
        collecting()
        await held
        yield* get(...args)
      }
      const gc = collectGarbage(store, { keep: [root] })
      await started
      const answer = await writer.put(0)
      release()
      await gc
      const { cid } = await sameBlock(seed, 0)
      const present = await (await DiskStore.open(directory)).hasBlock(cid)
      assert.ok(
        answer.put === 'refused' || present,
        `seed ${seed}: the child's put said ${answer.put}, its block was deleted`,
      )
    } finally {
      await writer.end()
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('DiskStore: a run of unbuffered puts shares one marker', () => {
  it('a collection begun right after a put either sees the writer or is seen by its next put', async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-rev10-run-'))
    const writer = unbufferedWriter(directory, seed)
    try {
      const store = await DiskStore.open(directory)
      const map = await HAMT.create<number>({ store })
      await map.set('kept', 1)
      const root = (await map.flush()) as CID
      await writer.ready
      const get = store.blockstore.get.bind(store.blockstore)
      // Each round: a put (its marker may still linger, or be gone), a collection at once, held at its
      // first block read while the writer puts again; whichever way the timing falls, no block is lost.
      for (let round = 0; round < 6; round++) {
        assert.equal(
          (await writer.put(2 * round + 1)).put,
          'ok',
          `seed ${seed}: round ${round}: no collection ran yet`,
        )
        let release = (): void => {}
        const held = new Promise<void>((resolve) => (release = resolve))
        let collecting = (): void => {}
        const started = new Promise<void>((resolve) => (collecting = resolve))
        store.blockstore.get = async function* (...args: Parameters<typeof get>) {
          collecting()
          await held
          yield* get(...args)
        }
        const gc = collectGarbage(store, { keep: [root] })
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
        const { cid } = await sameBlock(seed, 2 * round)
        const present = await (await DiskStore.open(directory)).hasBlock(cid)
        assert.ok(
          answer.put === 'refused' || present,
          `seed ${seed}: round ${round}: the child's put said ${answer.put}, its block was deleted`,
        )
      }
    } finally {
      await writer.end()
      await rm(directory, { recursive: true, force: true })
    }
  })
})
