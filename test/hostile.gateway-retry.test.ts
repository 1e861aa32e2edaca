// Gateways that say "try again", lack a block, stall, fail for a while, or close kept-alive
// connections: each read ends in the right bytes or one typed error, the requests each gateway got
// are counted, and every case runs within a budget (small delays through options, no long sleeps).
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import { blockDigest } from '../src/cas/id.js'
import { retryAfterMs } from '../src/cas/retry.js'
import { buildUnixfsFile } from '../src/cas/unixfs-builder.js'
import { GatewaysFailedError, KuboStore, TrustlessGatewayStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type Loopback, serve } from './helpers/loopback.js'

const fetches: Array<[string, () => typeof globalThis.fetch]> = [
  ['global fetch', () => globalThis.fetch.bind(globalThis)],
  ['nodeHttpFetch', () => nodeHttpFetch()],
]

async function rawBlock(bytes: Uint8Array): Promise<{ cid: CID; bytes: Uint8Array }> {
  return { cid: CID.createV1(RAW, await blockDigest('blake3', bytes)), bytes }
}

const blocks = await Promise.all(Array.from({ length: 8 }, (_, i) => rawBlock(Uint8Array.of(i, 7, 7))))
const block = blocks[0] as { cid: CID; bytes: Uint8Array }
const served = new Map(blocks.map((b) => [String(b.cid), b.bytes]))

const cidOf = (req: IncomingMessage): string => /^\/ipfs\/([^?/]+)/.exec(req.url ?? '')?.[1] ?? ''

/** Answers with the block the URL names, or 404. */
function answer(req: IncomingMessage, res: ServerResponse, from = served): void {
  const bytes = from.get(cidOf(req))
  if (bytes === undefined) res.writeHead(404).end('not found')
  else res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(bytes)
}

