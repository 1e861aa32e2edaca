// Lying gateways and lying blocks: every case ends in correct data or a typed error, within a time
// and memory budget (test/helpers/hostile.ts). Servers listen on loopback only.
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { blockDigest } from '../src/cas/id.js'
import { buildUnixfsFile } from '../src/cas/unixfs-builder.js'
import { BlockstoreStore, KuboStore, TrustlessGatewayStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type Loopback, serve } from './helpers/loopback.js'

const BLAKE3 = 0x1e

/** A gateway serving these blocks (by CID string after /ipfs/), 404 for anything else. */
async function blockGateway(blocks: Map<string, Uint8Array>): Promise<Loopback> {
  return serve((req, res) => {
    const cid = /^\/ipfs\/([^?/]+)/.exec(req.url ?? '')?.[1] ?? ''
    const bytes = blocks.get(cid)
    if (bytes === undefined) res.writeHead(404).end('not found')
    else res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(bytes)
  })
}

/** Both fetches we ship: the global one and nodeHttpFetch must hold the same limits. */
const fetches: Array<[string, () => typeof globalThis.fetch]> = [
  ['global fetch', () => globalThis.fetch.bind(globalThis)],
  ['nodeHttpFetch', () => nodeHttpFetch()],
]

// Warm up what every case uses once (BLAKE3's WASM, both fetches' HTTP stacks), so the memory
// budget measures the cases, not module loading.
await (async () => {
  const block = await rawBlock(Uint8Array.of(0))
  const gateway = await blockGateway(new Map([[String(block.cid), block.bytes]]))
  for (const [, makeFetch] of fetches) {
    await new TrustlessGatewayStore({ gateways: gateway.url, fetch: makeFetch() }).load(block.cid)
  }
})()

async function rawBlock(bytes: Uint8Array): Promise<{ cid: CID; bytes: Uint8Array }> {
  return { cid: CID.createV1(RAW, await blockDigest('blake3', bytes)), bytes }
}

/** A UnixFS file node over `links` that claims `blockSizes` (and optionally a `filesize` of its own). */
async function fileNode(
  links: CID[],
  blockSizes: number[],
  filesize?: number,
): Promise<{ cid: CID; bytes: Uint8Array }> {
  let data = new UnixFS({ type: 'file', blockSizes: blockSizes.map(BigInt) }).marshal()
  if (filesize !== undefined) {
    // A later field 3 overrides the one marshal wrote (protobuf: last value wins).
    const varint: number[] = []
    for (let n = filesize; ; n = Math.floor(n / 128)) {
      if (n < 128) {
        varint.push(n)
        break
      }
      varint.push((n % 128) | 0x80)
    }
    data = Uint8Array.from([...data, 0x18, ...varint])
  }
  const bytes = dagPb.encode({ Data: data, Links: links.map((Hash) => ({ Hash, Name: '', Tsize: 0 })) })
  return { cid: CID.createV1(dagPb.code, await blockDigest('blake3', bytes)), bytes }
}

