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
import type * as DatasetLib from '../src/dataset.js'
import type * as Lib from '../src/index.js'
import { type Codec, HAMT, type LoadOptions, type StoreId, ZarrHAMTStore } from '../src/index.js'
import type * as ZstdLib from '../src/zstd/index.js'
import { type Browser, launchChromium, type StaticServer, serveStatic } from './helpers/browser.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { writeClimate } from './helpers/climate.js'
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

// A small climate dataset (zstd chunks) written by ts-hamt into blocks the gateway serves by CID.
const dataStore = await CidMemoryStore.create()
const blocks = new Map<string, Uint8Array>()
const recording = {
  save: async (data: Uint8Array, codec: Codec) => {
    const cid = await dataStore.save(data, codec)
    blocks.set(cid.toString(), data.slice())
    return cid
  },
  load: (id: StoreId, options?: LoadOptions) => dataStore.load(id, options),
}
const dataMap = await HAMT.create<Uint8Array>({ store: recording, valuesAreBytes: true })
const written = await writeClimate(new ZarrHAMTStore(dataMap))
const dataRoot = String(await dataMap.flush())
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]
const isChunk = (bytes: Uint8Array): boolean => ZSTD_MAGIC.every((b, i) => bytes[i] === b)
const chunks = [...blocks.values()].filter(isChunk)
assert.ok(chunks.length >= 2, `the dataset has zstd chunk blocks (${chunks.length})`)

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
    // The package's three browser entries the page uses, each as a namespace (their names overlap).
    const entry = join(dir, 'entry.ts')
    await writeFile(
      entry,
      [
        `export * as core from '${repo}src/index.ts'`,
        `export * as dataset from '${repo}src/dataset.ts'`,
        `export * as zstd from '${repo}src/zstd/index.ts'`,
      ].join('\n'),
    )
    await build({
      entryPoints: [entry],
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
      if (lie?.startsWith('ds-')) return datasetAnswer(lie, url.pathname.split('/').at(-1) ?? '', res, cors)
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
            if (res.destroyed || i >= 600) {
              clearInterval(timer)
              return void res.end()
            }
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

  /** The dataset's blocks, honest except for chunk blocks under the lie `ds-<how>`. */
  const datasetAnswer = (lie: string, cid: string, res: ServerResponse, cors: Record<string, string>) => {
    const block = blocks.get(cid)
    if (block === undefined) return void res.writeHead(404, cors).end()
    const send = (bytes: Uint8Array): void => {
      res.writeHead(200, cors).end(bytes)
    }
    if (lie === 'ds-honest' || !isChunk(block)) return send(block)
    if (lie === 'ds-flip')
      return send(Uint8Array.from(block, (b, i) => (i === block.length - 1 ? b ^ 0x80 : b)))
    if (lie === 'ds-swap') return send(chunks.find((chunk) => chunk !== block) ?? block)
    if (lie === 'ds-endless') {
      res.writeHead(200, cors)
      open.add(res)
      const chunk = new Uint8Array(1 << 20)
      let sent = 0
      const pump = (): void => {
        while (sent < 256 && res.write(chunk)) sent++
        if (sent < 256 && !res.destroyed) res.once('drain', pump)
        else res.end()
      }
      return pump()
    }
    if (lie === 'ds-drip') {
      res.writeHead(200, cors)
      open.add(res)
      dripping++
      let i = 0
      const timer = setInterval(() => {
        if (i >= block.length || res.destroyed) {
          clearInterval(timer)
          return void res.end()
        }
        res.write(block.subarray(i, i + 1))
        i++
      }, 100)
      res.on('close', () => {
        clearInterval(timer)
        if (i < block.length) cutOff++
      })
      return
    }
    res.writeHead(500, cors).end()
  }
  /** Chunk answers started by `ds-drip`, and those the reader closed before their end. */
  let dripping = 0
  let cutOff = 0

  /** Reads every data variable in the page through `gateways`; their values, or the error. */
  const readDataset = (gateways: string[], abortAfterMs?: number) =>
    page.evaluate(
      async ({ root, gateways, abortAfterMs }) => {
        const { dataset, zstd } = (
          globalThis as unknown as { lib: { dataset: typeof DatasetLib; zstd: typeof ZstdLib } }
        ).lib
        zstd.registerZstdCodec()
        const signal = abortAfterMs === undefined ? undefined : AbortSignal.timeout(abortAfterMs)
        try {
          const ds = await dataset.openDataset(root, { gateways, gatewayOptions: { retries: 0 } })
          const values: Record<string, Array<number | null>> = {}
          for (const name of ds.dataVars) {
            const array = await ds.variable(name).load({ signal })
            values[name] = Array.from(array.values, (v) => (Number.isNaN(v) ? null : v))
          }
          return { values, error: undefined }
        } catch (error) {
          const e = error as { name: string; code?: string; message: string }
          return { values: undefined, error: { name: e.name, code: e.code, message: e.message } }
        }
      },
      { root: dataRoot, gateways, abortAfterMs },
    )
  const dsUrl = (lie: string): string => `${gateway.url}/ds-${lie}`
  const writtenValues = (): Record<string, Array<number | null>> =>
    Object.fromEntries(
      Object.entries(written)
        .filter(([, v]) => v.shape.length >= 2)
        .map(([name, v]) => [name, v.values]),
    )

  /** Loads `cid` in the page from the gateway path `/<lie>`, with `options` for the store. */
  const load = (lie: string, cid: CID, options: Record<string, unknown> = {}, abortAfterMs?: number) =>
    page.evaluate(
      async ({ gatewayUrl, cid, options, abortAfterMs, expected }): Promise<Outcome> => {
        const lib = (globalThis as unknown as { lib: { core: typeof Lib } }).lib.core
        const store = new lib.TrustlessGatewayStore({ gateways: gatewayUrl, ...options })
        const signal = abortAfterMs === undefined ? undefined : AbortSignal.timeout(abortAfterMs)
        const started = performance.now()
        try {
          const bytes: Uint8Array = await store.load(cid as never, { signal }) // the string of a CID is taken too
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

  it(
    'a dataset through an honest gateway: openDataset + load give what was written (zstd in the page)',
    TEST,
    async () => {
      const outcome = await readDataset([dsUrl('honest')])
      assert.deepEqual(outcome.values, writtenValues(), JSON.stringify(outcome.error))
    },
  )

  for (const lie of ['flip', 'swap']) {
    it(
      `a dataset whose chunk blocks are lied about (${lie}): ERR_INTEGRITY, no wrong values`,
      TEST,
      async () => {
        const outcome = await readDataset([dsUrl(lie)])
        assert.equal(outcome.values, undefined, 'no values from a lying gateway')
        assert.equal(outcome.error?.code, 'ERR_INTEGRITY', JSON.stringify(outcome.error))
      },
    )

    it(`a dataset, ${lie}-lying gateway first and an honest one second: the right values`, TEST, async () => {
      const outcome = await readDataset([dsUrl(lie), dsUrl('honest')])
      assert.deepEqual(outcome.values, writtenValues(), JSON.stringify(outcome.error))
    })
  }

  it('a dataset whose chunks never end: a typed error, the heap bounded', TEST, async () => {
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
    const outcome = await readDataset([dsUrl('endless')])
    done = true
    await sampling
    console.log(
      `endless chunks: heap ${(before / 2 ** 20).toFixed(1)} MiB -> peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
    )
    assert.equal(outcome.values, undefined)
    assert.equal(outcome.error?.code, 'ERR_STORE', JSON.stringify(outcome.error))
    assert.ok(peak - before < 64 * 2 ** 20, `heap grew ${peak - before} bytes`)
  })

  it("a dataset whose chunks drip: load's signal aborts the read and closes the answers", TEST, async () => {
    const outcome = await readDataset([dsUrl('drip')], 1000)
    assert.equal(outcome.values, undefined)
    assert.match(outcome.error?.name ?? '', /AbortError|TimeoutError/, JSON.stringify(outcome.error))
    assert.ok(dripping >= 1, 'a chunk was being read')
    // Chromium closes the aborted answers' connections: wait (bounded) for the server to see it.
    for (let i = 0; i < 100 && cutOff < dripping; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(cutOff, dripping, 'every dripping answer was closed by the reader')
  })
})
