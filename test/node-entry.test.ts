// ts-hamt/node against a real Kubo daemon (offline, loopback): the node:http fetch and the zstd
// decoder and BLAKE3 hasher (in this thread and on worker threads), each checked against what the default path (global fetch, numcodecs) gives.
import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import zlib from 'node:zlib'
import { CID } from 'multiformats/cid'
import NumcodecsZstd from 'numcodecs/zstd'
import * as zarr from 'zarrita'
import { blake3, blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { HAMT, isHamtError, KuboStore } from '../src/index.js'
import { nodeHttpFetch, nodeWorkers } from '../src/node/index.js'
import { registerZstdCodec } from '../src/zstd/node.js'
import { startKubo } from './helpers/kubo.js'
import { storeComplianceSuite } from './helpers/store-compliance.js'

await loadBlake3()
const daemon = await startKubo()
after(() => daemon.stop())
const unknownCid = async () =>
  CID.createV1(0x55, blake3Hasher.digest(new TextEncoder().encode(`never ${Math.random()}`)))
const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 255)

storeComplianceSuite(
  'KuboStore over nodeHttpFetch',
  async () => new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, fetch: nodeHttpFetch() }),
  unknownCid,
)

describe('nodeHttpFetch', () => {
  it('reads what the global fetch reads: blocks, a UnixFS file by range, status, headers', async () => {
    const writer = new KuboStore({
      rpcUrl: daemon.rpcUrl,
      gateways: daemon.gatewayUrl,
      chunker: 'size-1000',
    })
    const small = await writer.save(bytes(3000, 3), 'raw')
    const large = await writer.save(bytes(2_500_000, 5), 'raw') // a UnixFS file of 1000-byte chunks
    await writer.flush()
    const fetchFn = nodeHttpFetch()
    const reader = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl, fetch: fetchFn })
    const plain = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl })
    assert.deepEqual(await reader.load(small), await plain.load(small))
    const range = { offset: 1_234_567, length: 4321 }
    assert.deepEqual(await reader.load(large, { range }), await plain.load(large, { range }))
    const url = `${daemon.gatewayUrl}/ipfs/${small}?format=raw`
    const [ours, theirs] = await Promise.all([fetchFn(url), fetch(url)])
    assert.equal(ours.status, theirs.status)
    assert.equal(ours.headers.get('content-length'), theirs.headers.get('content-length'))
    assert.deepEqual(new Uint8Array(await ours.arrayBuffer()), new Uint8Array(await theirs.arrayBuffer()))
    assert.equal(ours.bodyUsed, true)
    await assert.rejects(ours.text(), TypeError) // a body reads once, as fetch's
  })

  it('answers HTTP errors as responses; a missing block fails with the error the global fetch gives', async () => {
    const fetchFn = nodeHttpFetch()
    const response = await fetchFn(`${daemon.gatewayUrl}/ipfs/not-a-cid`)
    assert.equal(response.ok, false)
    assert.ok(response.status >= 400, `status ${response.status}`)
    assert.ok((await response.text()).length > 0)
    const reader = new KuboStore({
      rpcUrl: null,
      gateways: daemon.gatewayUrl,
      fetch: fetchFn,
      timeoutMs: 2000,
    })
    const plain = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl, timeoutMs: 2000 })
    const missing = await unknownCid()
    const expected = await plain.load(missing).then(
      () => assert.fail('the block should be missing'),
      (error: unknown) => error,
    )
    await assert.rejects(reader.load(missing), (error) => {
      return isHamtError(error) && error.code === (expected as { code?: string }).code
    })
  })

  it('fails like fetch: a TypeError when nothing listens, the reason when aborted', async () => {
    const server = createServer(() => {}) // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    try {
      const fetchFn = nodeHttpFetch()
      const reason = new Error('stop waiting')
      const controller = new AbortController()
      const pending = fetchFn(`http://127.0.0.1:${port}/ipfs/x`, { signal: controller.signal })
      setTimeout(() => controller.abort(reason), 50)
      await assert.rejects(pending, (error) => error === reason)
      await assert.rejects(fetchFn('http://127.0.0.1:1/'), (error) => error instanceof TypeError)
      const store = new KuboStore({
        rpcUrl: null,
        gateways: 'http://127.0.0.1:1',
        fetch: fetchFn,
        retries: 0,
      })
      await assert.rejects(store.load(await unknownCid()), (error) => isHamtError(error, 'ERR_STORE'))
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('fails like fetch on a body cut short, and the store retries it', async () => {
    // Answers the first request with 10 of 1000 promised bytes, then drops the connection.
    let requests = 0
    const server = createServer((_request, response) => {
      requests++
      response.writeHead(200, { 'content-length': '1000' })
      response.write(new Uint8Array(10), () => response.socket?.destroy())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const fetchFn = nodeHttpFetch()
      // As fetch: the response comes with its headers, and reading the body fails.
      const response = await fetchFn(`${url}/ipfs/x`)
      await assert.rejects(response.arrayBuffer(), (error) => error instanceof TypeError)
      const store = new KuboStore({
        rpcUrl: null,
        gateways: url,
        fetch: fetchFn,
        retries: 1,
        retryDelayMs: 1,
      })
      const before = requests
      await assert.rejects(store.load(await unknownCid()), (error) => isHamtError(error, 'ERR_STORE'))
      assert.equal(requests - before, 2, 'one try and one retry')
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('hands requests with a body to the fallback, and rejects a bad maxSockets', async () => {
    const seen: string[] = []
    const fallback: typeof fetch = async (input, init) => {
      seen.push(init?.method ?? 'GET')
      return fetch(input, init)
    }
    const store = new KuboStore({
      rpcUrl: daemon.rpcUrl,
      gateways: daemon.gatewayUrl,
      fetch: nodeHttpFetch({ fallback }),
    })
    const id = await store.save(bytes(100, 9), 'raw')
    await store.flush()
    assert.deepEqual(await store.load(id), bytes(100, 9))
    assert.ok(seen.length > 0 && seen.every((method) => method === 'POST'), seen.join())
    assert.throws(
      () => nodeHttpFetch({ maxSockets: 0 }),
      (error) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
    )
  })
})

describe('nodeWorkers', () => {
  const reference = new NumcodecsZstd(3)
  const field = (n: number, seed: number): Uint8Array =>
    new Uint8Array(
      Float32Array.from({ length: n }, (_, i) => 273 + Math.sin(i / 50 + seed) * 20 + ((i * seed) % 7) / 100)
        .buffer,
    )

  // The WebAssembly builds in this thread and on two threads, and the defaults (native where the runtime has it).
  for (const setup of [{ threads: 0, native: false }, { threads: 2, native: false }, {}]) {
    it(`decodes what the reference encoder wrote, many frames at once (${JSON.stringify(setup)})`, async () => {
      const workers = nodeWorkers(setup)
      const decoder = workers.zstdDecoder
      try {
        const raws = Array.from({ length: 12 }, (_, i) => field(20_000 + i * 1000, i + 1))
        const frames: Uint8Array[] = await Promise.all(raws.map((raw) => reference.encode(raw)))
        const decoded = await Promise.all(
          frames.map((frame, i) => decoder.decode(frame, (raws[i] as Uint8Array).length)),
        )
        for (const [i, out] of decoded.entries())
          assert.deepEqual(out, await reference.decode(frames[i] as Uint8Array))
        // A frame the decoder cannot decode comes back as an error or a result of another size, never as wrong bytes.
        const corrupt = (frames[0] as Uint8Array).slice()
        corrupt.fill(0x55, 30, 90)
        const size = (raws[0] as Uint8Array).length
        assert.ok(
          await reference.decode(corrupt).then(
            () => false,
            () => true,
          ),
          'zstd detects this corruption',
        )
        const out = await Promise.resolve()
          .then(() => decoder.decode(corrupt, size))
          .catch(() => undefined)
        assert.notEqual(out?.length, size)
      } finally {
        await workers.close()
      }
      await assert.rejects(async () => decoder.decode(new Uint8Array(8), 8), /closed/)
      for (const bad of [{ threads: -1 }, { native: 'yes' as never }]) {
        assert.throws(
          () => nodeWorkers(bad),
          (error) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
        )
      }
    })

    it(`hashes blocks as the library does, and a store verifying with it rejects altered blocks (${JSON.stringify(setup)})`, async () => {
      const workers = nodeWorkers(setup)
      try {
        for (const size of [0, 100, 70_000, 1_000_000]) {
          const block = bytes(size, size + 1)
          assert.deepEqual(await workers.blake3Digest(block), blake3(block))
        }
        const writer = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
        const large = bytes(600_000, 13)
        const id = await writer.save(large, 'raw')
        await writer.flush()
        const base = nodeHttpFetch()
        const reader = (alter: boolean) =>
          new KuboStore({
            rpcUrl: null,
            gateways: daemon.gatewayUrl,
            blake3Digest: workers.blake3Digest,
            fetch: async (input, init) => {
              const response = await base(input, init)
              if (!alter) return response
              const body = new Uint8Array(await response.arrayBuffer())
              body[body.length >> 1] = (body[body.length >> 1] as number) ^ 1
              return new Response(body, { status: response.status, headers: response.headers })
            },
          })
        assert.deepEqual(await reader(false).load(id), large)
        await assert.rejects(reader(true).load(id), (error) => isHamtError(error, 'ERR_INTEGRITY'))
      } finally {
        await workers.close()
      }
      assert.throws(
        () => new KuboStore({ rpcUrl: null, blake3Digest: 5 as never }),
        (error) => isHamtError(error, 'ERR_INVALID_ARGUMENT'),
      )
    })
  }

  it('decodes with zlib where Node has zstd in it, and on its threads with native: false', async () => {
    // Each zlib stream is one async resource of type ZLIB: counted to see which path decoded.
    let zlibStreams = 0
    const hook = createHook({
      init(_id, type) {
        if (type === 'ZLIB') zlibStreams++
      },
    }).enable()
    const raw = field(20_000, 3)
    const frame = await reference.encode(raw)
    try {
      for (const native of [true, false]) {
        const workers = nodeWorkers({ threads: 1, native })
        const before = zlibStreams
        try {
          assert.deepEqual(await workers.zstdDecoder.decode(frame, raw.length), raw)
        } finally {
          await workers.close()
        }
        const zlibHasZstd = typeof (zlib as { zstdDecompress?: unknown }).zstdDecompress === 'function'
        assert.equal(zlibStreams - before, native && zlibHasZstd ? 1 : 0, `native: ${native}`)
      }
    } finally {
      hook.disable()
    }
  })

  it('serves zarrita through registerZstdCodec: an array on Kubo reads back equal, corrupt chunks still fail', async () => {
    const workers = nodeWorkers({ threads: 2 })
    const registry = new Map(zarr.registry)
    registerZstdCodec({ decoder: workers.zstdDecoder }, registry)
    try {
      const entry = await (registry.get('zstd') as NonNullable<ReturnType<typeof registry.get>>)()
      const codec = entry.fromConfig({ level: 3, checksum: false }, {} as never)
      const raw = field(50_000, 4)
      const frame = await reference.encode(raw)
      assert.deepEqual(await codec.decode(frame), raw)
      const corrupt = frame.slice()
      corrupt.fill(0x55, 30, 90)
      await assert.rejects(async () => codec.decode(corrupt))

      // The same through a map on Kubo, as the benchmark reads.
      const store = new KuboStore({
        rpcUrl: daemon.rpcUrl,
        gateways: daemon.gatewayUrl,
        fetch: nodeHttpFetch(),
      })
      const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
      await map.set('chunk', frame)
      const root = await map.flush()
      const reopened = await HAMT.open<Uint8Array>(root, { store, readOnly: true, valuesAreBytes: true })
      assert.deepEqual(await codec.decode((await reopened.get('chunk')) as Uint8Array), raw)
    } finally {
      await workers.close()
    }
  })
})
