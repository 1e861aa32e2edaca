// `ts-hamt … --retrieval-stats`: the snapshot printed after a command, checked against a loopback
// trustless gateway that counts what it served (the blocks come from a map the CLI wrote to disk).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { DiskStore } from '../src/node/index.js'
import type { RetrievalSnapshot } from '../src/telemetry/index.js'
import { ensureCliBuilt, runCli } from './helpers/cli.js'
import { serve } from './helpers/loopback.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-stats-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)

async function ok(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const run = await runCli(scratch, args)
  assert.equal(run.code, 0, `ts-hamt ${args.join(' ')} failed: ${run.stderr}`)
  return run
}

describe('ts-hamt --retrieval-stats', () => {
  it('prints what a read loaded, as the gateway served it (JSON with --json, lines without)', async () => {
    let root = (await ok('create')).stdout.trim()
    for (const [key, value] of [
      ['greeting', 'hello'],
      ['answer', 'forty-two'],
    ] as const)
      root = (await ok('set', root, key, value)).stdout.trim()
    const disk = await DiskStore.open(join(scratch, '.ts-hamt'))
    const served: Array<{ cid: string; bytes: number }> = []
    const gateway = await serve((req, res) => {
      const cid = CID.parse(/\/ipfs\/(\w+)/.exec(req.url ?? '')?.[1] ?? '')
      disk.load(cid).then(
        (block) => {
          served.push({ cid: cid.toString(), bytes: block.length })
          res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': block.length })
          res.end(block)
        },
        () => res.writeHead(404).end(),
      )
    })

    const run = await ok('get', root, 'greeting', '--gateway', gateway.url, '--json', '--retrieval-stats')
    assert.deepEqual(JSON.parse(run.stdout), { key: 'greeting', value: 'hello' })
    const { retrievalStats: stats } = JSON.parse(run.stderr.trim().split('\n').at(-1) as string) as {
      retrievalStats: RetrievalSnapshot
    }
    assert.equal(stats.loads.requests, served.length)
    assert.equal(
      stats.loads.bytes,
      served.reduce((sum, s) => sum + s.bytes, 0),
    )
    assert.equal(stats.loads.uniqueIds, new Set(served.map((s) => s.cid)).size)
    assert.deepEqual(
      stats.gateways.map((g) => [g.gateway, g.requests, g.failures]),
      [[`${gateway.url}/ipfs/`, served.length, 0]],
    )
    assert.deepEqual(stats.topKeys, [{ key: 'hamt:greeting', requests: 1 }])
    assert.equal(stats.lookups.found, 1)

    served.length = 0
    const text = await ok('get', root, 'answer', '--gateway', gateway.url, '--retrieval-stats')
    assert.equal(text.stdout.trim(), 'forty-two')
    assert.match(
      text.stderr,
      new RegExp(`^retrieval: ${served.length} loads of ${served.length} IDs \\(0 repeated`, 'm'),
    )
    assert.match(text.stderr, new RegExp(`gateway ${gateway.url}/ipfs/: ${served.length} requests, 0 failed`))
    assert.match(text.stderr, /most read keys: hamt:answer x1/)
  })

  it('prints nothing extra without the flag', async () => {
    const root = (await ok('create')).stdout.trim()
    const run = await ok('keys', root)
    assert.equal(run.stderr, '')
  })
})
