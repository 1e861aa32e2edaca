// Lying gateways against the browser build in a real headless Chromium: the package's entries bundled
// by esbuild for the browser read blocks through TrustlessGatewayStore from a loopback gateway that lies
// in one way per path. Chromium's fetch, streams, AbortSignal, CORS and WebAssembly BLAKE3 are the real
// ones; each case must end in the right bytes or a typed error whose `code` the page sees.
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import type { Page } from 'playwright-core'
import { blockDigest } from '../src/cas/id.js'
import {
  type LibraryPage,
  openLibraryPage,
  type PageLibrary,
  peakMemoryDuring,
} from './helpers/browser-bundle.js'
import { type Loopback, sendDrip, sendEndless, serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

/** Chromium starts once (or is installed on a first run); each case then takes about a second. */
const SETUP = { timeout: 15 * 60_000 }
const TEST = { timeout: 30_000 }
/** The rules' memory budget for hostile input. */
const MEMORY_BUDGET = 64 * 2 ** 20

const seed = testSeed()
console.log(`hostile.browser seed: ${seed}`)
const random = mulberry32(seed)
const bytesOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
const rawCid = async (bytes: Uint8Array): Promise<CID> =>
  CID.createV1(RAW, await blockDigest('blake3', bytes))

const good = bytesOf(64 * 1024)
const other = bytesOf(64 * 1024)
const goodCid = await rawCid(good)
const bomb = gzipSync(new Uint8Array(256 << 20), { level: 9 })
const otherCid = await rawCid(other)

/** What the page reports: whether the bytes are the block's, or the error's name, code and message. */
interface Outcome {
  ok?: { length: number; equal: boolean }
  error?: { name: string; code?: string; message: string }
}

describe('TrustlessGatewayStore in Chromium against a lying loopback gateway', () => {
  let library: LibraryPage | undefined
  let gateway: Loopback
  let page: Page
  /** How many requests each lie's path got. */
  const hits = new Map<string, number>()
  /** Answers held open (drip, endless): closed when the file ends. */
  const open = new Set<ServerResponse>()

  before(async () => {
    library = await openLibraryPage(20_000)
    page = library.page
    gateway = await serve((req, res) => {
      const lie = new URL(req.url ?? '/', 'http://x').pathname.split('/')[1] ?? ''
      hits.set(lie, (hits.get(lie) ?? 0) + 1)
      open.add(res)
      const cors = { 'access-control-allow-origin': '*' }
      const send = (bytes: Uint8Array): void => {
        res.writeHead(200, { ...cors, 'content-type': 'application/vnd.ipld.raw' }).end(bytes)
      }
      switch (lie) {
        case 'honest':
          return send(good)
        case 'wrong-bytes':
          return send(Uint8Array.from(good, (b, i) => (i === 1000 ? b ^ 1 : b)))
        case 'other-block':
          return send(other)
        case 'truncated':
          // Promises the whole length, sends half, then drops the connection.
          res.writeHead(200, { ...cors, 'content-length': String(good.length) })
          res.write(good.subarray(0, good.length / 2))
          return void res.socket?.destroy()
        case 'short-length':
          // A Content-Length shorter than the block: HTTP itself cuts the body there.
          res.writeHead(200, { ...cors, 'content-length': '100' })
          return void res.end(good.subarray(0, 100))
        case 'long-length':
          // Promises more than it sends and keeps the connection open: only a timeout ends it.
          res.writeHead(200, { ...cors, 'content-length': String(good.length * 2) })
          return void res.write(good)
        case 'huge-length':
          res.writeHead(200, { ...cors, 'content-length': String(2 ** 40) })
          return void res.write(good)
        case 'gzip-bomb':
          // 256 MiB of zeros in about 256 KB: the browser decodes it before the library sees it.
          res.writeHead(200, { ...cors, 'content-encoding': 'gzip', 'content-length': String(bomb.length) })
          return void res.end(bomb)
        case 'endless':
          return sendEndless(res, 512, cors)
        case 'drip':
          return sendDrip(res, good.subarray(0, 600), 50, cors)
        case 'storm':
          return void res.writeHead(503, cors).end('busy')
        case 'no-cors':
          return void res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(good)
        case 'elsewhere':
          // To another origin (the page's own, which has no such path and no CORS header).
          return void res.writeHead(302, { ...cors, location: `${library?.url}/ipfs/${goodCid}` }).end()
        default:
          return void res.writeHead(404, cors).end()
      }
    })
  }, SETUP)

  after(async () => {
    for (const res of open) res.destroy()
    await library?.close()
  })

  /**
   * Loads `cid` in the page from the gateway path `/<lie>`, with `options` for the store; with
   * `abortOnAnswer`, the load's signal aborts (reason named TimeoutError) once an answer's headers
   * arrived: the request has then surely reached the gateway, which a timer could fire before.
   */
  const load = (lie: string, cid: CID, options: Record<string, unknown> = {}, abortOnAnswer = false) =>
    page.evaluate(
      async ({ gatewayUrl, cid, options, abortOnAnswer, expected }): Promise<Outcome> => {
        const { core } = (globalThis as unknown as { lib: PageLibrary }).lib
        const controller = new AbortController()
        // Not a named const: tsx would wrap it in a `__name` helper the page does not have.
        const store = new core.TrustlessGatewayStore({
          gateways: gatewayUrl,
          ...options,
          fetch: !abortOnAnswer
            ? undefined
            : (input, init) =>
                fetch(input, init).then((response) => {
                  controller.abort(new DOMException('aborted as the answer began', 'TimeoutError'))
                  return response
                }),
        })
        const signal = abortOnAnswer ? controller.signal : undefined
        try {
          // The string form of a CID is taken too.
          const bytes = await store.load(cid as never, { signal })
          const equal = bytes.length === expected.length && bytes.every((b, i) => b === expected[i])
          return { ok: { length: bytes.length, equal } }
        } catch (error) {
          const e = error as { name: string; code?: string; message: string }
          return { error: { name: e.name, code: e.code, message: e.message } }
        }
      },
      {
        gatewayUrl: `${gateway.url}/${lie}`,
        cid: cid.toString(),
        options,
        abortOnAnswer,
        expected: [...good],
      },
    )

  const typed = (outcome: Outcome, code: string, pattern: RegExp): void => {
    assert.equal(outcome.ok, undefined, `no data from a lying gateway: ${JSON.stringify(outcome)}`)
    assert.equal(outcome.error?.code, code, JSON.stringify(outcome.error))
    assert.match(outcome.error?.message ?? '', pattern)
  }

  it('an honest gateway: the right bytes (BLAKE3 in the page)', TEST, async () => {
    const outcome = await load('honest', goodCid)
    assert.deepEqual(outcome.ok, { length: good.length, equal: true }, JSON.stringify(outcome))
  })

  for (const lie of ['wrong-bytes', 'other-block', 'short-length']) {
    it(`${lie}: refused as an integrity failure naming the block, never returned`, TEST, async () => {
      typed(
        await load(lie, goodCid, { retries: 0 }),
        'ERR_INTEGRITY',
        new RegExp(`${goodCid}.*does not match`),
      )
    })
  }

  it(
    'a body cut off before its Content-Length: a store error naming the URL, no short data',
    TEST,
    async () => {
      typed(await load('truncated', goodCid, { retries: 0 }), 'ERR_STORE', /\/truncated\/ipfs\//)
    },
  )

  it('an endless body: a store error at the block size limit, memory bounded', TEST, async () => {
    const { result, grewBy } = await peakMemoryDuring(page, () => load('endless', goodCid, { retries: 0 }))
    console.log(`endless body: page heap + ArrayBuffers grew by at most ${(grewBy / 2 ** 20).toFixed(1)} MiB`)
    typed(result, 'ERR_STORE', /more than the \d+ bytes/)
    assert.ok(grewBy < MEMORY_BUDGET, `grew ${grewBy} bytes`)
  })

  it('a slow drip: the abort signal ends the read with the abort reason', TEST, async () => {
    const outcome = await load('drip', goodCid, { retries: 0 }, true)
    assert.equal(outcome.ok, undefined)
    assert.equal(outcome.error?.name, 'TimeoutError', JSON.stringify(outcome.error))
  })

  it('a slow drip with retries left: an abort is not retried', TEST, async () => {
    hits.delete('drip')
    const outcome = await load('drip', goodCid, { retries: 3, retryDelayMs: 1 }, true)
    assert.equal(outcome.error?.name, 'TimeoutError', JSON.stringify(outcome.error))
    assert.equal(hits.get('drip'), 1)
  })

  it('a 5xx storm: retries bounded by `retries`, then a typed error', TEST, async () => {
    hits.delete('storm')
    const outcome = await load('storm', goodCid, { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2 })
    typed(outcome, 'ERR_STORE', /HTTP 503/)
    assert.equal(hits.get('storm'), 3, 'one try and two retries')
  })

  it('a gateway that refuses CORS: a typed error naming the URL, not a bare TypeError', TEST, async () => {
    typed(await load('no-cors', goodCid, { retries: 0 }), 'ERR_STORE', /\/no-cors\/ipfs\//)
  })

  it('a redirect to another origin without the block: a typed error', TEST, async () => {
    typed(await load('elsewhere', goodCid, { retries: 0 }), 'ERR_STORE', /\/elsewhere\/ipfs\//)
  })

  it('the other block asked for by its own CID is fine (the lie was only the pairing)', TEST, async () => {
    const outcome = await load('other-block', otherCid)
    assert.equal(outcome.ok?.length, other.length, JSON.stringify(outcome))
  })

  it('a Content-Length promising more than comes: the per-attempt timeout ends it, typed', TEST, async () => {
    typed(await load('long-length', goodCid, { retries: 0, timeoutMs: 1_000 }), 'ERR_STORE', /long-length/)
  })

  it('a Content-Length of 1 TiB: a typed error, no wait for it', TEST, async () => {
    // Cross-origin, the encoding is hidden: the length is not trusted either way, the timeout ends it.
    typed(await load('huge-length', goodCid, { retries: 0, timeoutMs: 1_000 }), 'ERR_STORE', /huge-length/)
  })

  it('a gzip bomb: a store error at the block size limit, memory bounded', TEST, async () => {
    const { result, grewBy } = await peakMemoryDuring(page, () => load('gzip-bomb', goodCid, { retries: 0 }))
    console.log(`gzip bomb: page heap + ArrayBuffers grew by at most ${(grewBy / 2 ** 20).toFixed(1)} MiB`)
    typed(result, 'ERR_STORE', /more than the \d+ bytes/)
    assert.ok(grewBy < MEMORY_BUDGET, `grew ${grewBy} bytes`)
  })
})
