// Unverified gateway reads (`verify: false`) trust a gateway's bytes, never its lengths: an endless
// body, a 10 GB one for a 1 KiB range, a whole file for a Range request, a Content-Length that lies.
// Each read ends in the right bytes or a typed error within budget, and the connection is released.
// Loopback gateways only: a real gateway cannot be made to lie.
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { type ByteRange, isHamtError, KuboStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const MiB = 1 << 20
const DAG_PB = 0x70

const fetches: Array<[string, () => typeof globalThis.fetch]> = [
  ['global fetch', () => globalThis.fetch.bind(globalThis)],
  ['nodeHttpFetch', () => nodeHttpFetch()],
]

const seed = testSeed()
const random = mulberry32(seed)
const chunk = Uint8Array.from({ length: 64 << 10 }, () => Math.floor(random() * 256))
// Any dag-pb CID: an unverified read does not check the bytes against it.
const cid = CID.createV1(DAG_PB, await sha256.digest(chunk))

/** Connections a server saw closed, per server: a refused body must not stay open. */
interface Endless {
  url: string
  closed: () => number
  /** Settles when the server has its first request (and counts its connection's close). */
  requested: Promise<void>
}

/**
 * A gateway streaming `chunk` forever (or `declared` bytes' worth of them, declared as such), as a
 * 200 or as a 206 that says it carries `bytes 0-…`; it stops when the client goes away.
 */
async function endless(status: 200 | 206, declared?: number): Promise<Endless> {
  let closed = 0
  let seen!: () => void
  const requested = new Promise<void>((resolve) => (seen = resolve))
  const { url } = await serve((req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string> = {}
    if (declared !== undefined) headers['content-length'] = String(declared)
    if (status === 206) headers['content-range'] = `bytes 0-${(declared ?? 10 * 2 ** 30) - 1}/*`
    res.writeHead(status, headers)
    let sent = 0
    const more = (): void => {
      while (!res.destroyed && (declared === undefined || sent < declared)) {
        const piece =
          declared === undefined ? chunk : chunk.subarray(0, Math.min(chunk.length, declared - sent))
        sent += piece.length
        if (!res.write(piece)) return void res.once('drain', more)
      }
      if (!res.destroyed) res.end()
    }
    req.socket.once('close', () => closed++)
    seen()
    more()
  })
  return { url, closed: () => closed, requested }
}

/** Waits until the server has seen `n` connections closed (a refused read closes its own), within the hang bound. */
async function released(server: Endless, n = 1): Promise<void> {
  const waited = await withinBudget(`${n} connection(s) closed`, async () => {
    while (server.closed() < n) await new Promise((resolve) => setTimeout(resolve, 5))
  })
  assert.equal(waited.error, undefined)
}

function store(url: string, makeFetch: () => typeof globalThis.fetch, unverifiedReadBytes?: number) {
  return new KuboStore({
    rpcUrl: null,
    gateways: url,
    verify: false,
    fetch: makeFetch(),
    retries: 0,
    ...(unverifiedReadBytes === undefined ? {} : { unverifiedReadBytes }),
  })
}

describe('an unverified read takes no more than it may need from a gateway', () => {
  it('unverifiedReadBytes must be a positive integer', () => {
    for (const unverifiedReadBytes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new KuboStore({ rpcUrl: null, verify: false, unverifiedReadBytes }),
        (error: unknown) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
      )
    }
  })

  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: an endless body for a whole file or an open range is ERR_STORE, the connection closed`, async () => {
      for (const [status, range] of [
        [200, undefined],
        [206, { offset: 0 }],
        [200, { offset: 5 }],
        // A suffix from a gateway that ignores Range streams the whole file, keeping only its window.
        [200, { suffix: 10 }],
      ] as Array<[200 | 206, ByteRange | undefined]>) {
        const what = `${status} endless, range ${JSON.stringify(range)}`
        const gateway = await endless(status)
        const outcome = await withinBudget(what, () =>
          store(gateway.url, makeFetch, 8 * MiB).load(cid, range === undefined ? {} : { range }),
        )
        assertTypedError(outcome, 'ERR_STORE')
        assert.match(String((outcome.error as Error).message), /8388608 bytes/, what)
        await released(gateway)
      }
    })

    it(`${fetchName}: by default a whole file declared as 10 GB is refused unread`, async () => {
      const gateway = await endless(200, 10 * 2 ** 30)
      const outcome = await withinBudget('10 GB declared', () => store(gateway.url, makeFetch).load(cid))
      assertTypedError(outcome, 'ERR_STORE')
      await released(gateway)
    })

    it(`${fetchName}: a 10 GB or endless 206 for a 1 KiB range is ERR_STORE`, async () => {
      for (const declared of [10 * 2 ** 30, undefined]) {
        const gateway = await endless(206, declared)
        const what = `206 of ${declared ?? 'endless'} bytes for 1 KiB`
        const outcome = await withinBudget(what, () =>
          store(gateway.url, makeFetch).load(cid, { range: { offset: 0, length: 1024 } }),
        )
        assertTypedError(outcome, 'ERR_STORE')
        await released(gateway)
      }
    })

    it(`${fetchName}: a 200 with an endless whole file to a Range request gives the range's bytes`, async () => {
      const gateway = await endless(200)
      for (const range of [
        { offset: 0, length: 1024 },
        { offset: 3 * chunk.length - 10, length: 20 },
      ]) {
        const what = `range ${JSON.stringify(range)}`
        const outcome = await withinBudget(what, () => store(gateway.url, makeFetch).load(cid, { range }))
        const expected = new Uint8Array(range.length).map(
          (_, i) => chunk[(range.offset + i) % chunk.length] as number,
        )
        assert.deepEqual(outcome.value, expected, what)
      }
      await released(gateway, 2)
    })

    it(`${fetchName}: a Content-Length that lies is a typed error or the bytes it declares`, async () => {
      // Declares 10 GB, sends 1 KiB and ends: a body cut short.
      const short = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': String(10 * 2 ** 30) })
        res.write(chunk.subarray(0, 1024))
        res.socket?.end()
      })
      assertTypedError(
        await withinBudget('cut short', () => store(short.url, makeFetch, 64 * MiB).load(cid)),
        'ERR_STORE',
      )
      // Declares 1 KiB, sends 4 MiB: only the declared bytes are the answer.
      const long = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': '1024' })
        res.socket?.end(Buffer.concat(Array.from({ length: 64 }, () => chunk)))
      })
      const outcome = await withinBudget('longer than declared', () => store(long.url, makeFetch).load(cid))
      if (outcome.error !== undefined) assertTypedError(outcome, 'ERR_STORE')
      else assert.deepEqual(outcome.value, chunk.subarray(0, 1024))
    })

    it(`${fetchName}: an abort ends an endless whole read at once and closes its connection`, async () => {
      const gateway = await endless(200)
      const controller = new AbortController()
      const reason = new Error('stop')
      const outcome = await withinBudget('aborted', async () => {
        const reading = store(gateway.url, makeFetch).load(cid, { signal: controller.signal })
        // Aborted once the body streams: a 50 ms timer fired before the request got there at load 10,
        // and a server that never saw the connection never saw it close (the test waited for ever).
        await Promise.race([gateway.requested, reading.catch(() => {})])
        controller.abort(reason)
        return reading
      })
      assert.equal(outcome.error, reason)
      await released(gateway)
    })
  }
})
