// A DiskStore put aborted while its block is being written: the write stops there (the rest of the
// block is not written), its temporary file is removed and no block file appears. Seeded block (printed seed).
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DiskStore } from '../src/node/index.js'
import { sameBlock } from './helpers/disk-same-blocks.js'
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
