// KuboStore against a real Kubo daemon (v0.43.0, built by scripts/kubo-env.sh), offline on loopback.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { type ByteRange, HAMT, isHamtError, KuboStore, type KuboStoreOptions } from '../src/index.js'
import { connectPeers, type KuboDaemon, kuboAddCid, startKubo } from './helpers/kubo.js'
import { startProxy } from './helpers/proxy.js'
import { storeComplianceSuite } from './helpers/store-compliance.js'

await loadBlake3()
const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl }
const unknownCid = async () =>
  CID.createV1(0x55, blake3Hasher.digest(new TextEncoder().encode(`never ${Math.random()}`)))
const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 255)

/** A fetch that counts requests by path and can fail or intercept them. */
function countingFetch(
  intercept?: (url: string, init?: RequestInit) => Promise<Response | undefined> | undefined,
) {
  const counts = { total: 0, byPath: new Map<string, number>() }
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input)
    counts.total++
    const path = new URL(url).pathname.replace(/\/ipfs\/.*/, '/ipfs/…')
    counts.byPath.set(path, (counts.byPath.get(path) ?? 0) + 1)
    return (await intercept?.(url, init)) ?? fetch(input, init)
  }
  return { counts, fetch: fetchFn as typeof globalThis.fetch }
}

storeComplianceSuite('KuboStore (write buffer)', async () => new KuboStore(urls), unknownCid)
storeComplianceSuite(
  'KuboStore (write-through)',
  async () => new KuboStore({ ...urls, writeBufferBytes: 0 }),
  unknownCid,
)