/** A gateway named `name` that logs each request's arrival in `log`, then lets `handle` answer it. */
function gateway(
  name: string,
  log: string[],
  handle: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<Loopback> {
  let n = 0
  return serve((req, res) => {
    log.push(name)
    handle(req, res, ++n)
  })
}

/** Fast retries, so a case costs milliseconds; cases that test a wait set their own delays. */
const quick = { retryDelayMs: 1, timeoutMs: 2_000 }

// Warm up both fetches and BLAKE3, so the budget measures the cases.
await (async () => {
  const warm = await serve((req, res) => answer(req, res))
  for (const [, makeFetch] of fetches) {
    await new TrustlessGatewayStore({ gateways: warm.url, fetch: makeFetch() }).load(block.cid)
  }
})()

describe('answers that mean "try again" are retried, others are not', () => {
  it('503 then 200: retried on the same gateway; the next gateway is never asked', async () => {
    const log: string[] = []
    const a = await gateway('a', log, (req, res, n) =>
      n === 1 ? res.writeHead(503).end() : answer(req, res),
    )
    const b = await gateway('b', log, (req, res) => answer(req, res))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], ...quick })
    const outcome = await withinBudget('503 then 200', () => store.load(block.cid))
    assert.deepEqual(outcome.value, block.bytes)
    assert.deepEqual(log, ['a', 'a'])
  })

  it('429, 500, 502, 503 and 504 are retried up to `retries`, then are the HTTP error with its status', async () => {
    for (const status of [429, 500, 502, 503, 504]) {
      const log: string[] = []
      const a = await gateway('a', log, (_req, res) => res.writeHead(status).end('busy'))
      const store = new TrustlessGatewayStore({ gateways: a.url, ...quick, retries: 2 })
      const outcome = await withinBudget(`${status}`, () => store.load(block.cid))
      assertTypedError(outcome, 'ERR_STORE')
      assert.equal((outcome.error as { status?: number }).status, status)
      assert.equal(a.seen.length, 3, `${status}: one attempt and two retries`)
    }
  })

  it('400, 401, 403, 410, 501 are not retried: the read moves to the next gateway at once', async () => {
    for (const status of [400, 401, 403, 410, 501]) {
      const log: string[] = []
      const a = await gateway('a', log, (_req, res) => res.writeHead(status).end())
      const b = await gateway('b', log, (req, res) => answer(req, res))
      const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], ...quick })
      const outcome = await withinBudget(`${status}`, () => store.load(block.cid))
      assert.deepEqual(outcome.value, block.bytes)
      assert.deepEqual(log, ['a', 'b'], `${status}`)
    }
  })

  it('404 on one gateway, data on the next: one request each, in order', async () => {
    const log: string[] = []
    const a = await gateway('a', log, (req, res) => answer(req, res, new Map()))
    const b = await gateway('b', log, (req, res) => answer(req, res))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], ...quick })
    assert.deepEqual((await withinBudget('404 then data', () => store.load(block.cid))).value, block.bytes)
    assert.deepEqual(log, ['a', 'b'])
    // Not found anywhere is an answer, ERR_BLOCK_NOT_FOUND, not a store failure.
    const missing = await rawBlock(Uint8Array.of(9, 9))
    assertTypedError(
      await withinBudget('404 everywhere', () => store.load(missing.cid)),
      'ERR_BLOCK_NOT_FOUND',
    )
  })

  it('429 without Retry-After backs off (retryDelayMs), then reads', async () => {
    const log: string[] = []
    const a = await gateway('a', log, (req, res, n) => (n <= 2 ? res.writeHead(429).end() : answer(req, res)))
    const store = new TrustlessGatewayStore({ gateways: a.url, retryDelayMs: 20 })
    assert.deepEqual((await withinBudget('429 twice', () => store.load(block.cid))).value, block.bytes)
    assert.equal(a.seen.length, 3)
  })

  it('Retry-After replaces back-off: 0 seconds or a past date retry at once, however long back-off would be', async () => {
    const past = new Date(Date.now() - 60_000).toUTCString()
    for (const retryAfter of ['0', past]) {
      const log: string[] = []
      const a = await gateway('a', log, (req, res, n) =>
        n === 1 ? res.writeHead(429, { 'retry-after': retryAfter }).end() : answer(req, res),
      )
      // A back-off of 10 minutes would outlast the budget: only Retry-After can make this pass.
      const store = new TrustlessGatewayStore({ gateways: a.url, retryDelayMs: 600_000 })
      const outcome = await withinBudget(`Retry-After: ${retryAfter}`, () => store.load(block.cid))
      assert.deepEqual(outcome.value, block.bytes)
      assert.equal(a.seen.length, 2)
    }
  })

  it('a long Retry-After (seconds or a date) is waited for until the caller gives up; maxRetryDelayMs caps it', async () => {
    const future = new Date(Date.now() + 3_600_000).toUTCString()
    for (const retryAfter of ['3600', future]) {
      const a = await gateway('a', [], (req, res, n) =>
        n === 1 ? res.writeHead(503, { 'retry-after': retryAfter }).end() : answer(req, res),
      )
      const controller = new AbortController()
      const reason = new Error('the caller gave up')
      // The caller gives up 100 ms after the 503 reached the store, when a 1 ms back-off would have
      // retried (a 100 ms timer from the start could fire before the request left, at load).
      let fetched = 0
      const fetch: typeof globalThis.fetch = async (input, init) => {
        fetched++
        const response = await globalThis.fetch(input, init)
        if (response.status === 503) setTimeout(() => controller.abort(reason), 100)
        return response
      }
      const waiting = new TrustlessGatewayStore({ gateways: a.url, retryDelayMs: 1, fetch })
      const outcome = await withinBudget(`Retry-After: ${retryAfter}`, () =>
        waiting.load(block.cid, { signal: controller.signal }),
      )
      assert.equal(outcome.error, reason, 'the signal ends the wait')
      assert.equal(fetched, 1, 'no retry before Retry-After (back-off alone would have retried in ~1 ms)')
      assert.equal(a.seen.length, 1)
      const capped = new TrustlessGatewayStore({ gateways: a.url, retryDelayMs: 1, maxRetryDelayMs: 20 })
      const read = await withinBudget(`capped ${retryAfter}`, () => capped.load(block.cid))
      assert.deepEqual(read.value, block.bytes)
    }
  })

  it('Retry-After values: delay-seconds and HTTP dates; anything else leaves back-off in charge', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT')
    assert.equal(retryAfterMs('120', now), 120_000)
    assert.equal(retryAfterMs(' 1.5 ', now), 1_500)
    assert.equal(retryAfterMs('Sun, 06 Nov 1994 08:50:37 GMT', now), 60_000)
    assert.equal(retryAfterMs('Sun, 06 Nov 1994 08:48:37 GMT', now), 0)
    for (const junk of [null, '', '-5', 'soon', '1e3', 'Infinity', '5 seconds', 'Tue']) {
      assert.equal(retryAfterMs(junk, now), undefined, String(junk))
    }
  })

  it('KuboStore retries its RPC on 503 (as py-hamt retries add), but not a 500, which Kubo answers to a failed command', async () => {
    let calls = 0
    const rpc = await serve((req, res) => {
      req.resume()
      if (req.url?.includes('/pin/rm')) res.writeHead(500).end('{"Message":"not pinned","Type":"error"}')
      else if (++calls === 1) res.writeHead(503).end()
      // The BLAKE3 raw CID of 'a', as Kubo answers it (the answer of one raw block is checked).
      else res.writeHead(200).end('{"Hash":"bafkr4iaxoyx53wljurjzexlfof5mh3vccmqlm22ugqx54fisrvwk6ijbl4"}')
    })
    const store = new KuboStore({ rpcUrl: rpc.url, gateways: rpc.url, chunker: 'rabin', ...quick })
    const outcome = await withinBudget('add after 503', () =>
      store.save(new TextEncoder().encode('a'), 'raw'),
    )
    assert.ok(outcome.value instanceof CID, String(outcome.error))
    assert.equal(calls, 2)
    const unpin = await withinBudget('pin/rm', () => store.unpin(outcome.value as CID))
    assertTypedError(unpin, 'ERR_STORE')
    assert.match(String(unpin.error), /not pinned/)
    assert.equal(rpc.seen.filter((seen) => seen.url.includes('/pin/rm')).length, 1)
  })
})

