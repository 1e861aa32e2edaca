// Content-encoded answers (a user who sets `accept-encoding`, or a server that compresses anyway):
// both fetches we ship decode them as they are read, the block cap counts decoded bytes, and a
// corrupt or endless encoded body ends in a typed error within budget. Loopback servers only.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import zlib from 'node:zlib'
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

const encoders: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  gzip: (bytes) => zlib.gzipSync(bytes),
  'x-gzip': (bytes) => zlib.gzipSync(bytes),
  deflate: (bytes) => zlib.deflateSync(bytes),
  br: (bytes) => zlib.brotliCompressSync(bytes),
  'gzip, br': (bytes) => zlib.brotliCompressSync(zlib.gzipSync(bytes)),
  identity: (bytes) => bytes,
}
// zstd where node:zlib has it (Node 22.15+, 23.8+).
const zstd = (zlib as { zstdCompressSync?: (bytes: Uint8Array) => Uint8Array }).zstdCompressSync
if (zstd !== undefined) encoders.zstd = zstd

async function rawCid(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(RAW, await blockDigest('blake3', bytes))
}

/** A gateway answering every request with `bytes` encoded as `coding`, its encoded length declared. */
async function encodingGateway(coding: string, bytes: Uint8Array): Promise<string> {
  const body = encoders[coding]?.(bytes) ?? bytes
  const gateway = await serve((_req, res) =>
    res.writeHead(200, { 'content-encoding': coding, 'content-length': String(body.length) }).end(body),
  )
  return gateway.url
}

// Bodies made before the first budgeted case, so they do not count against it.
const block = new Uint8Array(300_000).map((_, i) => (i * 7) ^ (i >> 10))
const blockCid = await rawCid(block)
const cap = new Uint8Array(4 * MiB).map((_, i) => (i >> 12) & 255)
const capCid = await rawCid(cap)
const over = new Uint8Array(4 * MiB + 1)
const bomb = zlib.brotliCompressSync(new Uint8Array(256 * MiB))

// Warm up both fetches' HTTP stacks and BLAKE3, so the budget measures the cases.
for (const [, makeFetch] of fetches) {
  const url = await encodingGateway('identity', block)
  await new TrustlessGatewayStore({ gateways: url, fetch: makeFetch() }).load(blockCid)
}

describe('an encoded body is decoded as it is read', () => {
  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: a block in every coding fetch decodes, asked for with accept-encoding`, async () => {
      for (const coding of Object.keys(encoders)) {
        const gateway = await encodingGateway(coding, block)
        const store = new TrustlessGatewayStore({
          gateways: gateway,
          headers: { 'accept-encoding': 'gzip, deflate, br' },
          fetch: makeFetch(),
          retries: 0,
        })
        const outcome = await withinBudget(coding, () => store.load(blockCid))
        assert.deepEqual(outcome.value, block, `${coding}: ${outcome.error}`)
      }
    })

    it(`${fetchName}: an unverified whole read decodes a file whose declared length is the encoded one`, async () => {
      const gateway = await encodingGateway('gzip', block)
      const store = new KuboStore({ rpcUrl: null, gateways: gateway, verify: false, fetch: makeFetch() })
      // Any dag-pb CID: an unverified file read does not check the bytes against it.
      const file = CID.createV1(0x70, blockCid.multihash)
      const outcome = await withinBudget('unverified gzip file', () => store.load(file))
      assert.deepEqual(outcome.value, block, String(outcome.error))
    })

    it(`${fetchName}: the block cap counts decoded bytes: 4 MiB decoded is read, one byte more is ERR_STORE`, async () => {
      for (const coding of ['gzip', 'deflate', 'br']) {
        for (const [body, cid] of [
          [cap, capCid],
          [over, capCid],
        ] as const) {
          const gateway = await encodingGateway(coding, body)
          const store = new TrustlessGatewayStore({ gateways: gateway, fetch: makeFetch(), retries: 0 })
          const outcome = await withinBudget(`${coding} ${body.length}`, () => store.load(cid))
          if (body === cap) assert.deepEqual(outcome.value, cap, `${coding}: ${outcome.error}`)
          else assertTypedError(outcome, 'ERR_STORE')
        }
      }
    })

    it(`${fetchName}: a brotli bomb and a corrupt gzip body are typed errors within budget`, async () => {
      assert.ok(bomb.length < 100_000)
      const bombing = await serve((_req, res) =>
        res.writeHead(200, { 'content-encoding': 'br', 'content-length': String(bomb.length) }).end(bomb),
      )
      const store = new TrustlessGatewayStore({ gateways: bombing.url, fetch: makeFetch(), retries: 0 })
      assertTypedError(await withinBudget('brotli bomb', () => store.load(blockCid)), 'ERR_STORE')
      const corrupt = zlib.gzipSync(block)
      corrupt.fill(0xff, 20, 200)
      const gateway = await serve((_req, res) =>
        res.writeHead(200, { 'content-encoding': 'gzip' }).end(corrupt),
      )
      const reader = new TrustlessGatewayStore({ gateways: gateway.url, fetch: makeFetch(), retries: 1 })
      assertTypedError(await withinBudget('corrupt gzip', () => reader.load(blockCid)), 'ERR_STORE')
    })
  }
})