describe('KuboStore on a real daemon', () => {
  it('gives exactly the CIDs of single `add` requests with py-hamt’s parameters', async () => {
    const store = new KuboStore(urls)
    for (const size of [0, 10, 5000, 1 << 20, (1 << 20) + 1]) {
      for (const codec of ['raw', 'dag-cbor'] as const) {
        const data = bytes(size, size + 7)
        const expected = await kuboAddCid(daemon.rpcUrl, data, codec)
        const ours = await store.save(data, codec)
        assert.equal(ours.toString(), expected.toString(), `${size} bytes as ${codec}`)
      }
    }
    await store.flush()
  })

  it('checks an `add` answer above one chunk against the file laid out here, and keeps the buffer when it lies', async () => {
    const chunk = 16
    // Chunk and 174-link boundaries: one level, two levels, three levels.
    for (const size of [chunk + 1, 2 * chunk, 174 * chunk, 174 * chunk + 1, 174 * 174 * chunk + 1]) {
      for (const hash of ['blake3', 'sha2-256'] as const) {
        const data = bytes(size, size)
        const expected = await kuboAddCid(daemon.rpcUrl, data, 'raw', chunk, hash)
        assert.equal(expected.code, 0x70, 'a file')
        let lie: string | undefined
        const { fetch } = countingFetch(async (url, init) => {
          if (lie === undefined || !url.includes('/api/v0/add')) return undefined
          const answer = (await (await globalThis.fetch(url, init)).json()) as { Hash: string }
          return Response.json({ ...answer, Hash: lie })
        })
        const store = new KuboStore({ ...urls, hash, chunker: `size-${chunk}`, fetch })
        await store.save(bytes(5), 'raw')
        for (const wrong of [
          CID.createV1(0x55, expected.multihash), // the right digest, not a file
          await kuboAddCid(daemon.rpcUrl, bytes(size, size + 1), 'raw', chunk, hash),
        ]) {
          lie = String(wrong)
          await assert.rejects(store.save(data, 'raw'), (e) => isHamtError(e, 'ERR_INTEGRITY'), lie)
          assert.equal(store.bufferedBytes, 5, 'the buffer is as it was')
        }
        lie = undefined
        const cid = await store.save(data, 'raw')
        assert.equal(String(cid), String(expected), `${size} bytes, ${hash}`)
        await store.flush()
        assert.deepEqual(await store.load(cid), data)
      }
    }
  })

  it('flushes a HAMT of 3000 keys in a handful of requests, and a fresh store reads it all', async () => {
    const { counts, fetch } = countingFetch()
    const store = new KuboStore({ ...urls, fetch })
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < 3000; i++) await map.set(`key-${i}`, i)
    const root = await map.flush()
    assert.ok(CID.asCID(root)?.toString().startsWith('bafyr4'), `root ${root} is a dag-cbor BLAKE3 CID`)
    assert.ok(counts.total <= 3, `${counts.total} requests for ~3700 blocks`)
    const reader = await HAMT.open<number>(root, { store: new KuboStore(urls), readOnly: true })
    let n = 0
    for await (const [key, value] of reader) {
      assert.equal(value, Number(key.slice(4)))
      n++
    }
    assert.equal(n, 3000)
  })

  it('reads a value above one chunk (a UnixFS file) whole and by range, fetching only the blocks it needs', async () => {
    const store = new KuboStore(urls)
    const data = bytes((5 << 20) / 2, 3)
    const cid = await store.save(data, 'raw')
    assert.equal(cid.code, 0x70, 'dag-pb root')
    const { counts, fetch } = countingFetch()
    const reader = new KuboStore({ ...urls, fetch })
    assert.deepEqual(await reader.load(cid), data)
    const cases: Array<[ByteRange, number, number]> = [
      [{ offset: (1 << 20) - 6, length: 12 }, (1 << 20) - 6, (1 << 20) + 6],
      [{ suffix: 100 }, data.length - 100, data.length],
      [{ offset: 2 << 20 }, 2 << 20, data.length],
      [{ offset: 5, length: 0 }, 5, 5],
    ]
    for (const [range, start, end] of cases) {
      assert.deepEqual(await reader.load(cid, { range }), data.slice(start, end), JSON.stringify(range))
    }
    const before = counts.total
    await reader.load(cid, { range: { offset: (1 << 20) + 10, length: 10 } })
    assert.equal(counts.total - before, 2, 'the file root and the one chunk the range falls in')
    await assert.rejects(reader.load(cid, { range: { offset: data.length + 1 } }), (e) =>
      isHamtError(e, 'ERR_RANGE_NOT_SATISFIABLE'),
    )
  })

  it('reads a file by range through the gateway unverified exactly as verified, empty ranges included', async () => {
    const store = new KuboStore({ ...urls, chunker: 'size-16' })
    const data = bytes(100, 5)
    const cid = await store.save(data, 'raw')
    assert.equal(cid.code, 0x70, 'dag-pb root')
    const unverified = new KuboStore({ ...urls, rpcUrl: null, verify: false, retries: 0 })
    // Not { suffix: 101 }: Kubo 0.43 answers a suffix longer than the file with HTTP 500.
    const ranges: ByteRange[] = [{ suffix: 0 }, { suffix: 100 }, { offset: 100 }, { offset: 101 }]
    for (const offset of [0, 1, 50, 99, 100, 101]) {
      for (const length of [0, 1, 2]) ranges.push({ offset, length })
    }
    const outcome = (read: Promise<Uint8Array>) =>
      read.then(
        (value) => Array.from(value),
        (error: Error & { code?: string }) => error.code ?? error.message,
      )
    for (const range of ranges) {
      assert.deepEqual(
        await outcome(unverified.load(cid, { range })),
        await outcome(store.load(cid, { range })),
        JSON.stringify(range),
      )
    }
  })

  it('takes RPC and gateway URLs in the forms py-hamt takes', async () => {
    for (const form of ['http://h:8080', 'http://h:8080/', 'http://h:8080/ipfs', 'http://h:8080/ipfs/']) {
      assert.deepEqual(new KuboStore({ rpcUrl: null, gateways: form }).gateways, ['http://h:8080/ipfs/'])
    }
    const store = new KuboStore({
      rpcUrl: `${daemon.rpcUrl}/api/v0/`,
      gateways: `${daemon.gatewayUrl}/ipfs`,
    })
    assert.equal(store.rpcUrl, daemon.rpcUrl)
    const cid = await store.save(bytes(10), 'raw')
    await store.flush()
    assert.deepEqual(await store.load(cid), bytes(10))
    assert.throws(
      () => new KuboStore({ rpcUrl: 'localhost:5001' }),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT'),
    )
    assert.throws(() => new KuboStore({ gateways: 'ftp://x' }), /gateways must be an http\(s\) URL/)
    assert.throws(() => new KuboStore({ chunker: 'size-0' }), /chunker/)
  })

  it('pins a map recursively, lists, moves and removes the pin', async () => {
    const store = new KuboStore(urls)
    const map = await HAMT.create<number>({ store })
    await map.set('a', 1)
    const first = CID.asCID(await map.flush()) as CID
    await store.pin(first)
    assert.ok((await store.listPins()).some((p) => p.cid.equals(first) && p.type === 'recursive'))
    await map.set('b', 2)
    const second = CID.asCID(await map.flush()) as CID
    await store.updatePin(first, second)
    const pins = await store.listPins()
    assert.ok(pins.some((p) => p.cid.equals(second)) && !pins.some((p) => p.cid.equals(first)))
    await store.unpin(second)
    assert.ok(!(await store.listPins()).some((p) => p.cid.equals(second)))
  })

  it('pins every block it adds with pinOnAdd, through the batched upload as through a single add', async () => {
    const store = new KuboStore({ ...urls, pinOnAdd: true })
    const small = await store.save(bytes(64, 5), 'raw')
    const node = await store.save(bytes(80, 6), 'dag-cbor')
    await store.flush()
    const large = await store.save(bytes((1 << 20) + 10, 7), 'raw')
    const pinned = await store.listPins({ type: 'all' })
    const has = (cid: CID) =>
      pinned.some((p) => p.cid.multihash.bytes.join() === cid.multihash.bytes.join() && p.type !== 'indirect')
    assert.ok(has(small) && has(node) && has(large), 'each saved block is pinned')
    const unpinned = new KuboStore(urls)
    const loose = await unpinned.save(bytes(64, 8), 'raw')
    await unpinned.flush()
    assert.ok(
      !(await store.listPins({ type: 'all' })).some(
        (p) => p.cid.multihash.bytes.join() === loose.multihash.bytes.join(),
      ),
    )
  })

  it('retries network errors and "try again" answers (500) with back-off, but not other HTTP errors', async () => {
    const cid = await new KuboStore({ ...urls, writeBufferBytes: 0 }).save(bytes(50), 'raw')
    let failures = 2
    const flaky = countingFetch(async () => {
      if (failures-- > 0) throw new TypeError('fetch failed')
      return undefined
    })
    const store = new KuboStore({ ...urls, fetch: flaky.fetch, retryDelayMs: 5 })
    assert.deepEqual(await store.load(cid), bytes(50))
    assert.equal(flaky.counts.total, 3)
    const busy = countingFetch(async () => new Response('boom', { status: 500 }))
    const patient = new KuboStore({ ...urls, fetch: busy.fetch, retryDelayMs: 5 })
    await assert.rejects(patient.load(cid), /HTTP 500: boom/)
    assert.equal(busy.counts.total, 4, 'a 500 is tried again: one attempt and three retries')
    const failing = countingFetch(async () => new Response('no', { status: 403 }))
    const strict = new KuboStore({ ...urls, fetch: failing.fetch, retryDelayMs: 5 })
    await assert.rejects(strict.load(cid), /HTTP 403: no/)
    assert.equal(failing.counts.total, 1, 'a 403 is not retried')
    const garbled = countingFetch(async () => new Response('{"Hash": ', { status: 200 }))
    const confused = new KuboStore({ ...urls, fetch: garbled.fetch, retryDelayMs: 5 })
    await assert.rejects(confused.save(bytes(2 << 20), 'raw'), (e) => isHamtError(e, 'ERR_STORE'))
    assert.equal(garbled.counts.total, 1, 'an answer that is not JSON is not retried')
  })

  it('times out a gateway that never answers, after its retries, with a clear error', async () => {
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as AddressInfo).port
      const store = new KuboStore({
        rpcUrl: null,
        gateways: `http://127.0.0.1:${port}`,
        timeoutMs: 200,
        retries: 1,
        retryDelayMs: 5,
      })
      // The message names the given 200 ms: no time is asserted.
      await assert.rejects(store.load(await unknownCid()), /failed after 2 attempts: timed out after 200 ms/)
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })

  it('hands the caller’s AbortSignal to fetch and stops at once', async () => {
    let seen: AbortSignal | undefined
    const hanging = countingFetch(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          seen = init?.signal ?? undefined
          seen?.addEventListener('abort', () => reject(seen?.reason))
        }),
    )
    const store = new KuboStore({ ...urls, fetch: hanging.fetch })
    const controller = new AbortController()
    const pending = store.load(await unknownCid(), { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await assert.rejects(pending, { name: 'AbortError' })
    assert.equal(seen?.aborted, true)
    assert.equal(hanging.counts.total, 1, 'an abort is not retried')
  })

  it('catches a gateway that serves wrong or truncated bytes, and fails over to the next gateway', async () => {
    const store = new KuboStore({ ...urls, writeBufferBytes: 0 })
    const data = bytes(300, 9)
    const cid = await store.save(data, 'raw')
    const flipped = await startProxy(daemon.gatewayUrl, {
      rewriteBody: (body, url) =>
        url.startsWith('/ipfs/') ? Uint8Array.from(body, (b, i) => (i === 7 ? b ^ 1 : b)) : body,
    })
    const truncated = await startProxy(daemon.gatewayUrl, {
      rewriteBody: (body) => body.subarray(0, body.length - 1),
    })
    try {
      for (const proxy of [flipped, truncated]) {
        const liar = new KuboStore({ rpcUrl: null, gateways: proxy.url })
        await assert.rejects(
          liar.load(cid),
          (e) => isHamtError(e, 'ERR_INTEGRITY') && /does not match its CID/.test(String(e)),
        )
        await assert.rejects(liar.load(cid, { range: { offset: 0, length: 5 } }), (e) =>
          isHamtError(e, 'ERR_INTEGRITY'),
        )
      }
      const failover = new KuboStore({ rpcUrl: null, gateways: [flipped.url, daemon.gatewayUrl] })
      assert.deepEqual(await failover.load(cid), data)
      const map = await HAMT.create<number>({ store })
      await map.set('k', 1)
      const root = await map.flush()
      await assert.rejects(
        HAMT.open(root, { store: new KuboStore({ rpcUrl: null, gateways: flipped.url }) }),
        (e) => isHamtError(e, 'ERR_INTEGRITY'),
      )
    } finally {
      await flipped.close()
      await truncated.close()
    }
  })

  it('sends basic or bearer credentials that reach the daemon through a proxy that demands them', async () => {
    for (const [auth, header] of [
      [{ bearer: 's3cret' }, 'Bearer s3cret'],
      [{ username: 'ada', password: 'lovelace' }, `Basic ${btoa('ada:lovelace')}`],
    ] as const) {
      const rpc = await startProxy(daemon.rpcUrl, { requireAuthorization: header })
      const gateway = await startProxy(daemon.gatewayUrl, { requireAuthorization: header })
      try {
        const store = new KuboStore({ rpcUrl: rpc.url, gateways: gateway.url, auth })
        const map = await HAMT.create<string>({ store })
        await map.set('greeting', 'hello')
        const root = await map.flush()
        const reader = await HAMT.open<string>(root, {
          store: new KuboStore({ rpcUrl: null, gateways: gateway.url, auth }),
        })
        assert.equal(await reader.get('greeting'), 'hello')
        assert.ok(rpc.seen.length > 0 && gateway.seen.length > 0)
        assert.ok([...rpc.seen, ...gateway.seen].every((r) => r.authorization === header))
        const { counts, fetch } = countingFetch()
        const anonymous = new KuboStore({ rpcUrl: rpc.url, gateways: gateway.url, fetch })
        await assert.rejects(
          anonymous.save(bytes(5), 'raw').then(() => anonymous.flush()),
          /HTTP 401/,
        )
        assert.equal(counts.total, 1)
      } finally {
        await rpc.close()
        await gateway.close()
      }
    }
  })

  it('keeps at most `concurrency` requests in flight and sends custom headers with each', async () => {
    const writer = new KuboStore({ ...urls, writeBufferBytes: 0 })
    const cids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => writer.save(bytes(100, i + 1), 'raw')),
    )
    let inFlight = 0
    let maxInFlight = 0
    const headersSeen: string[] = []
    const tracked = countingFetch(async (url, init) => {
      headersSeen.push(new Headers(init?.headers).get('x-api-key') ?? '')
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      try {
        await new Promise((resolve) => setTimeout(resolve, 5))
        return await fetch(url, init)
      } finally {
        inFlight--
      }
    })
    const store = new KuboStore({
      ...urls,
      fetch: tracked.fetch,
      concurrency: 3,
      headers: { 'x-api-key': 'k1' },
    })
    const loaded = await Promise.all(cids.map((cid) => store.load(cid)))
    for (const [i, data] of loaded.entries()) assert.deepEqual(data, bytes(100, i + 1))
    assert.equal(maxInFlight, 3)
    assert.ok(headersSeen.length === 20 && headersSeen.every((h) => h === 'k1'))
  })

  it('a store without rpcUrl reads and refuses writes', async () => {
    const reader = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl })
    await assert.rejects(reader.save(bytes(3), 'raw'), /has no rpcUrl \(read-only\)/)
    await assert.rejects(reader.pin(await unknownCid()), /read-only/)
  })
})

