// The DAG walk's packed queue against an array: seeded pushes and shifts of CIDs of every version,
// codec and length (identity CIDs past a chunk's 64 KiB too) come out equal and in order.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { CidQueue } from '../src/cas/cid-queue.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

describe('CidQueue', () => {
  it('matches an array queue over 20 000 random steps', async () => {
    const next = mulberry32(seed)
    const digest = await sha256.digest(Uint8Array.of(1, 2, 3))
    const make = (i: number): CID => {
      const kind = Math.floor(next() * 4)
      if (kind === 0) return CID.createV0(digest)
      if (kind === 1) return CID.createV1(dagCbor.code, digest)
      const length = kind === 2 ? Math.floor(next() * 100) : Math.floor(next() * 100_000)
      return CID.createV1(raw.code, identity.digest(new Uint8Array(length).fill(i % 256)))
    }
    const queue = new CidQueue()
    const model: CID[] = []
    for (let step = 0; step < 20_000; step++) {
      if (next() < 0.55 || model.length === 0) {
        const cid = make(step)
        queue.push(cid)
        model.push(cid)
      } else {
        const cid = queue.shift()
        assert.ok(cid?.equals(model.shift()), `step ${step} (seed ${seed})`)
      }
      assert.equal(queue.length, model.length)
    }
    while (model.length > 0) assert.ok(queue.shift()?.equals(model.shift()))
    assert.equal(queue.shift(), undefined)
  })
})