describe('a stalled gateway', () => {
  it('times out per attempt and the read moves on; the caller’s signal ends a stall at once', async () => {
    const log: string[] = []
    const a = await gateway('a', log, () => {}) // never answers
    const b = await gateway('b', log, (req, res) => answer(req, res))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], retries: 0, timeoutMs: 150 })
    assert.deepEqual((await withinBudget('stall', () => store.load(block.cid))).value, block.bytes)
    assert.deepEqual(log, ['a', 'b'])
    // The given 150 ms ended the attempt, not the 60 s default (no time is asserted).
    const alone = new TrustlessGatewayStore({ gateways: a.url, retries: 0, timeoutMs: 150 })
    assert.match(
      String((await withinBudget('stall alone', () => alone.load(block.cid))).error),
      /timed out after 150 ms/,
    )
    const patient = new TrustlessGatewayStore({ gateways: a.url, timeoutMs: 60_000 })
    const reason = new Error('enough')
    const outcome = await withinBudget('stall, abort', () => {
      const controller = new AbortController()
      setTimeout(() => controller.abort(reason), 100)
      return patient.load(block.cid, { signal: controller.signal })
    })
    assert.equal(outcome.error, reason)
  })
})

describe('gateway health', () => {
  it('a gateway failing 3 reads in a row goes to the back for gatewayCooldownMs, then is tried again and rejoins', async () => {
    const log: string[] = []
    let down = true
    const a = await gateway('a', log, (req, res) => (down ? res.writeHead(502).end() : answer(req, res)))
    const b = await gateway('b', log, (req, res) => answer(req, res))
    const cooldownMs = 600
    const store = new TrustlessGatewayStore({
      gateways: [a.url, b.url],
      retries: 0,
      gatewayCooldownMs: cooldownMs,
    })
    const read = async (i: number): Promise<string[]> => {
      log.length = 0
      const outcome = await withinBudget(`read ${i}`, () => store.load((blocks[i] as { cid: CID }).cid))
      assert.deepEqual(outcome.value, blocks[i]?.bytes)
      return [...log]
    }
    /** Reads at the back of the order, as long as the cooldown lasts (a loaded machine may outlast it). */
    const atTheBack = async (since: number, i: number): Promise<void> => {
      const order = await read(i)
      if (performance.now() - since < cooldownMs)
        assert.deepEqual(order, ['b'], `read ${i}: a is at the back`)
    }
    const cooldown = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, cooldownMs + 50))
    for (let i = 0; i < 3; i++) assert.deepEqual(await read(i), ['a', 'b'], `failure ${i + 1} of a`)
    let tripped = performance.now()
    await atTheBack(tripped, 3)
    await atTheBack(tripped, 4)
    await cooldown()
    // On probation after the cooldown: tried first, one more failure sends it back at once.
    assert.deepEqual(await read(5), ['a', 'b'])
    tripped = performance.now()
    await atTheBack(tripped, 6)
    await cooldown()
    down = false
    assert.deepEqual(await read(7), ['a'], 'recovered: first again')
    assert.deepEqual(await read(0), ['a'])
  })

  it('gatewayFailureThreshold sets how many failures trip a gateway', async () => {
    const log: string[] = []
    const a = await gateway('a', log, (_req, res) => res.writeHead(500).end())
    const b = await gateway('b', log, (req, res) => answer(req, res))
    const store = new TrustlessGatewayStore({
      gateways: [a.url, b.url],
      retries: 0,
      gatewayFailureThreshold: 1,
    })
    await withinBudget('trip', () => store.load(block.cid))
    log.length = 0
    await withinBudget('after', () => store.load(block.cid))
    assert.deepEqual(log, ['b'])
  })

  it('concurrency is per gateway: a saturated gateway is skipped while another has a free slot', async () => {
    const log: string[] = []
    const held: ServerResponse[] = []
    let aInFlight = 0
    let aMostInFlight = 0
    const a = await gateway('a', log, (req, res) => {
      aInFlight++
      aMostInFlight = Math.max(aMostInFlight, aInFlight)
      held.push(res)
      res.on('finish', () => aInFlight--)
      // Held until released below, so its slot stays taken.
      ;(res as ServerResponse & { release?: () => void }).release = () => answer(req, res)
    })
    const b = await gateway('b', log, (req, res) => answer(req, res))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], concurrency: 1 })
    const first = store.load((blocks[0] as { cid: CID }).cid)
    // Bounded: a first read that never reaches a fails at the hang bound instead of hanging.
    const reached = await withinBudget('the first read reaching a', async (signal) => {
      while (held.length === 0 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    })
    assert.equal(reached.error, undefined)
    // a's one slot is taken: the next reads go to b rather than queue behind a.
    const others = await withinBudget('while a is busy', async () => {
      const got: Uint8Array[] = []
      for (const other of blocks.slice(1)) got.push(await store.load(other.cid))
      return got
    })
    assert.deepEqual(
      others.value,
      blocks.slice(1).map((other) => other.bytes),
    )
    assert.equal(a.seen.length, 1)
    assert.equal(b.seen.length, blocks.length - 1)
    for (const res of held) (res as ServerResponse & { release: () => void }).release()
    assert.deepEqual(await first, blocks[0]?.bytes)
    assert.equal(aMostInFlight, 1)
  })

  it('one gateway never has more than `concurrency` requests in flight', async () => {
    let inFlight = 0
    let most = 0
    const a = await serve((req, res) => {
      inFlight++
      most = Math.max(most, inFlight)
      setTimeout(() => {
        inFlight--
        answer(req, res)
      }, 5)
    })
    const store = new TrustlessGatewayStore({ gateways: a.url, concurrency: 3 })
    const outcome = await withinBudget('30 reads', () =>
      Promise.all(
        Array.from({ length: 30 }, (_, i) => store.load((blocks[i % blocks.length] as { cid: CID }).cid)),
      ),
    )
    assert.equal(outcome.value?.length, 30)
    assert.equal(most, 3)
  })
})

