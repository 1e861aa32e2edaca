// Proves test/helpers/kubo.ts against a REAL Kubo daemon (built from the pinned Go module by
// scripts/kubo-env.sh), and pins down the Kubo behaviour the IPFS store relies on: blake3 raw
// CIDs from /api/v0/add, batched multi-file adds, Range on the gateway, CAR import offline.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { blake3 } from '@noble/hashes/blake3.js'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { connectPeers, type KuboDaemon, kuboBinary, rpc, startKubo } from './helpers/kubo.js'

const BLAKE3 = 0x1e
/** py-hamt 3.6.0 KuboCAS's default /api/v0/add parameters. */
const ADD_PARAMS = 'hash=blake3&chunker=size-1048576&pin=false&cid-version=1'
const TEST_TIMEOUT = 120_000

type AddAnswer = { Name: string; Hash: string; Size: string }

function blake3Cid(code: number, bytes: Uint8Array): CID {
  return CID.createV1(code, Digest.create(BLAKE3, blake3(bytes)))
}

/** A Blob of a copy: Blob wants bytes over a plain ArrayBuffer, not any ArrayBufferLike. */
function blob(bytes: Uint8Array): Blob {
  return new Blob([new Uint8Array(bytes)])
}

/** One multipart add of several files; Kubo answers one JSON line per file. */
async function add(daemon: KuboDaemon, ...files: Uint8Array[]): Promise<AddAnswer[]> {
  const form = new FormData()
  files.forEach((bytes, i) => {
    form.append('file', blob(bytes), `f${i}`)
  })
  const response = await fetch(`${daemon.rpcUrl}/api/v0/add?${ADD_PARAMS}`, {
    method: 'POST',
    body: form,
    signal: AbortSignal.timeout(30_000),
  })
  const text = await response.text()
  assert.equal(response.status, 200, text)
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AddAnswer)
}

