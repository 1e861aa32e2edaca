// Outside review of IPNS: records whose value is a path over blocks the record's author made. The
// blocks verify against their CIDs, so only their decoding stands between them and the caller.
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createIPNSRecord, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { HAMT, TrustlessGatewayStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'

const key = await generateKeyPair('Ed25519')
const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`

/** A gateway serving one record of `name` pointing to `value`, and `blocks` by CID. */
async function gatewayWith(value: string, blocks: Map<string, Uint8Array>) {
  const record = marshalIPNSRecord(await createIPNSRecord(key, value, 1n, 3_600_000))
  return serve((req, res) => {
    if (req.url?.startsWith('/ipns/')) {
      res.writeHead(200, { 'content-type': 'application/vnd.ipfs.ipns-record' }).end(record)
      return
    }
    const cid = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? ''
    const block = blocks.get(cid)
    if (block === undefined) res.writeHead(404).end()
    else res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(block)
  })
}

describe('IPNS values that are paths over hostile blocks', () => {
  for (const [codec, code] of [
    ['dag-pb', 0x70],
    ['dag-cbor', 0x71],
  ] as const) {
    it(`a path through a ${codec} block that does not decode: a typed error`, async () => {
      const bytes = Uint8Array.of(0xff, 0xff, 0x01)
      const cid = CID.createV1(code, await sha256.digest(bytes))
      const gateway = await gatewayWith(`/ipfs/${cid}/a`, new Map([[cid.toString(), bytes]]))
      const store = new TrustlessGatewayStore({ gateways: gateway.url, retries: 0 })
      const outcome = await withinBudget(`${codec} garbage on the path`, () => HAMT.open(name, { store }))
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
    })
  }
})
