// Lying gateways against the browser entry in a real headless Chromium: the package's browser build
// (src/index.ts bundled by esbuild for the browser) reads blocks through TrustlessGatewayStore from a
// loopback gateway that lies in one way per path. Chromium's fetch, streams, AbortSignal, CORS and
// WebAssembly BLAKE3 are the real ones; each case must end in the right bytes or a typed error.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import type { Page } from 'playwright-core'
import { blockDigest } from '../src/cas/id.js'
import { type Browser, launchChromium, type StaticServer, serveStatic } from './helpers/browser.js'
import { type Loopback, serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const SETUP = { timeout: 15 * 60_000 }
const TEST = { timeout: 30_000 }

const seed = testSeed()
console.log(`hostile.browser seed: ${seed}`)
const random = mulberry32(seed)
const bytesOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
const rawCid = async (bytes: Uint8Array): Promise<CID> =>
  CID.createV1(RAW, await blockDigest('blake3', bytes))

const good = bytesOf(64 * 1024)
const other = bytesOf(64 * 1024)
const goodCid = await rawCid(good)
const otherCid = await rawCid(other)

/** What the page reports: the bytes' length and a checksum, or the error's name, code and message. */
interface Outcome {
  ok?: { length: number; equal: boolean }
  error?: { name: string; code?: string; message: string }
  ms: number
}

describe('TrustlessGatewayStore in Chromium against a lying loopback gateway', () => {
  let browser: Browser | undefined
  let site: StaticServer | undefined
  let dir = ''
  let gateway: Loopback
  let page: Page
  /** How many requests each case's path got. */
  const hits = new Map<string, number>()
  /** Responses held open (slow drip, endless): ended when the file ends. */
  const open = new Set<ServerResponse>()

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-hamt-hostile-browser-'))
    await build({
      entryPoints: [join(repo, 'src/index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'lib.js'),
      logLevel: 'warning',
    })
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>hostile</title>')
    site = await serveStatic(dir)
    gateway = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      const [, lie] = url.pathname.split('/')
      hits.set(lie ?? '', (hits.get(lie ?? '') ?? 0) + 1)
      const cors = { 'access-control-allow-origin': '*' }
      const send = (bytes: Uint8Array, headers: Record<string, string | number> = {}): void => {
        res.writeHead(200, { ...cors, 'content-type': 'application/vnd.ipld.raw', ...headers }).end(bytes)
      }
      switch (lie) {
        case 'honest':
          return send(good)
        case 'wrong-bytes':
          return send(Uint8Array.from(good, (b, i) => (i === 1000 ? b ^ 1 : b)))
        case 'other-block':
          return send(other)
        case 'truncated': {
          // Says the whole length, sends half, then closes the connection.
          res.writeHead(200, { ...cors, 'content-length': good.length })
          res.write(good.subarray(0, good.length / 2))
          return void res.socket?.destroy()
        }
        case 'short-length':
          // A Content-Length shorter than the block: the body is cut there by HTTP itself.
          res.writeHead(200, { ...cors, 'content-length': 100 })
          return void res.end(good.subarray(0, 100))
        case 'endless': {
          res.writeHead(200, cors)
          const chunk = new Uint8Array(1 << 20)
          open.add(res)
          let sent = 0
          const pump = (): void => {
            // Bounded by itself: stops after 512 MiB even if the reader never gives up.
            while (sent < 512 && res.write(chunk)) sent++
            if (sent < 512 && !res.destroyed) res.once('drain', pump)
            else res.end()
          }
          return pump()
        }
        case 'drip': {
          res.writeHead(200, cors)
          open.add(res)
          let i = 0
          const timer = setInterval(() => {
            if (res.destroyed || i >= 600) return void (clearInterval(timer), res.end())
            res.write(good.subarray(i, i + 1))
            i++
          }, 50)
          res.on('close', () => clearInterval(timer))
          return
        }
        case 'storm':
          return void res.writeHead(503, cors).end('busy')
        case 'no-cors':
          return void res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(good)
        case 'elsewhere':
          // Redirects to another origin (the static site, which has no such path: 404).
          return void res.writeHead(302, { ...cors, location: `${site?.url}/ipfs/${goodCid}` }).end()
        default:
          return void res.writeHead(404, cors).end()
      }
    })
    browser = await launchChromium()
    page = await browser.context.newPage()
    page.setDefaultTimeout(20_000)
    await page.goto(`${site.url}/index.html`)
    await page.evaluate(async () => {
      ;(globalThis as unknown as { lib: unknown }).lib = await import('/lib.js' as string)
    })
  }, SETUP)

  after(async () => {
    for (const res of open) res.destroy()
    await browser?.close()
    await site?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** Loads `cid` in the page from the gateway path `/<lie>`, with `options` for the store. */
  const load = (lie: string, cid: CID, options: Record<string, unknown> = {}, abortAfterMs?: number) =>
    page.evaluate(
      async ({ gatewayUrl, cid, options, abortAfterMs, expected }): Promise<Outcome> => {
        const lib = (globalThis as unknown as { lib: Record<string, any> }).lib
        const store = new lib.TrustlessGatewayStore({ gateways: gatewayUrl, ...options })
        const signal = abortAfterMs === undefined ? undefined : AbortSignal.timeout(abortAfterMs)
        const started = performance.now()
        try {
          const bytes: Uint8Array = await store.load(lib.CID?.parse?.(cid) ?? cid, { signal })
          const want = new Uint8Array(expected)
          const equal = bytes.length === want.length && bytes.every((b, i) => b === want[i])
          return { ok: { length: bytes.length, equal }, ms: performance.now() - started }
        } catch (error) {
          const e = error as { name: string; code?: string; message: string }
          return {
            error: { name: e.name, code: e.code, message: e.message },
            ms: performance.now() - started,
          }
        }
      },
      {
        gatewayUrl: `${gateway.url}/${lie}`,
        cid: cid.toString(),
        options,
        abortAfterMs,
        expected: [...good],
      },
    )

  const typed = (outcome: Outcome, code: string, pattern?: RegExp): void => {
    assert.equal(outcome.ok, undefined, `no data from a lying gateway: ${JSON.stringify(outcome)}`)
    assert.equal(outcome.error?.code, code, JSON.stringify(outcome.error))
    if (pattern) assert.match(outcome.error?.message ?? '', pattern)
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

  it('a body cut off before its Content-Length: a store error, no short data', TEST, async () => {
    typed(await load('truncated', goodCid, { retries: 0 }), 'ERR_STORE', /\/truncated\/ipfs\//)
  })

  it('an endless body: a typed error, the heap stays bounded', TEST, async () => {
    const client = await page.context().newCDPSession(page)
    await client.send('Performance.enable')
    await client.send('HeapProfiler.collectGarbage')
    const heap = async (): Promise<number> => {
      const { metrics } = await client.send('Performance.getMetrics')
      return metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? Number.NaN
    }
    const before = await heap()
    let peak = before
    let done = false
    const sampling = (async () => {
      for (let i = 0; i < 400 && !done; i++) {
        peak = Math.max(peak, await heap())
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    })()
    const outcome = await load('endless', goodCid, { retries: 0 })
    done = true
    await sampling
    console.log(
      `endless body: heap ${(before / 2 ** 20).toFixed(1)} MiB -> peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
    )
    typed(outcome, 'ERR_STORE', /more than the \d+ bytes/)
    assert.ok(peak - before < 64 * 2 ** 20, `heap grew ${peak - before} bytes`)
  })

  it('a slow drip: the abort signal is honoured with an AbortError-like error, quickly', TEST, async () => {
    const outcome = await load('drip', goodCid, { retries: 0 }, 500)
    assert.equal(outcome.ok, undefined)
    assert.match(outcome.error?.name ?? '', /AbortError|TimeoutError/, JSON.stringify(outcome.error))
  })

  it('a 5xx storm: retries bounded by `retries`, then a typed error', TEST, async () => {
    hits.delete('storm')
    const outcome = await load('storm', goodCid, { retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2 })
    typed(outcome, 'ERR_STORE', /HTTP 503/)
    assert.equal(hits.get('storm'), 3, 'one try and two retries')
  })

  it('a gateway that refuses CORS: a typed error, not a bare TypeError', TEST, async () => {
    typed(await load('no-cors', goodCid, { retries: 0 }), 'ERR_STORE', /\/no-cors\/ipfs\//)
  })

  it('a redirect to another origin without the block: a typed error', TEST, async () => {
    typed(await load('elsewhere', goodCid, { retries: 0 }), 'ERR_STORE', /\/elsewhere\/ipfs\//)
  })

  it(
    'the block of another CID asked for by that CID is fine (the lie was only the pairing)',
    TEST,
    async () => {
      const outcome = await load('other-block', otherCid)
      assert.equal(outcome.ok?.length, other.length, JSON.stringify(outcome))
    },
  )
})
