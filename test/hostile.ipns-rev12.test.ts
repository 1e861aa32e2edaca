// An `ipns://` URL's path read as a URL's (WHATWG): its dot segments (`..`, `.%2e`, `%2E%2E`…) are
// removed within the URL's path, never above the name. They were kept and applied after the record's
// own path, so `ipns://<name>/..` opened the parent of what the record points to (/ipfs/C/d → C).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createIPNSRecord, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { followIpnsName } from '../src/cas/ipns.js'
import { parseContentPath, parseIpnsPath } from '../src/cas/ipns-name.js'
import { TrustlessGatewayStore } from '../src/index.js'
import { serve } from './helpers/loopback.js'

const key = await generateKeyPair('Ed25519')
const id = CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)

/** Where a WHATWG URL parser (Node's) puts the path: dot segments removed, then percent-decoded. */
function asUrlReadsIt(path: string): string {
  const { pathname } = new URL(`ipns://${id}${path}`)
  return pathname
    .split('/')
    .map((segment) => decodeURIComponent(segment))
    .join('/')
    .replace(/\/+$/, '')
}

describe('ipns:// URLs: dot segments as a URL has them', () => {
  it('stay within the path after the name, as the URL parser reads them', () => {
    const paths = [
      '/..',
      '/../..',
      '/a/../b',
      '/%2e%2E/b',
      '/.%2e',
      '/%2E./x',
      '/a/./b/.',
      '/../../x',
      '/a/%2E',
      '/a/b/../..',
    ]
    for (const path of paths) {
      assert.equal(parseIpnsPath(`ipns://${id}${path}`, 'root').path, asUrlReadsIt(path), path)
    }
  })

  it('ipns://<name>/.. leads to what the record points to, not its parent', async () => {
    const { name, path } = parseIpnsPath(`ipns://${id}/..`, 'root')
    const { cid } = parseContentPath(
      '/ipfs/bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy/d',
    ) as {
      cid: CID
    }
    // The record (verified elsewhere) says /ipfs/<cid>/d: the path to follow is /d and what comes after.
    const resolved = await followIpnsName(name, async () => ({ value: `/ipfs/${cid}/d` }))
    assert.equal(`${resolved.path}${path}`, '/d')
  })
})

/** A gateway serving `record` as the record of every name. */
async function recordGateway(record: Uint8Array): Promise<string> {
  const gateway = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.ipfs.ipns-record' }).end(record)
  })
  return gateway.url
}

describe('one ipnsRecords memory shared by two readers (as the option invites: one Map, or one on disk)', () => {
  it('two resolutions of a name at once do not leave the older record remembered over the newer', async () => {
    const name = `/ipns/${id}`
    const record = async (sequence: bigint) => {
      const root = CID.createV1(0x55, identity.digest(new TextEncoder().encode(`seq ${sequence}`)))
      return marshalIPNSRecord(await createIPNSRecord(key, root, sequence, 3_600_000))
    }
    const [newer, older] = [await record(5n), await record(3n)]
    const kept = new Map<string, Uint8Array>()
    // An async memory (as one on disk is): while `together`, a read answers once both readers asked,
    // or after 2 s (readers that take turns on it never ask at once: the time only ends the wait).
    let together = true
    let waiting: (() => void)[] = []
    const ipnsRecords = {
      get: async (key: string) => {
        if (together)
          await new Promise<void>((resolve) => {
            waiting.push(resolve)
            const release = () => {
              for (const go of waiting.splice(0)) go()
            }
            if (waiting.length === 2) release()
            else setTimeout(release, 2_000)
          })
        return kept.get(key)
      },
      set: (key: string, value: Uint8Array) => void kept.set(key, value),
    }
    const reader = async (record: Uint8Array) =>
      new TrustlessGatewayStore({ gateways: await recordGateway(record), retries: 0, ipnsRecords })
    const [first, second] = [await reader(newer), await reader(older)]
    const [a] = await Promise.all([first.resolveName(name), second.resolveName(name)])
    assert.equal(a.sequence, 5n)
    together = false
    waiting = []
    // The first reader was given sequence 5: a gateway serving 3 now must not move the name back.
    const again = await (await reader(older)).resolveName(name)
    assert.equal(again.sequence, 5n, 'the shared memory kept sequence 3 over the 5 it had been given')
  })
})
