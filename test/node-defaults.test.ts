// The package root as Node resolves it (the exports map's `node` condition, src/index.node.ts): the
// same API with Node's defaults for stores given no `fetch` or `blake3Digest`. Importing it sets
// them for the whole process, so these tests have a file (a process) of their own.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { CID } from 'multiformats/cid'
import { blake3, blake3Hasher, loadBlake3 } from '../src/blocks.js'
import * as rootEntry from '../src/index.js'
import * as nodeEntry from '../src/index.node.js'
import { nativeBlake3Digest } from '../src/node/native-blake3.js'

await loadBlake3()
const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 255)

/** A gateway that answers every request with `body` and records each request's headers. */
async function recordingGateway(body: Uint8Array) {
  const seen: Array<Record<string, string | string[] | undefined>> = []
  const server = createServer((request, response) => {
    seen.push(request.headers)
    response.writeHead(200, { 'content-length': String(body.length) })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  return { url, seen, close }
}

describe("ts-hamt's Node entry point", () => {
  it('exports the package root’s API, the same classes', () => {
    assert.deepEqual(Object.keys(nodeEntry).sort(), Object.keys(rootEntry).sort())
    assert.equal(nodeEntry.KuboStore, rootEntry.KuboStore)
  })

  it('importing it loads neither Node’s fetch (undici) nor ipfs-unixfs: each waits for its first use', async () => {
    // A process of its own (this one has loaded both), with a resolve hook that names every module.
    // `extends Response` (Node 20) and node:http (Node 24) loaded undici at import, and ipfs-unixfs
    // came with the stores: 15-70 and ~35 ms of CPU, for users who never read over HTTP or UnixFS.
    // The hook runs on its own thread on Node 24: written synchronously, else lines can be lost at exit.
    const hook = `import { writeSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  writeSync(2, 'resolved ' + resolved.url + '\\n')
  return resolved
}`
    const script = `import { register } from 'node:module'
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})
await import(${JSON.stringify(new URL('../src/index.node.ts', import.meta.url).href)})
console.log(JSON.stringify(process.moduleLoadList.filter((name) => name.includes('undici'))))`
    const run = promisify(execFile)
    const { stdout, stderr } = await run(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ])
    assert.deepEqual(JSON.parse(stdout), [])
    const packages = new Set(
      [...stderr.matchAll(/^resolved .*?node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((match) => match[1]),
    )
    assert.ok(packages.has('multiformats'), 'the hook saw the imports')
    assert.deepEqual(
      ['ipfs-unixfs', 'protons-runtime'].filter((name) => packages.has(name)),
      [],
    )
  })

  it('reads through node:http when given no fetch; a store given one keeps it', async () => {
    const block = bytes(5000, 7)
    const cid = CID.createV1(0x55, blake3Hasher.digest(block))
    const gateway = await recordingGateway(block)
    try {
      const byDefault = new nodeEntry.KuboStore({ rpcUrl: null, gateways: gateway.url })
      assert.deepEqual(await byDefault.load(cid), block)
      const given = new nodeEntry.KuboStore({ rpcUrl: null, gateways: gateway.url, fetch: globalThis.fetch })
      assert.deepEqual(await given.load(cid), block)
      // Node's fetch (undici) sends the Fetch standard's sec-fetch-mode; node:http sends only what it is given.
      assert.deepEqual(
        gateway.seen.map((headers) => headers['sec-fetch-mode']),
        [undefined, 'cors'],
      )
    } finally {
      await gateway.close()
    }
  })

  it('keeps the global fetch when proxy variables are set (node:http would not follow them)', async () => {
    const block = bytes(100, 5)
    const cid = CID.createV1(0x55, blake3Hasher.digest(block))
    const gateway = await recordingGateway(block)
    const saved = process.env.HTTPS_PROXY
    // A proxy for https only: this plain-http gateway is still reached directly, by the global fetch.
    process.env.HTTPS_PROXY = 'http://127.0.0.1:1'
    try {
      const store = new nodeEntry.KuboStore({ rpcUrl: null, gateways: gateway.url })
      assert.deepEqual(await store.load(cid), block)
      assert.deepEqual(
        gateway.seen.map((headers) => headers['sec-fetch-mode']),
        ['cors'],
      )
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY
      else process.env.HTTPS_PROXY = saved
      await gateway.close()
    }
  })

  it('still verifies every block: wrong bytes are an IntegrityError', async () => {
    const block = bytes(300_000, 11)
    const cid = CID.createV1(0x55, blake3Hasher.digest(block))
    const wrong = block.slice()
    wrong[123_456] = (wrong[123_456] as number) ^ 1
    const gateway = await recordingGateway(wrong)
    try {
      const store = new nodeEntry.KuboStore({ rpcUrl: null, gateways: gateway.url, retries: 0 })
      await assert.rejects(store.load(cid), (error) => nodeEntry.isHamtError(error, 'ERR_INTEGRITY'))
      const right = await recordingGateway(block)
      try {
        const good = new nodeEntry.KuboStore({ rpcUrl: null, gateways: right.url })
        assert.deepEqual(await good.load(cid), block)
      } finally {
        await right.close()
      }
    } finally {
      await gateway.close()
    }
  })

  it('hashes with @napi-rs/blake-hash where it is installed, giving hash-wasm’s digests', async (t) => {
    const native = nativeBlake3Digest()
    if (native === undefined) {
      // An optionalDependency, pinned to 1.3.4, the last release with binaries for every platform it lists.
      assert.ok(
        !(process.platform === 'linux' && process.arch === 'x64'),
        '@napi-rs/blake-hash ships a linux-x64 binary: npm should have installed it',
      )
      t.diagnostic('@napi-rs/blake-hash is not installed here: blocks are verified with hash-wasm')
      return
    }
    for (const length of [0, 1, 1023, 1024, 1025, 65_536, 500_001]) {
      const data = bytes(length, length + 3)
      assert.deepEqual(new Uint8Array(await native(data)), blake3(data), `${length} bytes`)
    }
  })
})
