// An `ipns://` URL's path read as a URL's (WHATWG): its dot segments (`..`, `.%2e`, `%2E%2E`…) are
// removed within the URL's path, never above the name. They were kept and applied after the record's
// own path, so `ipns://<name>/..` opened the parent of what the record points to (/ipfs/C/d → C).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { followIpnsName } from '../src/cas/ipns.js'
import { parseContentPath, parseIpnsPath } from '../src/cas/ipns-name.js'

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
