// The CLI's stores get the Node entry's defaults (src/node/defaults.ts): one node:http client for
// HTTP unless proxy variables are set, as `import 'ts-hamt'` gives stores in Node.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { HAMT } from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'
import { ensureCliBuilt, runCli } from './helpers/cli.js'
import { serve } from './helpers/loopback.js'

before(ensureCliBuilt)
const cwd = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-defaults-'))
after(() => rm(cwd, { recursive: true, force: true }))

/** A loopback Kubo gateway serving one map's blocks (`GET /ipfs/<cid>`), recording every request. */
async function gatewayWithMap(): Promise<{
  url: string
  root: string
  seen: () => Array<string | undefined>
}> {
  const blocks = new Map<string, Uint8Array>()
  const store = await CidMemoryStore.create()
  const map = await HAMT.create({ store })
  await map.set('greeting', 'hello')
  const root = String(await map.flush())
  const pointer = await map.getPointer('greeting')
  assert.ok(pointer !== undefined)
  blocks.set(String(pointer), await store.load(pointer))
  blocks.set(root, await store.load(map.rootId))
  const server = await serve((req, res) => {
    const cid = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')?.[1]
    const block = cid === undefined ? undefined : blocks.get(cid)
    if (block === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': block.length })
    res.end(block)
  })
  // Node's fetch (undici) sends the Fetch standard's sec-fetch-mode; node:http sends only what it is given.
  return { url: server.url, root, seen: () => server.seen.map((r) => r.headers['sec-fetch-mode'] as string) }
}

describe('ts-hamt CLI: Node defaults for its stores', () => {
  it('reads through node:http with --kubo and with --gateway, as the Node entry does', async () => {
    for (const flag of ['--kubo', '--gateway']) {
      const gateway = await gatewayWithMap()
      const args =
        flag === '--kubo' ? ['--kubo', gateway.url, '--gateway', gateway.url] : ['--gateway', gateway.url]
      const run = await runCli(cwd, [...args, 'get', gateway.root, 'greeting'])
      assert.equal(run.code, 0, run.stderr)
      assert.match(run.stdout, /hello/)
      assert.ok(gateway.seen().length >= 2, `${flag}: the map was read from the gateway`)
      assert.deepEqual(
        gateway.seen().filter((mode) => mode !== undefined),
        [],
        `${flag}: every request went through node:http, not the global fetch`,
      )
    }
  })
})