describe('UnixFS files are assembled from checked sizes, not claimed ones', () => {
  it('a node whose block sizes or file size disagree with its leaves is ERR_INVALID_NODE, on every store', async () => {
    const leaf = await rawBlock(Uint8Array.from({ length: 10 }, (_, i) => i + 1))
    const lies: Array<[string, Promise<{ cid: CID; bytes: Uint8Array }>]> = [
      ['blockSizes [100] over 10 bytes', fileNode([leaf.cid], [100])],
      ['blockSizes [4] over 10 bytes', fileNode([leaf.cid], [4])],
      ['blockSizes [2**31-1] over 10 bytes', fileNode([leaf.cid], [2 ** 31 - 1])],
      ['two sizes for one link', fileNode([leaf.cid], [10, 10])],
      ['filesize 11 over parts of 10', fileNode([leaf.cid], [10], 11)],
      ['filesize 2**40 over parts of 10', fileNode([leaf.cid], [10], 2 ** 40)],
    ]
    const honest = await fileNode([leaf.cid], [10], 10)
    const memory = new MemoryBlockstore()
    const served = new Map<string, Uint8Array>()
    for (const block of [leaf, honest, ...(await Promise.all(lies.map(([, b]) => b)))]) {
      await memory.put(block.cid, block.bytes)
      served.set(String(block.cid), block.bytes)
    }
    const gateway = await blockGateway(served)
    const stores = {
      blockstore: new BlockstoreStore(memory),
      trustless: new TrustlessGatewayStore({ gateways: gateway.url }),
      kubo: new KuboStore({ rpcUrl: null, gateways: gateway.url }),
    }
    for (const [storeName, store] of Object.entries(stores)) {
      assert.deepEqual(await store.load(honest.cid), leaf.bytes, `${storeName}: the honest file`)
      for (const [name, block] of lies) {
        const { cid } = await block
        for (const range of [undefined, { offset: 0, length: 4 }, { suffix: 2 }]) {
          const outcome = await withinBudget(`${storeName}: ${name}`, () => store.load(cid, { range }))
          assertTypedError(outcome, 'ERR_INVALID_NODE')
        }
      }
    }
  })
  it('a range of a three-level file fetches only the blocks on its path', async () => {
    const data = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7) & 255)
    const file = await buildUnixfsFile(data, 100, (bytes) => blockDigest('blake3', bytes))
    const served = new Map(file.blocks.map((b) => [String(b.cid), b.bytes]))
    const gateway = await blockGateway(served)
    const store = new TrustlessGatewayStore({ gateways: gateway.url })
    const got = await store.load(file.root, { range: { offset: 17_450, length: 100 } })
    assert.deepEqual(got, data.subarray(17_450, 17_550))
    // The root, one node of the middle level, and the two leaves the range straddles.
    assert.equal(gateway.seen.length, 4, gateway.seen.map((s) => s.url).join(' '))
    assert.deepEqual(await store.load(file.root), data)
  })
})

describe('truncated digests verify nothing', () => {
  const truncated = [0, 1, 31].map((size) => CID.createV1(RAW, Digest.create(BLAKE3, new Uint8Array(size))))
  it('bafkr4aa and other short BLAKE3 or SHA-256 digests are ERR_INTEGRITY on gateways and blockstores', async () => {
    assert.equal(String(truncated[0]), 'bafkr4aa')
    const shortSha = CID.createV1(RAW, Digest.create(0x12, new Uint8Array(16)))
    const served = new Map<string, Uint8Array>()
    for (const cid of [...truncated, shortSha]) served.set(String(cid), Uint8Array.of(1, 2, 3))
    const gateway = await blockGateway(served)
    const stores = {
      trustless: new TrustlessGatewayStore({ gateways: gateway.url }),
      kubo: new KuboStore({ rpcUrl: 'http://127.0.0.1:9', gateways: gateway.url }),
      blockstore: new BlockstoreStore(new MemoryBlockstore()),
    }
    for (const [name, store] of Object.entries(stores)) {
      for (const cid of [...truncated, shortSha]) {
        if (name !== 'blockstore')
          assertTypedError(await withinBudget(name, () => store.load(cid)), 'ERR_INTEGRITY')
        if ('putBlock' in store) {
          const outcome = await withinBudget(name, () => store.putBlock(cid, Uint8Array.of(1, 2, 3)))
          assertTypedError(outcome, 'ERR_INTEGRITY')
        }
      }
    }
  })
})

/** Writes `chunk` for as long as the client reads, never ending the body. */
function flood(res: ServerResponse, chunk: Uint8Array): void {
  const more = (): void => {
    while (!res.destroyed && res.write(chunk)) {}
    if (!res.destroyed) res.once('drain', more)
  }
  more()
}

