// Session 13's open gateway bounds. A file over unverifiedReadBytes is the content's size, not a
// gateway's fault: one typed failure, not a download of it from every gateway in turn. Loopback
// gateways only: a real gateway cannot be made to lie.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type Loopback, sendEndless, serve } from './helpers/loopback.js'

const MiB = 1 << 20
const DAG_PB = 0x70
// Any dag-pb CID: an unverified read does not check the bytes against it.
const cid = CID.createV1(DAG_PB, await sha256.digest(new TextEncoder().encode('gw15')))

/** A gateway answering every read with `mib` MiB of zeros, declared as such or not. */
function sending(mib: number, declared: boolean): Promise<Loopback> {
  return serve((_req, res) => {
    sendEndless(res, mib, declared ? { 'content-length': String(mib * MiB) } : {})
  })
}

describe('a file over unverifiedReadBytes', () => {
  for (const declared of [true, false]) {
    it(`(${declared ? 'declared' : 'not declared'}) fails once, typed, asking no other gateway and counting against none`, async () => {
      const [first, second] = [await sending(10, declared), await sending(10, declared)]
      const store = new KuboStore({
        rpcUrl: null,
        gateways: [first.url, second.url],
        verify: false,
        retries: 0,
        unverifiedReadBytes: 8 * MiB,
        gatewayFailureThreshold: 1,
      })
      for (const attempt of [1, 2]) {
        const outcome = await withinBudget(`read ${attempt}`, () => store.load(cid))
        assertTypedError(outcome, 'ERR_STORE')
        const message = String((outcome.error as Error).message)
        assert.match(message, /8388608 bytes/)
        assert.match(message, /unverifiedReadBytes/)
        if (declared) assert.match(message, /10485760 bytes/)
        // Still the first gateway's turn: its answer was no failure of its own.
        assert.equal(first.seen.length, attempt, 'the first gateway was not asked again')
        assert.equal(second.seen.length, 0, 'the file was fetched from the second gateway too')
      }
    })
  }
})

/**
 * A caller's fetch (the real one underneath) whose bodies' `cancel()` never settles; with `stall`,
 * its bodies never deliver a byte and it heeds no signal.
 */
function stuckCancelFetch(stall = false): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await globalThis.fetch(input, init)
    const reader = response.body?.getReader()
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (stall) return new Promise<void>(() => {})
        const next = await reader?.read()
        if (next === undefined || next.done) controller.close()
        else controller.enqueue(next.value)
      },
      cancel() {
        void reader?.cancel().catch(() => {})
        return new Promise<void>(() => {})
      },
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
}

describe('a caller’s fetch whose body cancel() never settles', () => {
  const bytes = new Uint8Array(3 * MiB).fill(7)
  const answer = (status: number, headers: Record<string, string> = {}, body = bytes) =>
    serve((_req, res) => {
      res.writeHead(status, headers).end(body)
    })
  const reader = (url: string, options: { fetch?: typeof globalThis.fetch; timeoutMs?: number } = {}) =>
    new KuboStore({
      rpcUrl: null,
      gateways: url,
      verify: false,
      retries: 0,
      unverifiedReadBytes: 2 * MiB,
      fetch: stuckCancelFetch(),
      ...options,
    })
  // Hang bound only: each case ends at once when nothing awaits the cancel.
  const bound = { ms: 15_000 }

  it('a whole read over unverifiedReadBytes is ERR_STORE (declared, and counted as it streams)', async () => {
    for (const gateway of [
      await answer(200, { 'content-length': String(bytes.length) }),
      await answer(200),
    ]) {
      const outcome = await withinBudget('over the cap', () => reader(gateway.url).load(cid), bound)
      assertTypedError(outcome, 'ERR_STORE')
    }
  })

  it('a range answered with the whole file gives the range', async () => {
    const gateway = await answer(200)
    const range = { offset: 10, length: 5 }
    const outcome = await withinBudget(
      'range of a whole',
      () => reader(gateway.url).load(cid, { range }),
      bound,
    )
    assert.deepEqual(outcome.value, bytes.subarray(10, 15))
  })

  it('a redirect is followed', async () => {
    const target = await answer(200)
    const gateway = await serve((req, res) => {
      res.writeHead(302, { location: `${target.url}${req.url}` }).end(bytes.subarray(0, 64 << 10))
    })
    const outcome = await withinBudget(
      'redirect',
      () => reader(gateway.url).load(cid, { range: { offset: 0, length: 3 } }),
      bound,
    )
    assert.deepEqual(outcome.value, bytes.subarray(0, 3))
  })

  it('a 404 with a long body is ERR_BLOCK_NOT_FOUND', async () => {
    const gateway = await answer(404)
    assertTypedError(
      await withinBudget('404', () => reader(gateway.url).load(cid), bound),
      'ERR_BLOCK_NOT_FOUND',
    )
  })

  it('a body that never comes, from a fetch that heeds no signal, ends at the store’s timeout', async () => {
    const gateway = await answer(200)
    const store = reader(gateway.url, { fetch: stuckCancelFetch(true), timeoutMs: 200 })
    const outcome = await withinBudget('stalled body', () => store.load(cid), bound)
    assertTypedError(outcome, 'ERR_STORE')
    assert.match(String((outcome.error as Error).message), /timed out after 200 ms/)
  })

  it('a fetch that never answers and heeds no signal ends at the store’s timeout', async () => {
    const gateway = await answer(200)
    const never: typeof globalThis.fetch = () => new Promise<Response>(() => {})
    const store = reader(gateway.url, { fetch: never, timeoutMs: 200 })
    const outcome = await withinBudget('no answer', () => store.load(cid), bound)
    assertTypedError(outcome, 'ERR_STORE')
    assert.match(String((outcome.error as Error).message), /timed out after 200 ms/)
  })

  it('a caller’s abort ends such a stalled read', async () => {
    const gateway = await answer(200)
    const store = reader(gateway.url, { fetch: stuckCancelFetch(true) })
    const reason = new Error('stop')
    const outcome = await withinBudget(
      'aborted',
      async () => {
        const controller = new AbortController()
        const reading = store.load(cid, { signal: controller.signal })
        // Aborted once the request reached the gateway (its body then never comes).
        while (gateway.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
        controller.abort(reason)
        return reading
      },
      bound,
    )
    assert.equal(outcome.error, reason)
  })
})

/**
 * The global fetch, counting the bytes its bodies handed to readers that still read them (a body
 * read to its end or cancelled counts no more): at most what the reads hold at once.
 */
function countingFetch() {
  let held = 0
  let peak = 0
  let largest = 0
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init)
    const reader = response.body?.getReader()
    let delivered = 0
    const done = (): void => {
      held -= delivered
      delivered = 0
    }
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const next = await reader?.read().catch((error: unknown) => {
            done()
            throw error
          })
          if (next === undefined || next.done) {
            done()
            controller.close()
            return
          }
          delivered += next.value.length
          held += next.value.length
          peak = Math.max(peak, held)
          largest = Math.max(largest, next.value.length)
          controller.enqueue(next.value)
        },
        cancel(reason) {
          done()
          return reader?.cancel(reason)
        },
      },
      { highWaterMark: 0 },
    )
    return new Response(body, { status: response.status, headers: response.headers })
  }
  return { fetch, peak: () => peak, largestPiece: () => largest }
}

