// revmark15: a third outside look at the DiskStore's hold of its writer marker for blocks a full
// write buffer wrote before a flush. Collections run in a real child process (test/helpers/gc-child.ts).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { blake3Hasher } from '../src/blocks.js'
import { beginWriting, endWriting, heldMarker } from '../src/cas/disk-markers.js'
import { HAMT, importCar, type StoreId } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import {
  bigEntries,
  collectElsewhere,
  freshDirectory as fresh,
  mapCar,
  mapDroppedInChild,
  pausedHalfway,
} from './helpers/early-writes.js'
import { ownMarkerIn } from './helpers/lost-marker.js'
import { testSeed } from './helpers/random.js'

const freshDirectory = (t: TestContext): Promise<string> => fresh(t, 'revmark15')

/** `count` seeded raw blocks over 1 KiB each (each fills a 1 KiB write buffer alone), with their CIDs. */
async function bigBlocks(seed: number, count: number): Promise<[CID, Uint8Array][]> {
  const encoder = new TextEncoder()
  return Promise.all(
    bigEntries(seed, 'block', count).map(async ([, value]) => {
      const bytes = encoder.encode(value)
      return [CID.createV1(raw.code, await blake3Hasher.digest(bytes)), bytes] as [CID, Uint8Array]
    }),
  )
}

describe('DiskStore: a plain putBlock while an import is under way, the import then failing', () => {
  it("keeps the marker for the put's block (written early, in no root) until the store's flush", async (t) => {
    const seed = testSeed()
    // The CAR of a map of 40 values over 1 KiB each, made in another directory.
    const parts = await mapCar(t, bigEntries(seed, 'entry', 40))
    const directory = await freshDirectory(t)
    const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
    const keep = await (await HAMT.create<string>({ store })).flush()
    // A stream (no check pass): its first half, then it fails once `fail` is called.
    let fail = () => {}
    const failed = new Promise<void>((resolve) => {
      fail = resolve
    })
    async function* stream() {
      yield* parts.slice(0, Math.floor(parts.length / 2))
      await failed
      throw new Error('the source broke')
    }
    const imported = importCar(store, stream())
    await sleep(200) // the first half put: most of it written by the full 1 KiB buffer
    // The caller's own blocks, no import's: written early by the full buffer, in no root yet.
    const blocks = await bigBlocks(seed, 3)
    for (const [cid, bytes] of blocks) await store.putBlock(cid, bytes)
    fail()
    await assert.rejects(imported, /the source broke|corrupt/)
    await sleep(50) // past a put's lingering marker
    const marker = await ownMarkerIn(directory)
    const during = await collectElsewhere(directory, keep)
    await store.flush() // resolves: the caller takes its blocks to be on disk
    const held = await Promise.all(blocks.map(([cid]) => store.hasBlock(cid)))
    assert.deepEqual(
      held,
      [true, true, true],
      `seed ${seed}: blocks put gone after the flush resolved (marker ${marker}, collection ${JSON.stringify(during)})`,
    )
    await sleep(50)
    assert.equal(await ownMarkerIn(directory), undefined, `seed ${seed}: the marker stays after the flush`)
  })
})

describe('DiskStore: a plain putBlock while a map lives, the map then collected (its store alive)', () => {
  /**
   * In a child with --expose-gc: the store stays in `kept`, a map lives only while `body` runs (its
   * body: `map`, `kept`, `blocks` [CID, bytes][] and `big` entries in scope). The markers before and
   * after the map is collected, and after a flush of the store.
   */
  async function dropInChild(directory: string, blocks: [CID, Uint8Array][], body: string) {
    return mapDroppedInChild(directory, {
      imports: "import { CID } from 'multiformats/cid'",
      setup: `
        const blocks = ${JSON.stringify(blocks.map(([cid, bytes]) => [String(cid), [...bytes]]))}.map(([cid, bytes]) => [CID.parse(cid), Uint8Array.from(bytes)])
        const big = ${JSON.stringify(bigEntries(testSeed(), 'entry', 5))}
      `,
      drop: body,
      after: 'await kept.flush()',
    })
  }

  it("keeps the marker for the put's block (written early, in no root) until the store's flush", async (t) => {
    const directory = await freshDirectory(t)
    const body = 'for (const [cid, bytes] of blocks) await kept.putBlock(cid, bytes)'
    assert.deepEqual(
      await dropInChild(directory, await bigBlocks(testSeed(), 3), body),
      { before: 1, collected: true, after: 1, flushed: 0 },
      'markers before and after the map was collected (its store alive, the blocks put in no root), and after a flush of the store',
    )
  })

  it('and for a block the caller saved itself (store.save) while the map lived', {
    // todo: a put is taken as a live writer's when one lives (the store can't tell a map's save from
    // the caller's own); the map collected settles it, so the hold goes and another process's
    // collection may delete the block before the store's flush. Writers would have to mark their saves.
    todo: "the store can't tell a map's save from its caller's",
  }, async (t) => {
    const directory = await freshDirectory(t)
    const body = "for (const [, bytes] of blocks) await kept.save(bytes, 'raw')"
    assert.deepEqual(
      await dropInChild(directory, await bigBlocks(testSeed(), 3), body),
      { before: 1, collected: true, after: 1, flushed: 0 },
      'markers before and after the map was collected (its store alive, the blocks saved in no root), and after a flush of the store',
    )
  })

  it('also for a block put while a flush of the store ran (buffered after its turn began, written early later)', async (t) => {
    const directory = await freshDirectory(t)
    const small = new TextEncoder().encode(`a block put during a flush ${testSeed()}`)
    const block: [CID, Uint8Array] = [CID.createV1(raw.code, await blake3Hasher.digest(small)), small]
    // The flush's turn took the buffer (its bytes no longer counted) when the put comes; the put's
    // block waits in the buffer until the map's big sets fill it.
    const body = `
      await map.set('small', 'change')
      const flushing = kept.flush()
      while (kept.bufferedBytes > 0) await new Promise((resolve) => setImmediate(resolve))
      await kept.putBlock(...blocks[0])
      await flushing
      for (const [key, value] of big) await map.set(key, value)
    `
    assert.deepEqual(
      await dropInChild(directory, [block], body),
      { before: 1, collected: true, after: 1, flushed: 0 },
      'markers before and after the map was collected (its store alive, the block put in no root), and after a flush of the store',
    )
  })
})