describe('the block cap holds with every fetch we ship, early', () => {
  const cid = CID.createV1(RAW, Digest.create(BLAKE3, new Uint8Array(32).fill(7)))
  for (const [fetchName, makeFetch] of fetches) {
    const options = { fetch: makeFetch(), retries: 2, retryDelayMs: 1, timeoutMs: 1_000 }

    it(`${fetchName}: an endless body is cut at the cap; an endless error page at its first KiB`, async () => {
      const chunk = new Uint8Array(64 << 10).fill(0x41)
      // A 500 means "try again" (retried: one attempt and two retries), a 403 does not.
      const cases: Array<[number, number]> = [
        [200, 1],
        [403, 1],
        [500, 3],
      ]
      for (const [status, requests] of cases) {
        const gateway = await serve((_req, res) => {
          res.writeHead(status, { 'content-type': 'application/octet-stream' })
          flood(res, chunk)
        })
        const store = new TrustlessGatewayStore({ gateways: gateway.url, ...options })
        const outcome = await withinBudget(`endless ${status}`, () => store.load(cid))
        assertTypedError(outcome, 'ERR_STORE')
        assert.equal(gateway.seen.length, requests, 'a body too long is not retried')
        if (status !== 200) assert.match(String(outcome.error), new RegExp(`HTTP ${status}: A{100}`))
      }
    })

    it(`${fetchName}: a declared length of 1e12 is refused at once, without a retry or a byte allocated`, async () => {
      const gateway = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': String(1e12) })
        res.write(new Uint8Array(10)) // and then nothing, for ever
      })
      const store = new TrustlessGatewayStore({ gateways: gateway.url, ...options, timeoutMs: 30_000 })
      const declared = await withinBudget('declared 1e12', () => store.load(cid))
      assertTypedError(declared, 'ERR_STORE')
      // Refused for the length it declared, not by the 30 s timeout (no time is asserted).
      assert.match(String(declared.error), /declared as 1000000000000 bytes/)
      assert.equal(gateway.seen.length, 1)
      const rpc = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': String(1e12) })
        res.write('{"Hash":"')
      })
      const kubo = new KuboStore({
        rpcUrl: rpc.url,
        gateways: gateway.url,
        chunker: 'size-1000',
        ...options,
        timeoutMs: 30_000,
      })
      const twoChunks = new Uint8Array(2000) // above one chunk: sent to `add` at once
      assertTypedError(await withinBudget('add answer 1e12', () => kubo.save(twoChunks, 'raw')), 'ERR_STORE')
      assert.equal(rpc.seen.length, 1)
    })

    it(`${fetchName}: a slow drip times out per attempt, and the caller's signal ends it at once`, async () => {
      const gateway = await serve((_req, res) => {
        res.writeHead(200)
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), 20)
      })
      const store = new TrustlessGatewayStore({
        gateways: gateway.url,
        ...options,
        timeoutMs: 200,
        retries: 1,
      })
      const outcome = await withinBudget('slow drip', () => store.load(cid))
      assertTypedError(outcome, 'ERR_STORE')
      assert.match(String(outcome.error), /timed out after 200 ms/)
      assert.equal(gateway.seen.length, 2)
      const patient = new TrustlessGatewayStore({ gateways: gateway.url, ...options, timeoutMs: 60_000 })
      const reason = new Error('the caller gave up')
      const aborted = await withinBudget('drip, then abort', () => {
        const controller = new AbortController()
        setTimeout(() => controller.abort(reason), 150)
        return patient.load(cid, { signal: controller.signal })
      })
      assert.equal(aborted.error, reason)
      const silent = await serve(() => {}) // stalls before any header
      const stalled = new TrustlessGatewayStore({ gateways: silent.url, ...options, timeoutMs: 60_000 })
      const stall = await withinBudget('stall, then abort', () => {
        const controller = new AbortController()
        setTimeout(() => controller.abort(reason), 150)
        return stalled.load(cid, { signal: controller.signal })
      })
      assert.equal(stall.error, reason)
    })

    it(`${fetchName}: a body shorter than declared is a network failure, retried, then ERR_STORE`, async () => {
      const gateway = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': '100' })
        res.write(new Uint8Array(10), () => res.socket?.destroy())
      })
      const store = new TrustlessGatewayStore({ gateways: gateway.url, ...options })
      assertTypedError(await withinBudget('short body', () => store.load(cid)), 'ERR_STORE')
      assert.equal(gateway.seen.length, 3, 'one attempt and two retries')
    })

    it(`${fetchName}: wrong bytes, an HTML page and an unrelated block are ERR_INTEGRITY`, async () => {
      const other = await rawBlock(Uint8Array.of(9, 9, 9))
      for (const body of [Uint8Array.of(1, 2, 3), '<html><body>Welcome</body></html>', other.bytes]) {
        const gateway = await serve((_req, res) =>
          res.writeHead(200, { 'content-type': 'text/html' }).end(body),
        )
        const store = new TrustlessGatewayStore({ gateways: gateway.url, ...options })
        assertTypedError(await withinBudget('lying body', () => store.load(cid)), 'ERR_INTEGRITY')
      }
    })
  }
})