const cids = await Promise.all(
  Array.from({ length: 32 }, async (_, i) => CID.createV1(DAG_PB, await sha256.digest(Uint8Array.of(i)))),
)

describe('unverifiedReadBytes holds for the store as a whole', () => {
  it('32 concurrent reads of endless bodies hold no more than it together, each ending typed', async () => {
    // 1 MiB a read and 32 at once: 32 MiB if each read had its own.
    const gateway = await serve((_req, res) => sendEndless(res, 1024))
    const bodies = countingFetch()
    const store = new KuboStore({
      rpcUrl: null,
      gateways: gateway.url,
      verify: false,
      retries: 0,
      unverifiedReadBytes: MiB,
      fetch: bodies.fetch,
    })
    const outcome = await withinBudget('32 endless reads', () =>
      Promise.allSettled(cids.map((c) => store.load(c))),
    )
    for (const result of outcome.value as PromiseSettledResult<Uint8Array>[]) {
      assert.equal(result.status, 'rejected')
      const error = (result as PromiseRejectedResult).reason
      assertTypedError({ error }, 'ERR_STORE')
      assert.match(String(error.message), /1048576 bytes.*unverifiedReadBytes/)
    }
    // What the reads held at once: their shared MiB, and the one piece each waiting read holds
    // beyond what it was granted.
    const bound = MiB + 32 * bodies.largestPiece()
    assert.ok(bodies.peak() <= bound, `the reads held ${bodies.peak()} bytes at once, bound ${bound}`)
    // A read stopped for older ones starts again once, when it is the oldest: no request storm.
    assert.ok(gateway.seen.length <= 64, `${gateway.seen.length} requests for 32 reads`)
  })

  for (const declared of [true, false]) {
    it(`(${declared ? 'declared' : 'not declared'}) 12 concurrent 2 MiB files with 3 MiB for all: each read waits its turn and succeeds`, async () => {
      const file = new Uint8Array(2 * MiB).map((_, i) => i % 251)
      const gateway = await serve((_req, res) => {
        res.writeHead(200, declared ? { 'content-length': String(file.length) } : {})
        res.end(file)
      })
      const store = new KuboStore({
        rpcUrl: null,
        gateways: gateway.url,
        verify: false,
        retries: 0,
        unverifiedReadBytes: 3 * MiB,
      })
      const outcome = await withinBudget('12 files', () =>
        Promise.all(
          cids.slice(0, 12).map((c) => store.load(c).then((bytes) => assert.deepEqual(bytes, file))),
        ),
      )
      assert.equal(outcome.error, undefined)
    })
  }
})