async function gatewayGet(daemon: KuboDaemon, cid: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${daemon.gatewayUrl}/ipfs/${cid}`, {
    headers,
    signal: AbortSignal.timeout(30_000),
  })
  return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) }
}

/** Unsigned LEB128, the varint of multiformats and CAR (multiformats does not export its own). */
function varint(n: number): Uint8Array {
  const out: number[] = []
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80)
  out.push(n)
  return Uint8Array.from(out)
}

/** A CARv1: varint-framed dag-cbor header, then varint-framed (CID bytes + block) sections. */
function car(roots: CID[], blocks: Array<[CID, Uint8Array]>): Uint8Array {
  const frame = (...parts: Uint8Array[]): Uint8Array[] => [
    varint(parts.reduce((n, p) => n + p.length, 0)),
    ...parts,
  ]
  const parts = [
    ...frame(dagCbor.encode({ roots, version: 1 })),
    ...blocks.flatMap(([cid, bytes]) => frame(cid.bytes, bytes)),
  ]
  return new Uint8Array(Buffer.concat(parts))
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('Kubo daemon (real)', { timeout: 30 * 60_000 }, () => {
  const daemons: KuboDaemon[] = []
  const start = async (offline = true): Promise<KuboDaemon> => {
    const daemon = await startKubo({ offline })
    daemons.push(daemon)
    return daemon
  }

  // The first run builds Kubo from source (minutes on 2 cores); later runs use the cache.
  before(
    async () => {
      await kuboBinary()
    },
    { timeout: 30 * 60_000 },
  )

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()))
  })

  it('starts offline on loopback and answers id', { timeout: TEST_TIMEOUT }, async () => {
    const daemon = await start()
    assert.match(daemon.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(daemon.gatewayUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(daemon.peerId, /^12D3KooW/)
    assert.deepEqual(daemon.multiaddrs, [], 'an offline daemon has no swarm')
    await daemon.stop()
    await daemon.stop() // safe twice
  })

  it('adds with blake3 as a raw CIDv1 and serves it whole and by Range', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const daemon = await start()
    const data = bytes('hello, ts-hamt on a real kubo')
    const [answer] = await add(daemon, data)
    assert.ok(answer)
    assert.ok(answer.Hash.startsWith('bafkr4'), answer.Hash)
    assert.equal(
      answer.Hash,
      blake3Cid(raw.code, data).toString(),
      'raw codec + blake3 of the bytes themselves',
    )

    const whole = await gatewayGet(daemon, answer.Hash)
    assert.equal(whole.status, 200)
    assert.deepEqual(whole.bytes, data)

    const range = await gatewayGet(daemon, answer.Hash, { Range: 'bytes=2-5' })
    assert.equal(range.status, 206)
    assert.deepEqual(range.bytes, data.subarray(2, 6))
  })

  it('answers a multi-file add with one line per file, same CIDs as single adds', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const daemon = await start()
    const files = [
      bytes('first'),
      bytes('second'),
      bytes('first'),
      new Uint8Array(0),
      new Uint8Array(70_000).fill(7),
    ]
    const batch = await add(daemon, ...files)
    assert.equal(
      batch.length,
      files.length,
      'one answer per file, duplicates included, no wrapping directory',
    )
    for (const [i, file] of files.entries()) {
      const [single] = await add(daemon, file)
      assert.equal(batch[i]?.Name, `f${i}`, 'answers come in request order')
      assert.equal(batch[i]?.Hash, single?.Hash)
      assert.equal(batch[i]?.Hash, blake3Cid(raw.code, file).toString())
    }
  })

  it('imports a CAR of blake3 blocks while offline', { timeout: TEST_TIMEOUT }, async () => {
    const daemon = await start()
    const leaf = bytes('a leaf block')
    const leafCid = blake3Cid(raw.code, leaf)
    const node = dagCbor.encode({ hamt: [leafCid], n: 1 })
    const nodeCid = blake3Cid(dagCbor.code, node)
    const form = new FormData()
    form.append(
      'file',
      blob(
        car(
          [nodeCid],
          [
            [nodeCid, node],
            [leafCid, leaf],
          ],
        ),
      ),
      'blocks.car',
    )
    const response = await fetch(`${daemon.rpcUrl}/api/v0/dag/import?pin-roots=false&stats=true`, {
      method: 'POST',
      body: form,
      signal: AbortSignal.timeout(30_000),
    })
    const text = await response.text()
    assert.equal(response.status, 200, text)
    assert.deepEqual(JSON.parse(text.trim().split('\n').at(-1)!), {
      Stats: { BlockCount: 2, BlockBytesCount: leaf.length + node.length },
    })
    for (const [cid, expected] of [
      [nodeCid, node],
      [leafCid, leaf],
    ] as const) {
      const got = await fetch(`${daemon.rpcUrl}/api/v0/block/get?arg=${cid}`, { method: 'POST' })
      assert.deepEqual(new Uint8Array(await got.arrayBuffer()), expected)
    }
  })

  it('restart() and kill()+restart() keep the repo, the ports and the data', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const daemon = await start()
    const data = bytes('survives restarts')
    const [answer] = await add(daemon, data)
    const { rpcUrl, gatewayUrl, peerId } = daemon

    await daemon.restart()
    assert.deepEqual([daemon.rpcUrl, daemon.gatewayUrl, daemon.peerId], [rpcUrl, gatewayUrl, peerId])
    assert.deepEqual((await gatewayGet(daemon, answer!.Hash)).bytes, data)

    // The fault-test pattern: the daemon dies abruptly, then comes back.
    await daemon.kill('SIGKILL')
    await assert.rejects(rpc(daemon.rpcUrl, 'id', {}, 2_000))
    await daemon.restart()
    assert.equal(daemon.rpcUrl, rpcUrl)
    assert.deepEqual((await gatewayGet(daemon, answer!.Hash)).bytes, data)
  })

  it('peers two online daemons over loopback and moves a block between them', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const [a, b] = await Promise.all([start(false), start(false)])
    for (const daemon of [a, b]) {
      assert.ok(daemon.multiaddrs.length > 0)
      for (const addr of daemon.multiaddrs)
        assert.match(addr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/)
    }
    await connectPeers(a, b)
    const peers = (await rpc(b.rpcUrl, 'swarm/peers')) as { Peers: Array<{ Peer: string }> | null }
    assert.ok(
      peers.Peers?.some((p) => p.Peer === a.peerId),
      'b sees a',
    )

    const data = bytes(`only a has this at first: ${Date.now()}`)
    const [answer] = await add(a, data)
    const got = await gatewayGet(b, answer!.Hash)
    assert.equal(got.status, 200)
    assert.deepEqual(got.bytes, data)
  })
})
