// An outsider's review of gw15's shared unverified-read budget: what a lying gateway (or a caller's
// fetch that heeds no signal) can do to it. Loopback gateways only: a real gateway cannot be made to lie.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'

const MiB = 1 << 20
const DAG_PB = 0x70
// Any dag-pb CID: an unverified read does not check the bytes against it.
const cid = CID.createV1(DAG_PB, await sha256.digest(new TextEncoder().encode('revgw15')))
const file = new Uint8Array(3 * MiB).map((_, i) => i % 251)

/** A gateway that honours Range (206 with the bytes asked), or ignores it (200 with the whole file). */
function gateway(honoursRange: boolean) {
  return serve((req, res) => {
    const asked = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
    if (!honoursRange || asked === null) {
      res.writeHead(200).end(file)
      return
    }
    const [first, last] =
      asked[1] === ''
        ? [file.length - Number(asked[2]), file.length - 1]
        : [Number(asked[1]), asked[2] === '' ? file.length - 1 : Number(asked[2])]
    res
      .writeHead(206, { 'content-range': `bytes ${first}-${last}/${file.length}` })
      .end(file.subarray(first, last + 1))
  })
}

describe('a gateway that ignores Range, for a range it would have had to read past unverifiedReadBytes', () => {
  // The range fits what a 206 may carry (a range with a length, or a suffix, is the caller's bound);
  // only the gateway's whole-file answer runs past the cap: its fault, so the next gateway is asked.
  for (const range of [{ offset: 0, length: 2 * MiB }, { suffix: MiB / 2 }]) {
    it(`${JSON.stringify(range)} is read from the next gateway`, async () => {
      const [ignoring, honouring] = [await gateway(false), await gateway(true)]
      const store = new KuboStore({
        rpcUrl: null,
        gateways: [ignoring.url, honouring.url],
        verify: false,
        retries: 0,
        unverifiedReadBytes: MiB,
      })
      const outcome = await withinBudget('range', () => store.load(cid, { range }))
      assert.equal(outcome.error, undefined, String((outcome.error as Error)?.message))
      const start = 'offset' in range ? range.offset : file.length - range.suffix
      const end = 'offset' in range ? range.offset + range.length : file.length
      assert.deepEqual(outcome.value, file.subarray(start, end))
      assert.equal(honouring.seen.length, 1)
    })
  }

  it('a range without end past unverifiedReadBytes is the content’s size: one typed failure', async () => {
    const [ignoring, honouring] = [await gateway(false), await gateway(true)]
    const store = new KuboStore({
      rpcUrl: null,
      gateways: [ignoring.url, honouring.url],
      verify: false,
      retries: 0,
      unverifiedReadBytes: MiB,
    })
    const outcome = await withinBudget('open range', () => store.load(cid, { range: { offset: 10 } }))
    assertTypedError(outcome, 'ERR_STORE')
    assert.match(String((outcome.error as Error).message), /unverifiedReadBytes/)
    assert.equal(honouring.seen.length, 0)
  })
})