describe('when every gateway fails', () => {
  it('one GatewaysFailedError lists each gateway’s failure in the order tried, with its URL and status', async () => {
    const log: string[] = []
    const a = await gateway('a', log, (_req, res) => res.writeHead(503).end('overloaded'))
    const b = await gateway('b', log, (_req, res) => res.writeHead(403).end('forbidden'))
    const c = await gateway('c', log, (_req, res) => res.writeHead(200).end('<html>welcome</html>'))
    const d = await gateway('d', log, (req, res) => answer(req, res, new Map()))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url, c.url, d.url], ...quick, retries: 1 })
    const outcome = await withinBudget('all fail', () => store.load(block.cid))
    assertTypedError(outcome, 'ERR_STORE')
    const error = outcome.error as GatewaysFailedError
    assert.ok(error instanceof GatewaysFailedError)
    assert.deepEqual(log, ['a', 'a', 'b', 'c', 'd'])
    assert.deepEqual(
      error.failures.map(({ url, status }) => [url, status]),
      [
        [`${a.url}/ipfs/`, 503],
        [`${b.url}/ipfs/`, 403],
        [`${c.url}/ipfs/`, undefined],
        [`${d.url}/ipfs/`, 404],
      ],
    )
    assert.equal((error.failures[2]?.error as { code?: string } | undefined)?.code, 'ERR_INTEGRITY')
    for (const [url, text] of [
      [a.url, 'HTTP 503'],
      [b.url, 'forbidden'],
      [c.url, 'does not match'],
      [d.url, 'HTTP 404'],
    ] as const) {
      assert.match(error.message, new RegExp(`${url}/ipfs/[^;]*${text}`))
    }
  })

  it('wrong bytes from every gateway stay ERR_INTEGRITY, naming each gateway', async () => {
    const log: string[] = []
    const a = await gateway('a', log, (_req, res) => res.writeHead(200).end('not the block'))
    const b = await gateway('b', log, (_req, res) => res.writeHead(200).end('nor this'))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], ...quick, retries: 0 })
    const outcome = await withinBudget('all lie', () => store.load(block.cid))
    assertTypedError(outcome, 'ERR_INTEGRITY')
    assert.deepEqual(log, ['a', 'b'])
    for (const url of [a.url, b.url]) assert.ok(String(outcome.error).includes(`${url}/ipfs/`))
  })

  it('with one gateway its own error is the error (as py-hamt re-raises it)', async () => {
    const a = await serve((_req, res) => res.writeHead(403).end())
    const store = new TrustlessGatewayStore({ gateways: a.url, ...quick })
    const outcome = await withinBudget('one gateway', () => store.load(block.cid))
    assert.equal((outcome.error as { status?: number }).status, 403)
    assert.ok(!(outcome.error instanceof GatewaysFailedError))
  })
})