describe('credentials stay with the origins they were given for', () => {
  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: a redirect to another origin, and a fallback gateway, get no credential`, async () => {
      const block = await rawBlock(Uint8Array.of(4, 2))
      const elsewhere = await blockGateway(new Map([[String(block.cid), block.bytes]]))
      // The primary gateway sends reads to the other origin, and keeps one hop on its own origin.
      const primary = await serve((req, res) => {
        if (req.url?.startsWith('/ipfs/')) res.writeHead(302, { location: `/hop${req.url}` }).end()
        else res.writeHead(307, { location: `${elsewhere.url}${req.url?.slice(4)}` }).end('moved')
      })
      const secrets = { 'x-api-key': 'k-123', 'x-auth-token': 't-456' }
      const store = new KuboStore({
        rpcUrl: null,
        gateways: primary.url,
        headers: { ...secrets, 'user-agent': 'ts-hamt-test', accept: 'application/vnd.ipld.raw' },
        auth: { bearer: 'b-789' },
        fetch: makeFetch(),
      })
      assert.deepEqual(await store.load(block.cid), block.bytes)
      assert.equal(primary.seen.length, 2)
      for (const { headers } of primary.seen) {
        assert.equal(headers['x-api-key'], 'k-123')
        assert.equal(headers.authorization, 'Bearer b-789')
      }
      assert.equal(elsewhere.seen.length, 1)
      const leaked = elsewhere.seen[0]?.headers ?? {}
      assert.equal(leaked['x-api-key'], undefined)
      assert.equal(leaked['x-auth-token'], undefined)
      assert.equal(leaked.authorization, undefined)
      assert.equal(leaked['user-agent'], 'ts-hamt-test', 'content negotiation headers still go')

      // A list of gateways: only the first gets the credentials, as in py-hamt 3.6.0.
      const missing = await blockGateway(new Map())
      const fallback = await blockGateway(new Map([[String(block.cid), block.bytes]]))
      const trustless = new TrustlessGatewayStore({
        gateways: [missing.url, fallback.url],
        headers: secrets,
        auth: { username: 'u', password: 'p' },
        fetch: makeFetch(),
      })
      assert.deepEqual(await trustless.load(block.cid), block.bytes)
      assert.equal(missing.seen[0]?.headers['x-api-key'], 'k-123')
      assert.equal(fallback.seen[0]?.headers['x-api-key'], undefined)
      assert.equal(fallback.seen[0]?.headers.authorization, undefined)
    })
  }

  it('redirect loops end with ERR_STORE', async () => {
    const loop = await serve((req, res) => res.writeHead(302, { location: req.url ?? '/' }).end())
    const store = new TrustlessGatewayStore({ gateways: loop.url, headers: { 'x-api-key': 'k' } })
    const cid = (await rawBlock(Uint8Array.of(1))).cid
    assertTypedError(await withinBudget('redirect loop', () => store.load(cid)), 'ERR_STORE')
    assert.equal(loop.seen.length, 21)
  })
})

describe('Kubo’s dag/import answer must account for the blocks sent', () => {
  it('a 2xx from another service fails the flush with ERR_STORE and keeps the buffer', async () => {
    for (const body of [
      '{"Version":"1.2.3"}',
      '<html>ok</html>',
      '',
      '{"Stats":{"BlockCount":1,"BlockBytesCount":3}}',
    ]) {
      const impostor = await serve((req, res) => {
        req.resume()
        res.writeHead(200, { 'content-type': 'application/json' }).end(body)
      })
      const store = new KuboStore({ rpcUrl: impostor.url, gateways: impostor.url })
      await store.save(Uint8Array.of(1, 2, 3), 'raw')
      await store.save(Uint8Array.of(4, 5), 'raw')
      const outcome = await withinBudget('impostor', () => store.flush())
      assertTypedError(outcome, 'ERR_STORE')
      assert.match(String(outcome.error), /dag\/import/)
      assert.equal(store.bufferedBytes, 5, 'the blocks wait for the next flush')
    }
  })
})