describe('HAMT on Kubo: faults and peers', () => {
  async function buildOn(store: KuboStore, keys: number): Promise<HAMT<number>> {
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < keys; i++) await map.set(`key-${i}`, i * 3)
    return map
  }

  it('a daemon stopped in the middle of a flush: the flush fails, the map keeps its changes, a retry after restart gives the undisturbed root', async () => {
    const reference = await startKubo()
    const victim = await startKubo()
    try {
      const undisturbed = await (
        await buildOn(new KuboStore({ rpcUrl: reference.rpcUrl, gateways: reference.gatewayUrl }), 2000)
      ).flush()
      let killed = false
      const { fetch } = countingFetch(async (url) => {
        if (!killed && url.includes('/api/v0/dag/import')) {
          killed = true
          await victim.kill()
        }
        return undefined
      })
      const store = new KuboStore({
        rpcUrl: victim.rpcUrl,
        gateways: victim.gatewayUrl,
        fetch,
        retries: 2,
        retryDelayMs: 20,
      })
      const map = await buildOn(store, 2000)
      await assert.rejects(
        map.flush(),
        (e) => isHamtError(e, 'ERR_STORE') && /failed after 3 attempts/.test(String(e)),
      )
      assert.equal(map.hasUnflushedChanges, true)
      assert.equal(await map.size(), 2000)
      assert.equal(await map.get('key-1999'), 1999 * 3)
      await victim.restart()
      const root = await map.flush()
      assert.equal(String(root), String(undisturbed))
      const reader = await HAMT.open<number>(root, {
        store: new KuboStore({ rpcUrl: null, gateways: victim.gatewayUrl }),
      })
      for (let i = 0; i < 2000; i += 97) assert.equal(await reader.get(`key-${i}`), i * 3)
    } finally {
      await reference.stop()
      await victim.stop()
    }
  })

  it('an rpcUrl answering 2xx without importing fails the flush and keeps the blocks; the right daemon then takes them', async () => {
    // First another service (200 with its own JSON), then the daemon itself behind the same URL.
    let impostor = true
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      if (impostor) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
        return
      }
      const answer = await fetch(`${daemon.rpcUrl}${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body: Buffer.concat(chunks),
      })
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const rpcUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const store = new KuboStore({ rpcUrl, gateways: daemon.gatewayUrl })
      const map = await buildOn(store, 300)
      await assert.rejects(map.flush(), (e) => isHamtError(e, 'ERR_STORE') && /dag\/import/.test(String(e)))
      assert.ok(store.bufferedBytes > 0, 'the blocks are still buffered')
      assert.equal(map.hasUnflushedChanges, true)
      impostor = false
      const root = await map.flush()
      assert.equal(store.bufferedBytes, 0)
      const reader = await HAMT.open<number>(root, {
        store: new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl }),
      })
      assert.equal(await reader.size(), 300)
      assert.equal(await reader.get('key-299'), 299 * 3)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('a map written through daemon A reads in full through daemon B’s gateway once they are peered', async () => {
    const a: KuboDaemon = await startKubo({ offline: false })
    const b: KuboDaemon = await startKubo({ offline: false })
    try {
      await connectPeers(a, b)
      const map = await buildOn(new KuboStore({ rpcUrl: a.rpcUrl, gateways: a.gatewayUrl }), 500)
      const root = await map.flush()
      const options: KuboStoreOptions = { rpcUrl: null, gateways: b.gatewayUrl, timeoutMs: 20_000 }
      const reader = await HAMT.open<number>(root, { store: new KuboStore(options), readOnly: true })
      let n = 0
      for await (const [key, value] of reader) {
        assert.equal(value, Number(key.slice(4)) * 3)
        n++
      }
      assert.equal(n, 500)
    } finally {
      await a.stop()
      await b.stop()
    }
  })
})
