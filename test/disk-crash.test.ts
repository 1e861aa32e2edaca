// A writer process is SIGKILLed in the middle of flushing to a DiskStore; the store must open
// afterwards, the last root that flush returned must read in full, and every block file present
// must be whole (a block is written to a temporary file and renamed into place).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { base32upper } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { loadBlake3 } from '../src/blocks.js'
import { verifyBlock } from '../src/cas/verify.js'
import { exportCar, HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { crashBatchEntries } from './helpers/crash-model.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-crash-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** Runs the writer until it kills itself after `killAfterPuts` block writes; returns its last flushed root. */
async function writeUntilKilled(
  directory: string,
  killAfterPuts: number,
): Promise<{ lastRoot: string | undefined; batches: number; putsFlushed: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/disk-writer.ts', directory, String(killAfterPuts)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_, signal) => resolve(signal)),
  )
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000)
  let lastRoot: string | undefined
  let batches = 0
  let putsFlushed = 0
  for await (const line of createInterface({ input: child.stdout })) {
    const message = JSON.parse(line) as { batch: number; root: string; puts: number }
    lastRoot = message.root
    batches = message.batch + 1
    putsFlushed = message.puts
  }
  const signal = await exited
  clearTimeout(guard)
  assert.equal(signal, 'SIGKILL', 'the writer killed itself mid-flush, it did not finish')
  return { lastRoot, batches, putsFlushed }
}

describe('DiskStore survives a writer killed mid-flush', () => {
  // Kill points inside the flushes of different batches (a batch writes ~300 to ~320 blocks).
  for (const killAfterPuts of [700, 1150, 1999]) {
    it(`killed right after its block write number ${killAfterPuts}`, async () => {
      const directory = join(scratch, `kill-${killAfterPuts}`)
      const { lastRoot, batches, putsFlushed } = await writeUntilKilled(directory, killAfterPuts)
      assert.ok(lastRoot !== undefined && batches > 0, 'some flushes completed before the kill')
      assert.ok(putsFlushed < killAfterPuts, 'the kill came after the last completed flush')

      const store = await DiskStore.open(directory)
      const map = await HAMT.open<unknown>(CID.parse(lastRoot), { store, readOnly: true })
      assert.deepEqual((await map.verify()).problems, [])
      // The last completed flush holds every entry of batches 0..batches-1, and nothing after.
      let expectedSize = 0
      for (let batch = 0; batch < batches; batch++) {
        for (const [key, value] of crashBatchEntries(batch)) {
          assert.deepEqual(await map.get(key), value, key)
          expectedSize++
        }
      }
      assert.equal(await map.size(), expectedSize)
      assert.equal(await map.get(`b${batches}-k0`), undefined, 'nothing of the killed batch is reachable')

      // The killed flush did write blocks (more files than the last root reaches), and every
      // block file on disk is whole. (Listed by hand: blockstore-fs's getAll decodes its
      // multihash file names as CIDs and fails.)
      let reachable = 0
      for await (const _ of exportCar(store, CID.parse(lastRoot))) reachable++
      let files = 0
      for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith('.data')) continue
        const multihash = Digest.decode(base32upper.decode(entry.name.slice(0, -5)))
        const bytes = await readFile(join(entry.parentPath, entry.name))
        await verifyBlock(CID.createV1(0x55, multihash), bytes, entry.name)
        files++
      }
      assert.ok(files > reachable - 1, `${files} block files, ${reachable - 1} reachable from the last root`)

      // …and the store takes new writes: the map carries on from the last root.
      const writable = await HAMT.open<unknown>(CID.parse(lastRoot), { store, readOnly: false })
      await writable.set('after the crash', true)
      const next = await writable.flush()
      const reread = await HAMT.open<unknown>(next, {
        store: await DiskStore.open(directory),
        readOnly: true,
      })
      assert.equal(await reread.get('after the crash'), true)
      assert.equal(await reread.size(), expectedSize + 1)
    })
  }
})
