// Gateways and RPC servers whose bodies lie about their length: every case ends in correct data or a
// typed error, within a time and memory budget (test/helpers/hostile.ts). Loopback servers only.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import { blockDigest } from '../src/cas/id.js'
import { KuboStore, TrustlessGatewayStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'

const MiB = 1 << 20

const fetches: Array<[string, () => typeof globalThis.fetch]> = [
  ['global fetch', () => globalThis.fetch.bind(globalThis)],
  ['nodeHttpFetch', () => nodeHttpFetch()],
]

async function rawCid(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(RAW, await blockDigest('blake3', bytes))
}

// 256 MiB of zeros in about 250 KB: its Content-Length is the compressed size.
const bomb = gzipSync(new Uint8Array(256 * MiB), { level: 9 })

// Warm up both fetches' HTTP stacks and BLAKE3, so the budget measures the cases.
await (async () => {
  const bytes = Uint8Array.of(1)
  const cid = await rawCid(bytes)
  const { url } = await serve((_req, res) => res.writeHead(200).end(bytes))
  for (const [, makeFetch] of fetches) {
    await new TrustlessGatewayStore({ gateways: url, fetch: makeFetch() }).load(cid)
  }
})()

describe('a compressed body is held to the cap as it is decoded, not by its Content-Length', () => {
  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: a gzip bomb from a gateway or an RPC server is a typed error within budget`, async () => {
      assert.ok(bomb.length < 300_000)
      const { url: bombing } = await serve((req, res) => {
        req.resume()
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) }).end(bomb)
      })
      const options = { fetch: makeFetch(), retries: 0 }
      const cid = await rawCid(Uint8Array.of(7))
      const gateway = new TrustlessGatewayStore({ gateways: bombing, ...options })
      // Both fetches decode it, and the block cap stops the decoded stream at 4 MiB.
      assertTypedError(await withinBudget('gzip bomb block', () => gateway.load(cid)))
      const kubo = new KuboStore({ rpcUrl: bombing, gateways: bombing, chunker: 'size-1000', ...options })
      // Above one chunk: sent to `add` at once, whose answer is read up to 64 KiB.
      const add = await withinBudget('gzip bomb add', () => kubo.save(new Uint8Array(2000), 'raw'))
      assertTypedError(add, 'ERR_STORE')
      await kubo.save(Uint8Array.of(1), 'raw')
      assertTypedError(await withinBudget('gzip bomb dag/import', () => kubo.flush()), 'ERR_STORE')
    })
  }
})

// Bodies of the cases below, made before the first budgeted case so they do not count against it.
const cap = new Uint8Array(4 * MiB).map((_, i) => (i * 13) & 255)
const capCid = await rawCid(cap)
const over = new Uint8Array(4 * MiB + 1)
const short = Uint8Array.of(1, 2, 3)
const shortCid = await rawCid(short)
const tooLong = Buffer.concat([Buffer.from(short), Buffer.alloc(MiB, 1)])

describe('the block cap is exact', () => {
  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: a chunked or declared body of exactly 4 MiB is read; one byte more is ERR_STORE`, async () => {
      const cid = capCid
      for (const [body, declare] of [
        [cap, false],
        [cap, true],
        [over, false],
        [over, true],
      ] as const) {
        const { url: gateway } = await serve((_req, res) => {
          res.writeHead(200, declare ? { 'content-length': String(body.length) } : {})
          // Chunked: in pieces that end exactly at the cap.
          for (let at = 0; at < body.length; at += MiB) res.write(body.subarray(at, at + MiB))
          res.end()
        })
        const store = new TrustlessGatewayStore({ gateways: gateway, fetch: makeFetch(), retries: 0 })
        const outcome = await withinBudget(`${body.length} bytes`, () => store.load(cid))
        if (body === cap) assert.deepEqual(outcome.value, cap, String(outcome.error))
        else assertTypedError(outcome, 'ERR_STORE')
      }
    })

    it(`${fetchName}: a body longer than its Content-Length is read only to that length`, async () => {
      const { url: gateway } = await serve((_req, res) => {
        res.socket?.write(`HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\n`)
        res.socket?.end(tooLong)
      })
      const store = new TrustlessGatewayStore({ gateways: gateway, fetch: makeFetch(), retries: 0 })
      const outcome = await withinBudget('longer than declared', () => store.load(shortCid))
      assert.deepEqual(outcome.value, short, String(outcome.error))
    })
  }
})

describe('a dag/import answer must name what was sent', () => {
  it('the right counts with another root, or a pin error, fail a pinning flush and keep the buffer', async () => {
    const sent = await rawCid(Uint8Array.of(1, 2, 3))
    const other = await rawCid(Uint8Array.of(3, 2, 1))
    const stats = '{"Stats":{"BlockCount":1,"BlockBytesCount":3}}'
    const root = (cid: CID, error = '') =>
      JSON.stringify({ Root: { Cid: { '/': String(cid) }, PinErrorMsg: error } })
    for (const [answer, ok] of [
      [`${root(sent)}\n${stats}\n`, true],
      [`${root(other)}\n${stats}\n`, false],
      [`${root(sent, 'pinning failed')}\n${stats}\n`, false],
      [`${stats}\n`, false],
      [`${root(sent)}\n{"Stats":{"BlockCount":2,"BlockBytesCount":3}}\n`, false],
    ] as const) {
      const { url: rpc } = await serve((req, res) => {
        req.resume()
        req.on('end', () => res.writeHead(200).end(answer))
      })
      const store = new KuboStore({ rpcUrl: rpc, gateways: rpc, pinOnAdd: true, retries: 0 })
      await store.save(Uint8Array.of(1, 2, 3), 'raw')
      const outcome = await withinBudget('dag/import answer', () => store.flush())
      if (ok) assert.equal(outcome.error, undefined, String(outcome.error))
      else assertTypedError(outcome, 'ERR_STORE')
      assert.equal(store.bufferedBytes, ok ? 0 : 3)
    }
  })
})
