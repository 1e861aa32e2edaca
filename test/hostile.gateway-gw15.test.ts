// Session 13's open gateway bounds. A file over unverifiedReadBytes is the content's size, not a
// gateway's fault: one typed failure, not a download of it from every gateway in turn. Loopback
// gateways only: a real gateway cannot be made to lie.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type Loopback, sendEndless, serve } from './helpers/loopback.js'

const MiB = 1 << 20
const DAG_PB = 0x70
// Any dag-pb CID: an unverified read does not check the bytes against it.
const cid = CID.createV1(DAG_PB, await sha256.digest(new TextEncoder().encode('gw15')))

/** A gateway answering every read with `mib` MiB of zeros, declared as such or not. */
function sending(mib: number, declared: boolean): Promise<Loopback> {
  return serve((_req, res) => {
    sendEndless(res, mib, declared ? { 'content-length': String(mib * MiB) } : {})
  })
}

describe('a file over unverifiedReadBytes', () => {
  for (const declared of [true, false]) {
    it(`(${declared ? 'declared' : 'not declared'}) fails once, typed, asking no other gateway and counting against none`, async () => {
      const [first, second] = [await sending(10, declared), await sending(10, declared)]
      const store = new KuboStore({
        rpcUrl: null,
        gateways: [first.url, second.url],
        verify: false,
        retries: 0,
        unverifiedReadBytes: 8 * MiB,
        gatewayFailureThreshold: 1,
      })
      for (const attempt of [1, 2]) {
        const outcome = await withinBudget(`read ${attempt}`, () => store.load(cid))
        assertTypedError(outcome, 'ERR_STORE')
        const message = String((outcome.error as Error).message)
        assert.match(message, /8388608 bytes/)
        assert.match(message, /unverifiedReadBytes/)
        if (declared) assert.match(message, /10485760 bytes/)
        // Still the first gateway's turn: its answer was no failure of its own.
        assert.equal(first.seen.length, attempt, 'the first gateway was not asked again')
        assert.equal(second.seen.length, 0, 'the file was fetched from the second gateway too')
      }
    })
  }
})
