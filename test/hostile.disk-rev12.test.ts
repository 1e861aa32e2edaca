// DiskStore writer markers and collector lock between worker threads of one process (one pid, one
// start time, one pid space; each thread its own copy of the module, so its own token and lock texts).
// A thread pool writing and collecting in one directory must keep out of each other as processes do.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { Worker, type WorkerOptions } from 'node:worker_threads'
import { collectGarbage } from '../src/blocks.js'
import { isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { testSeed } from './helpers/random.js'

/** `then` (code given `module`) run on the TypeScript module `file` in a worker thread of this process, tsx's loader registered in it. */
function thread(file: string, then: string, options: WorkerOptions = {}): Worker {
  const script = new URL(file, import.meta.url).href
  const load = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}) }).then((module) => { ${then} })`
  return new Worker(load, { eval: true, ...options })
}

/** test/helpers/disk-paused-writer.ts run in a worker thread of this process; its stdout by lines. */
function writerThread(args: string[]) {
  const worker = thread('./helpers/disk-paused-writer.ts', '', {
    argv: args,
    stdin: true,
    stdout: true,
  })
  return { worker, lines: createInterface({ input: worker.stdout })[Symbol.asyncIterator]() }
}

describe('DiskStore: a writer and a collector in two threads of one process', () => {
  it('the collection is refused while the other thread flushes, and no block of its flush is lost', {
    timeout: 120_000,
  }, async () => {
    const seed = testSeed()
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-rev12-'))
    try {
      const store = await DiskStore.open(directory)
      const paused = writerThread([directory, String(seed), '200', 'pause'])
      assert.equal((await paused.lines.next()).value, `paused ${process.pid}`, `seed ${seed}`)
      const markers = (await readdir(directory)).filter((name) => name.startsWith('.ts-hamt-writing-'))
      assert.equal(markers.length, 1, `the writer thread's marker: ${markers}`)
      const collected = await collectGarbage(store, { keep: [], all: true }).then(
        (result) => result,
        (error: unknown) => error,
      )
      paused.worker.stdin?.write('go\n')
      const result = JSON.parse((await paused.lines.next()).value as string) as { missing: number }
      await paused.worker.terminate() // its stdin ended leaves the thread waiting on it
      assert.deepEqual(result, { missing: 0 }, `seed ${seed}: the writer thread's root lost entries`)
      assert.ok(isHamtError(collected), `seed ${seed}: the collection ran: ${JSON.stringify(collected)}`)
      assert.equal(collected.code, 'ERR_STORE')
      assert.match(collected.message, new RegExp(`process ${process.pid} is writing to it`))
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('DiskStore: the collector lock held by another thread of this process', () => {
  it("keeps this thread's flush out (it was taken for a dead process's: this pid, not our text)", {
    timeout: 120_000,
  }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-rev12-'))
    try {
      const store = await DiskStore.open(directory)
      const collector = thread(
        '../src/cas/disk-lock.ts',
        `const { parentPort, workerData } = require('node:worker_threads')
        module.takeLock(workerData).then((holder) => parentPort.postMessage(holder === undefined ? 'held' : 'refused'))
        parentPort.once('message', () => module.releaseLock(workerData).then(() => parentPort.close()))`,
        { workerData: join(directory, '.ts-hamt-gc') },
      )
      assert.equal(await new Promise((resolve) => collector.once('message', resolve)), 'held')
      await store.save(new TextEncoder().encode('written while another thread collects'), 'raw')
      const flushed = await store.flush().then(
        () => 'flushed',
        (error: unknown) => error,
      )
      collector.postMessage('release')
      await new Promise((resolve) => collector.once('exit', resolve))
      assert.ok(isHamtError(flushed), `the flush ran while another thread held the collector lock`)
      assert.match(flushed.message, new RegExp(`process ${process.pid} is collecting garbage`))
      await store.flush() // the lock released: the same blocks flush now
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