describe('a UnixFS file fails over per block, not per file', () => {
  it('each gateway serving part of a file: the read takes each block from the first that has it', async () => {
    const data = Uint8Array.from({ length: 5_000 }, (_, i) => (i * 13) & 255)
    const file = await buildUnixfsFile(data, 1_000, (bytes) => blockDigest('blake3', bytes))
    assert.ok(file.blocks.length >= 6)
    const leaves = file.blocks.filter((b) => !b.cid.equals(file.root))
    // a has the root and every other leaf, b the rest; a lies about one leaf it claims to have.
    const onA = new Map([
      [String(file.root), file.blocks.find((b) => b.cid.equals(file.root))?.bytes as Uint8Array],
    ])
    const onB = new Map<string, Uint8Array>()
    for (const [i, leaf] of leaves.entries()) (i % 2 === 0 ? onA : onB).set(String(leaf.cid), leaf.bytes)
    const liedAbout = String(leaves[1]?.cid)
    onA.set(liedAbout, Uint8Array.of(0))
    onB.set(liedAbout, leaves[1]?.bytes as Uint8Array)
    const log: string[] = []
    const a = await gateway('a', log, (req, res) => answer(req, res, onA))
    const b = await gateway('b', log, (req, res) => answer(req, res, onB))
    const store = new TrustlessGatewayStore({ gateways: [a.url, b.url], ...quick, retries: 0 })
    const outcome = await withinBudget('split file', () => store.load(file.root))
    assert.deepEqual(outcome.value, data)
    assert.equal(a.seen.length, file.blocks.length, 'a is asked once for each block')
    const fromB = new Set(b.seen.map((seen) => cidOf(seen as IncomingMessage)))
    assert.deepEqual(fromB, new Set([...onB.keys()]), 'b only for the blocks a lacks or lied about')
    assert.ok(!fromB.has(String(file.root)))
  })
})

