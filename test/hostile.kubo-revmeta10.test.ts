// Outsider review of KuboStore.hasBlock via `block/stat` (offline): CIDs of other versions, codecs
// and hashes than the store's own must be answered truly. Real Kubo.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { KuboStore } from '../src/index.js'
import { startKubo } from './helpers/kubo.js'
import { testSeed } from './helpers/random.js'

const daemon = await startKubo()
after(() => daemon.stop())
const seed = testSeed()

describe('KuboStore.hasBlock with CIDs the store does not make', () => {
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, writeBufferBytes: 0 })
  const bytes = Uint8Array.of(seed & 255, (seed >> 8) & 255, 1, 2, 3)

  it('a present block asked by CIDv0, by another codec and sha2-256; an identity CID', async () => {
    const digest = await sha256.digest(bytes)
    await store.putBlock(CID.createV1(0x55, digest), bytes)
    const answers: Record<string, boolean> = {}
    const asks: Array<[string, CID]> = [
      ['raw', CID.createV1(0x55, digest)],
      ['v0', CID.createV0(digest)],
      ['dag-cbor', CID.createV1(0x71, digest)],
      ['unknown codec', CID.createV1(0x300001, digest)],
      ['identity', CID.createV1(0x55, identity.digest(bytes))],
    ]
    for (const [what, cid] of asks) answers[what] = await store.hasBlock(cid).catch((e) => e.message)
    assert.deepEqual(
      answers,
      { raw: true, v0: true, 'dag-cbor': true, 'unknown codec': true, identity: true },
      `seed ${seed}`,
    )
  })

  it('missing blocks asked the same ways are false', async () => {
    const missing = Uint8Array.of(seed & 255, 9, 9, 9)
    const digest = await sha256.digest(missing)
    const answers: Record<string, boolean> = {}
    const asks: Array<[string, CID]> = [
      ['v0', CID.createV0(digest)],
      ['dag-cbor', CID.createV1(0x71, digest)],
      ['unknown codec', CID.createV1(0x300001, digest)],
    ]
    for (const [what, cid] of asks) answers[what] = await store.hasBlock(cid).catch((e) => e.message)
    assert.deepEqual(answers, { v0: false, 'dag-cbor': false, 'unknown codec': false }, `seed ${seed}`)
  })
})
