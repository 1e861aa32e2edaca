// `ts-hamt name key|publish|resolve` and roots given as /ipns/NAME, run as the built binary (dist/)
// against a real Kubo daemon (offline, loopback).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { unmarshalIPNSRecord } from 'ipns'
import { cliRunners, ensureCliBuilt } from './helpers/cli.js'
import { type KuboDaemon, startKubo } from './helpers/kubo.js'
import { startProxy } from './helpers/proxy.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-ipns-'))
let daemon: KuboDaemon
const { cli, ok } = cliRunners(scratch)
const onKubo = (): string[] => ['--kubo', daemon.rpcUrl, '--gateway', daemon.gatewayUrl]

before(async () => {
  await ensureCliBuilt()
  daemon = await startKubo()
})
after(async () => {
  await daemon?.stop()
  await rm(scratch, { recursive: true, force: true })
})

describe('ts-hamt name', () => {
  it('makes a key, publishes a root under it, resolves it through the gateway, and reads through the name', async () => {
    const { name } = JSON.parse(await ok('name', 'key', 'cli', ...onKubo(), '--json')) as { name: string }
    assert.match(name, /^\/ipns\/k51/)
    let root = await ok('create', ...onKubo())
    root = await ok('set', root, 'greeting', 'hello', ...onKubo())
    const published = JSON.parse(
      await ok(
        'name',
        'publish',
        root,
        '--key',
        'cli',
        '--lifetime',
        '1h',
        '--allow-offline',
        ...onKubo(),
        '--json',
      ),
    ) as { name: string; value: string; sequence: string }
    assert.deepEqual({ name: published.name, value: published.value }, { name, value: `/ipfs/${root}` })

    const viaGateway = ['--gateway', daemon.gatewayUrl]
    assert.equal(await ok('name', 'resolve', name, ...viaGateway), root)
    const resolved = JSON.parse(await ok('name', 'resolve', name, ...viaGateway, '--json')) as Record<
      string,
      string
    >
    assert.equal(resolved.root, root)
    assert.equal(resolved.sequence, published.sequence)
    assert.equal(await ok('name', 'resolve', name, ...onKubo()), root, 'the daemon resolves it too')
    // Every command that takes a ROOT takes the name.
    assert.equal(await ok('get', name, 'greeting', ...viaGateway), 'hello')
    // A later publish moves the name; set on the name writes a new root from the one it names.
    const next = await ok('set', name, 'greeting', 'again', ...onKubo())
    await ok('name', 'publish', next, '--key', 'cli', '--allow-offline', ...onKubo())
    assert.equal(await ok('get', name, 'greeting', ...viaGateway), 'again')
  })

  it('refuses a name where no store can resolve it, a bad name, and a record changed on the way', async () => {
    const { name } = JSON.parse(await ok('name', 'key', 'refusals', ...onKubo(), '--json')) as {
      name: string
    }
    const root = await ok('create', ...onKubo())
    await ok('name', 'publish', root, '--key', 'refusals', '--allow-offline', ...onKubo())

    const onDisk = await cli('get', name, 'x')
    assert.equal(onDisk.code, 2, onDisk.stderr)
    assert.match(onDisk.stderr, /IPNS name: give --gateway URL or --kubo URL/)
    const bad = await cli('name', 'resolve', '/ipns/example.org', '--gateway', daemon.gatewayUrl)
    assert.equal(bad.code, 2, bad.stderr)
    assert.equal((await cli('name', 'publish', root)).code, 2, 'publish needs --kubo')

    const record = new Uint8Array(
      await (await fetch(`${daemon.gatewayUrl}${name}?format=ipns-record`)).arrayBuffer(),
    )
    const signature = unmarshalIPNSRecord(record).signatureV2
    const at = Buffer.from(record).indexOf(Buffer.from(signature)) + 5
    assert.ok(at >= 5)
    const proxy = await startProxy(daemon.gatewayUrl, {
      rewriteBody: (body, url) => {
        if (!url.includes('format=ipns-record') || body.length !== record.length) return body
        const changed = body.slice()
        changed[at] = (changed[at] as number) ^ 0x40
        return changed
      },
    })
    try {
      const tampered = await cli('name', 'resolve', name, '--gateway', proxy.url, '--json')
      assert.equal(tampered.code, 1, tampered.stderr)
      const { error } = JSON.parse(tampered.stderr) as { error: { code: string; message: string } }
      assert.equal(error.code, 'ERR_IPNS_RECORD')
      assert.match(error.message, /signature/)
      const read = await cli('get', name, 'x', '--gateway', proxy.url)
      assert.equal(read.code, 1)
      assert.match(read.stderr, /ERR_IPNS_RECORD/)
    } finally {
      await proxy.close()
    }
  })
})
