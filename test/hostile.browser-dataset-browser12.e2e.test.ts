// A Zarr dataset read in a real headless Chromium (openDataset, load; zstd and BLAKE3 as WebAssembly
// in the page) from a loopback gateway that serves its HAMT honestly and lies about its chunk blocks:
// flipped bytes, another chunk's block, bodies without end, a slow drip. No wrong value may come out.
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import * as zarr from 'zarrita'
import { type Codec, HAMT, type LoadOptions, type StoreId, ZarrHAMTStore } from '../src/index.js'
import {
  type LibraryPage,
  openLibraryPage,
  type PageLibrary,
  peakMemoryDuring,
} from './helpers/browser-bundle.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { writeClimate } from './helpers/climate.js'
import { type Loopback, sendDrip, sendEndless, serve } from './helpers/loopback.js'

const SETUP = { timeout: 15 * 60_000 }
const TEST = { timeout: 30_000 }
const MEMORY_BUDGET = 64 * 2 ** 20

// The dataset, written by ts-hamt; every block kept by its CID for the gateway to serve.
const cidStore = await CidMemoryStore.create()
const blocks = new Map<string, Uint8Array>()
const recording = {
  save: async (data: Uint8Array, codec: Codec) => {
    const cid = await cidStore.save(data, codec)
    blocks.set(cid.toString(), data.slice())
    return cid
  },
  load: (id: StoreId, options?: LoadOptions) => cidStore.load(id, options),
}
const map = await HAMT.create<Uint8Array>({ store: recording, valuesAreBytes: true })
const written = await writeClimate(new ZarrHAMTStore(map))
const root = String(await map.flush())
// A wider one: a single variable of 256 zstd chunks, so a read has many chunk fetches in flight.
const wideMap = await HAMT.create<Uint8Array>({ store: recording, valuesAreBytes: true })
const wideArray = await zarr.create(zarr.root(new ZarrHAMTStore(wideMap)).resolve('wide'), {
  shape: [64, 64],
  chunkShape: [4, 4],
  dtype: 'float64',
  dimensionNames: ['y', 'x'],
  codecs: [
    { name: 'bytes', configuration: { endian: 'little' } },
    { name: 'zstd', configuration: { level: 3, checksum: false } },
  ],
})
await zarr.set(wideArray, null, {
  data: Float64Array.from({ length: 4096 }, (_, i) => i),
  shape: [64, 64],
  stride: [64, 1],
})
const wideRoot = String(await wideMap.flush())
const isChunk = (bytes: Uint8Array): boolean => [0x28, 0xb5, 0x2f, 0xfd].every((b, i) => bytes[i] === b)
const chunks = [...blocks.values()].filter(isChunk)
assert.ok(chunks.length >= 2, `the dataset has zstd chunk blocks (${chunks.length})`)
/** What every data variable of two or more dimensions holds, NaN as null. */
const expected = Object.fromEntries(
  Object.entries(written)
    .filter(([, v]) => v.shape.length >= 2)
    .map(([name, v]) => [name, v.values]),
)