describe("DiskStore: this process's marker lost while its writers overlap (one always running)", () => {
  // A loss was cleared only by a writer beginning when none ran (the marker written afresh, the
  // collector lock read), so while writers overlapped every flush failed, also those begun after the
  // loss was found ("flush again" never helped).
  it('a flush begun after the loss was found writes the marker afresh and passes; the writer running through the loss still fails', async (t) => {
    const seed = testSeed()
    const directory = await freshDirectory(t)
    const map = await HAMT.create<string>({ store: await DiskStore.open(directory) })
    // A flush of another store runs throughout (stood in for by `beginWriting`, as DiskStore.flush calls it).
    const since = await beginWriting(directory)
    try {
      await rm(join(directory, (await ownMarkerIn(directory)) as string)) // another process judged it dead
      await map.set('first', 'change')
      const first = await outcome(map.flush()) // its blocks were written while the marker was gone
      assert.ok('error' in first, `seed ${seed}: the flush through the loss returned a root`)
      await map.set('second', 'change')
      const second = await outcome(map.flush()) // begun once the loss was found
      assert.ok(
        'value' in second,
        `seed ${seed}: a flush begun after the loss was found failed: ${'error' in second ? second.error : ''}`,
      )
      // The writer that ran through the loss still fails its end check.
      await assert.rejects(
        heldMarker(directory, since),
        (error) => (error as { code?: string }).code === 'ERR_STORE',
      )
      const reader = await HAMT.open<string>(second.value as StoreId, {
        store: await DiskStore.open(directory),
        readOnly: true,
      })
      assert.deepEqual(
        [await reader.get('first'), await reader.get('second')],
        ['change', 'change'],
        `seed ${seed}`,
      )
    } finally {
      await endWriting(directory)
    }
    await sleep(20) // past a put's lingering marker
    assert.equal(
      await ownMarkerIn(directory),
      undefined,
      `seed ${seed}: the marker stays after the writers ended`,
    )
  })
})

describe('DiskStore: a collection elsewhere refused a writer while others of this process ran', () => {
  it('a writer beginning after that collection ended reads the lock again (it inherited the refusal while writers overlapped)', async (t) => {
    const directory = await freshDirectory(t)
    // Another process holding the collector lock until told (a line on its stdin).
    const script = `
      import { takeLock, releaseLock } from ${JSON.stringify(new URL('../src/cas/disk-lock.ts', import.meta.url).href)}
      const lock = ${JSON.stringify(join(directory, '.ts-hamt-gc'))}
      process.stdout.write((await takeLock(lock)) === undefined ? 'held\\n' : 'refused\\n')
      process.stdin.once('data', async () => { await releaseLock(lock); process.stdout.write('released\\n'); process.exit(0) })
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    t.after(() => child.kill())
    const lines = createInterface({ input: child.stdout as Readable })[Symbol.asyncIterator]()
    assert.equal((await lines.next()).value, 'held')
    // A writer begins (a put, a flush) and is refused; another begins while it runs, refused too.
    const refused = await outcome(beginWriting(directory))
    assert.ok('error' in refused, 'a writer began while another process collects')
    child.stdin?.write('go\\n')
    assert.equal((await lines.next()).value, 'released')
    // The collection ended; the refused writer has not ended yet when the next begins.
    const after = await outcome(beginWriting(directory))
    await endWriting(directory)
    await endWriting(directory)
    assert.ok(
      'value' in after,
      `a writer beginning after the collection ended was refused: ${'error' in after ? after.error : ''}`,
    )
  })
})

describe("DiskStore: this process's marker lost while an import's full buffer wrote blocks early", () => {
  it('the import fails typed; its blocks no one can root, later flushes of the store pass (it lost nothing a root needs)', async (t) => {
    const seed = testSeed()
    const parts = await mapCar(t, bigEntries(seed, 'entry', 40))
    const directory = await freshDirectory(t)
    const store = await DiskStore.open(directory, { writeBufferBytes: 1024 })
    const { stream, resume } = pausedHalfway(parts)
    const imported = outcome(importCar(store, stream))
    await sleep(200) // the first half put: most of it written by the full 1 KiB buffer
    await rm(join(directory, (await ownMarkerIn(directory)) as string)) // another process judged it dead
    resume()
    const failed = await imported
    assert.ok('error' in failed, `seed ${seed}: the import through the loss returned a root`)
    assert.equal((failed.error as { code?: string }).code, 'ERR_STORE', String(failed.error))
    // A map on the same store: nothing it or anyone can root was lost.
    const map = await HAMT.create<string>({ store })
    await map.set('after', 'the import')
    const flushed = await outcome(map.flush())
    assert.ok(
      'value' in flushed,
      `seed ${seed}: the store's flush failed: ${'error' in flushed ? flushed.error : ''}`,
    )
    const reader = await HAMT.open<string>(flushed.value, {
      store: await DiskStore.open(directory),
      readOnly: true,
    })
    assert.equal(await reader.get('after'), 'the import', `seed ${seed}`)
  })
})

const outcome = <T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
