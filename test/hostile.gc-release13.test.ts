// A collection's end seen by a writer of the same process: the collector lock's file outlives, for a
// moment, this process's memory of holding it. A flush reading the lock then must still know it its own.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { collectGarbage } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-release13-'))
after(() => rm(scratch, { recursive: true, force: true }))

describe('a flush of this process while its own collection releases the collector lock', () => {
  it('is not refused as if another thread of this process were collecting', async () => {
    const store = await DiskStore.open(join(scratch, 'release'))
    const map = await HAMT.create<string>({ store })
    let root = await map.flush()
    let flushes = 0
    for (let round = 0; round < 40; round++) {
      let done = false
      let began: () => void = () => {}
      const marking = new Promise<void>((resolve) => {
        began = resolve
      })
      const collecting = collectGarbage(store, {
        keep: [CID.asCID(root) as CID],
        onProgress: () => began(),
      }).finally(() => {
        done = true
      })
      // Once it holds the store (a write at its start refuses it, as it should).
      await Promise.race([marking, collecting])
      // Writes through the collection and just past its end, each a flush of its own.
      for (let after = 0; after < 3; after += done ? 1 : 0) {
        await map.set(`k${round}-${flushes}`, 'v')
        root = await map.flush()
        flushes++
      }
      await collecting
    }
    const reopened = await HAMT.open<string>(root, { store })
    assert.equal(await reopened.get(`k39-${flushes - 1}`), 'v')
  })
})