describe('a dataset in Chromium from a gateway that lies about its chunks', () => {
  let library: LibraryPage | undefined
  let gateway: Loopback
  let page: Page
  const open = new Set<ServerResponse>()
  /** Chunk answers `drip` started, and those the reader closed before their end. */
  let dripping = 0
  let cutOff = 0

  before(async () => {
    library = await openLibraryPage(20_000)
    page = library.page
    gateway = await serve((req, res) => {
      const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/')
      const [lie, block] = [parts[1], blocks.get(parts.at(-1) ?? '')]
      const cors = { 'access-control-allow-origin': '*' }
      open.add(res)
      if (block === undefined) return void res.writeHead(404, cors).end()
      const send = (bytes: Uint8Array): void => {
        res.writeHead(200, cors).end(bytes)
      }
      const flipped = (): Uint8Array =>
        Uint8Array.from(block, (b, i) => (i === block.length - 1 ? b ^ 0x80 : b))
      if (lie === 'nodes') return send(isChunk(block) ? block : flipped())
      if (lie === 'honest' || !isChunk(block)) return send(block)
      if (lie === 'flip')
        return send(Uint8Array.from(block, (b, i) => (i === block.length - 1 ? b ^ 0x80 : b)))
      if (lie === 'swap') return send(chunks.find((chunk) => chunk !== block) ?? block)
      if (lie === 'endless') return sendEndless(res, 256, cors)
      if (lie === 'endless-paced') return sendEndless(res, 256, cors, 10)
      if (lie === 'drip') {
        dripping++
        // Marked, so the page can abort once a chunk's answer began (HAMT nodes come honest).
        const marked = { ...cors, 'x-drip': '1', 'access-control-expose-headers': 'x-drip' }
        return sendDrip(res, block, 100, marked, () => cutOff++)
      }
      res.writeHead(500, cors).end()
    })
  }, SETUP)

  after(async () => {
    for (const res of open) res.destroy()
    await library?.close()
  })

  /**
   * Reads every data variable in the page through the gateways `lies`; their values, or the error.
   * With `abortOnDrip`, load's signal aborts (reason named TimeoutError) once a dripping chunk's
   * answer began: a chunk is then surely being read, which a timer could fire before.
   */
  const read = (lies: string[], abortOnDrip = false, root_ = root) =>
    page.evaluate(
      async ({ root, gateways, abortOnDrip }) => {
        const { dataset, zstd } = (globalThis as unknown as { lib: PageLibrary }).lib
        zstd.registerZstdCodec()
        const controller = new AbortController()
        const signal = abortOnDrip ? controller.signal : undefined
        // Not a named const: tsx would wrap it in a `__name` helper the page does not have.
        const gatewayOptions = {
          retries: 0,
          fetch: !abortOnDrip
            ? undefined
            : (input: RequestInfo | URL, init?: RequestInit) =>
                fetch(input, init).then((response) => {
                  if (response.headers.get('x-drip') !== null)
                    controller.abort(new DOMException('aborted as a chunk began to drip', 'TimeoutError'))
                  return response
                }),
        }
        try {
          const ds = await dataset.openDataset(root, { gateways, gatewayOptions })
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
      { root: root_, gateways: lies.map((lie) => `${gateway.url}/${lie}`), abortOnDrip },
    )

  it('through an honest gateway: what was written', TEST, async () => {
    const outcome = await read(['honest'])
    assert.deepEqual(outcome.values, expected, JSON.stringify(outcome.error))
  })

  for (const lie of ['flip', 'swap']) {
    it(`chunk blocks lied about (${lie}): ERR_INTEGRITY naming the block, no values`, TEST, async () => {
      const outcome = await read([lie])
      assert.equal(outcome.values, undefined, 'no values from a lying gateway')
      assert.equal(outcome.error?.code, 'ERR_INTEGRITY', JSON.stringify(outcome.error))
      assert.match(outcome.error?.message ?? '', new RegExp(`/${lie}/ipfs/ does not match its CID`))
    })

    it(`the ${lie}-lying gateway first, an honest one second: what was written`, TEST, async () => {
      const outcome = await read([lie, 'honest'])
      assert.deepEqual(outcome.values, expected, JSON.stringify(outcome.error))
    })
  }

  it('chunks that never end: a store error, memory bounded', TEST, async () => {
    const { result, grewBy } = await peakMemoryDuring(page, () => read(['endless']))
    console.log(
      `endless chunks: page heap + ArrayBuffers grew by at most ${(grewBy / 2 ** 20).toFixed(1)} MiB`,
    )
    assert.equal(result.values, undefined)
    assert.equal(result.error?.code, 'ERR_STORE', JSON.stringify(result.error))
    assert.ok(grewBy < MEMORY_BUDGET, `grew ${grewBy} bytes`)
  })

  it("chunks that drip: load's signal ends the read and closes every answer", TEST, async () => {
    const outcome = await read(['drip'], true)
    assert.equal(outcome.values, undefined)
    assert.equal(outcome.error?.name, 'TimeoutError', JSON.stringify(outcome.error))
    assert.ok(dripping >= 1, 'a chunk was being read')
    // Chromium closes an aborted answer's connection: wait, bounded, for the server to see it.
    for (let i = 0; i < 100 && cutOff < dripping; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(cutOff, dripping, 'every dripping answer was closed by the reader')
  })

  it('the 256-chunk dataset through an honest gateway: its values', TEST, async () => {
    const outcome = await read(['honest'], false, wideRoot)
    assert.deepEqual(
      outcome.values,
      { wide: Array.from({ length: 4096 }, (_, i) => i) },
      JSON.stringify(outcome.error),
    )
  })

  it(
    '256 chunks that never end, read at the default concurrency: a store error, memory bounded',
    TEST,
    async () => {
      const { result, grewBy } = await peakMemoryDuring(page, () => read(['endless-paced'], false, wideRoot))
      console.log(
        `256 endless chunks: page heap + ArrayBuffers grew by at most ${(grewBy / 2 ** 20).toFixed(1)} MiB`,
      )
      assert.equal(result.values, undefined)
      assert.equal(result.error?.code, 'ERR_STORE', JSON.stringify(result.error))
      assert.match(result.error?.message ?? '', /more than the \d+ bytes/)
      // Chromium opens at most 6 HTTP/1.1 connections to one origin: 6 bodies of up to 4 MiB at once.
      assert.ok(grewBy < MEMORY_BUDGET, `grew ${grewBy} bytes`)
    },
  )

  it('HAMT.open and get in the page: the value; HAMT nodes lied about: ERR_INTEGRITY', TEST, async () => {
    const got = (lie: string) =>
      page.evaluate(
        async ({ root, gateway }) => {
          const { core } = (globalThis as unknown as { lib: PageLibrary }).lib
          const store = new core.TrustlessGatewayStore({ gateways: gateway, retries: 0 })
          try {
            const map = await core.HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true })
            const value = await map.get('wide/zarr.json')
            return { text: new TextDecoder().decode(value), code: undefined }
          } catch (error) {
            return { text: undefined, code: (error as { code?: string }).code }
          }
        },
        { root: wideRoot, gateway: `${gateway.url}/${lie}` },
      )
    const honest = await got('honest')
    assert.equal(JSON.parse(honest.text ?? '{}').node_type, 'array', JSON.stringify(honest))
    assert.deepEqual(await got('nodes'), { text: undefined, code: 'ERR_INTEGRITY' })
  })
})
