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
import { verifyBlock } from '../src/cas/verify.js'
import { HAMT, loadBlake3 } from '../src/index.js'
import { DiskStore } from '../src/node.js'
import { crashBatchEntries } from './helpers/crash-model.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-crash-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** Runs the writer until it has started flushing batch `killAt`, waits `delayMs`, then SIGKILLs it. */
async function writeUntilKilled(
  directory: string,
  killAt: number,
  delayMs: number,
): Promise<string | undefined> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/disk-writer.ts', directory, '200'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_, signal) => resolve(signal)),
  )
  let lastRoot: string | undefined
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000)
  for await (const line of createInterface({ input: child.stdout })) {
    const message = JSON.parse(line) as { flushing?: number; batch?: number; root?: string }
    if (message.root !== undefined) lastRoot = message.root
    if (message.flushing === killAt) {
      setTimeout(() => child.kill('SIGKILL'), delayMs)
      break
    }
  }
  const signal = await exited
  clearTimeout(guard)
  assert.equal(signal, 'SIGKILL', 'the writer was killed, not finished')
  return lastRoot
}

describe('DiskStore survives a writer killed mid-flush', () => {
  for (const [killAt, delayMs] of [
    [3, 0],
    [4, 15],
    [6, 40],
  ] as const) {
    it(`killed ${delayMs} ms into flushing batch ${killAt}`, async () => {
      const directory = join(scratch, `kill-${killAt}-${delayMs}`)
      const lastRoot = await writeUntilKilled(directory, killAt, delayMs)
      assert.ok(lastRoot !== undefined, 'some flushes completed before the kill')

      const store = await DiskStore.open(directory)
      const map = await HAMT.open<unknown>(CID.parse(lastRoot), { store, readOnly: true })
      assert.deepEqual((await map.verify()).problems, [])
      // The last completed flush was of batch killAt - 1: every entry of batches 0..killAt-1.
      let expectedSize = 0
      for (let batch = 0; batch < killAt; batch++) {
        for (const [key, value] of crashBatchEntries(batch)) {
          assert.deepEqual(await map.get(key), value, key)
          expectedSize++
        }
      }
      assert.equal(await map.size(), expectedSize)
      assert.equal(await map.get(`b${killAt}-k0`), undefined, 'nothing of the killed batch is reachable')

      // Every block file on disk is whole, including those the killed flush got to write.
      // (Listed by hand: blockstore-fs's getAll decodes its multihash file names as CIDs and fails.)
      let files = 0
      for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith('.data')) continue
        const multihash = Digest.decode(base32upper.decode(entry.name.slice(0, -5)))
        const bytes = await readFile(join(entry.parentPath, entry.name))
        await verifyBlock(CID.createV1(0x55, multihash), bytes, entry.name)
        files++
      }
      assert.ok(files > 0)

      // …and the store takes new writes: the map carries on from the last root.
      const writable = await HAMT.open<unknown>(CID.parse(lastRoot), { store })
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