/** A gateway that closes each connection as its request number `after + 1` arrives; counts those dropped. */
async function droppingAfter(after: number): Promise<Loopback & { dropped: () => number }> {
  const perSocket = new WeakMap<object, number>()
  let dropped = 0
  const server = await serve((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1
    perSocket.set(req.socket, n)
    if (n <= after) return answer(req, res)
    dropped++
    req.socket.destroy()
  })
  return { ...server, dropped: () => dropped }
}

describe('servers that close kept-alive connections', () => {
  it('nodeHttpFetch on its own sends a GET again when its kept-alive connection was closed', async () => {
    const a = await droppingAfter(2)
    const fetch = nodeHttpFetch({ maxSockets: 4 })
    const outcome = await withinBudget('nodeHttpFetch alone', async () => {
      for (let round = 0; round < 3; round++) {
        for (const { cid, bytes } of blocks) {
          const response = await fetch(`${a.url}/ipfs/${cid}`)
          assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes)
        }
      }
    })
    assert.equal(outcome.error, undefined)
    assert.ok(a.dropped() >= 5)
    assert.equal(a.seen.length, 3 * blocks.length + a.dropped())
  })

  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: a server dropping each connection after 2 requests fails no read, even with retries: 0`, async () => {
      const a = await droppingAfter(2)
      const store = new TrustlessGatewayStore({ gateways: a.url, fetch: makeFetch(), retries: 0 })
      const outcome = await withinBudget('drops', async () => {
        for (let round = 0; round < 3; round++) {
          for (const { cid, bytes } of blocks) assert.deepEqual(await store.load(cid), bytes)
        }
      })
      assert.equal(outcome.error, undefined)
      assert.ok(a.dropped() >= 5, `the server dropped ${a.dropped()} requests`)
      assert.equal(a.seen.length, 3 * blocks.length + a.dropped(), 'each dropped request sent again once')
    })

    it(`${fetchName}: nginx's keepalive_requests (Connection: close on the Nth answer), in parallel`, async () => {
      const perSocket = new WeakMap<object, number>()
      const a = await serve((req, res) => {
        const n = (perSocket.get(req.socket) ?? 0) + 1
        perSocket.set(req.socket, n)
        if (n === 3) res.setHeader('connection', 'close')
        answer(req, res)
      })
      const store = new TrustlessGatewayStore({ gateways: a.url, fetch: makeFetch(), retries: 0 })
      const outcome = await withinBudget('keepalive_requests 3', () =>
        Promise.all(
          Array.from({ length: 200 }, (_, i) => store.load((blocks[i % blocks.length] as { cid: CID }).cid)),
        ),
      )
      assert.equal(outcome.error, undefined)
      assert.equal(a.seen.length, 200)
    })
  }
})
