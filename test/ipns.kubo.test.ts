// IPNS names against a real Kubo daemon (offline, loopback): records Kubo publishes resolve through
// its own gateway and verify; tampered, expired and wrong-key records are refused with typed errors.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { unmarshalIPNSRecord } from 'ipns'
import type { CID } from 'multiformats/cid'
import { openDataset } from '../src/dataset.js'
import {
  exportCar,
  HAMT,
  isHamtError,
  KuboStore,
  MemoryStore,
  openZarrRoot,
  TrustlessGatewayStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { writeClimate } from './helpers/climate.js'
import { type KuboDaemon, rpc, startKubo } from './helpers/kubo.js'
import { serve } from './helpers/loopback.js'
import { startProxy } from './helpers/proxy.js'

let daemon: KuboDaemon
let kubo: KuboStore
/** Options that keep refusals fast: a refused record is final per gateway, but a 5xx is retried. */
const quick = { retries: 0 } as const

/** A map with `entries`, flushed into the daemon; its root. */
async function flushedMap(entries: Record<string, number>): Promise<CID> {
  const map = await HAMT.create<number>({ store: kubo })
  for (const [key, value] of Object.entries(entries)) await map.set(key, value)
  return (await map.flush()) as CID
}

async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    (value) => assert.fail(`expected a refusal, got ${String(value)}`),
    (error: unknown) => error,
  )
}

/** The record bytes the daemon's gateway serves for `name`. */
async function recordOf(name: string): Promise<Uint8Array> {
  const answer = await fetch(`${daemon.gatewayUrl}${name}?format=ipns-record`, {
    headers: { accept: 'application/vnd.ipfs.ipns-record' },
  })
  assert.equal(answer.status, 200)
  return new Uint8Array(await answer.arrayBuffer())
}

before(async () => {
  daemon = await startKubo()
  kubo = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
})
after(() => daemon?.stop())

describe('IPNS names on a real Kubo', () => {
  it('a root Kubo publishes resolves through its gateway, verified, and every opener takes the name', async () => {
    const { name } = await kubo.createKey('resolves')
    assert.match(name, /^\/ipns\/k51/)
    const root = await flushedMap({ a: 1, b: 2 })
    const published = await kubo.publishName(root, { key: 'resolves', allowOffline: true, lifetime: '1h' })
    assert.equal(published.name, name)
    assert.equal(published.value, `/ipfs/${root}`)
    assert.equal(typeof published.sequence, 'bigint')

    const gateway = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl, ...quick })
    const resolved = await gateway.resolveName(name)
    assert.equal(resolved.cid.toString(), root.toString())
    assert.equal(resolved.path, '')
    assert.equal(resolved.sequence, published.sequence)
    // The record the gateway served is Kubo's own, checked here with the ipns package directly.
    assert.equal(unmarshalIPNSRecord(await recordOf(name)).value, `/ipfs/${root}`)
    assert.equal((await kubo.resolveName(name)).cid.toString(), root.toString())

    const map = await HAMT.open<number>(name, { store: gateway })
    assert.equal(await map.get('b'), 2)
    assert.equal(String(map.rootId), String(root))
    const readOnlyKubo = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl })
    assert.equal(await (await HAMT.open<number>(name, { store: readOnlyKubo })).get('a'), 1)
    let carBytes = 0
    for await (const chunk of exportCar(gateway, name)) carBytes += chunk.length
    assert.ok(carBytes > 0)
    // A name given to a store that cannot resolve names is refused at the call, naming the remedy.
    const memory = await MemoryStore.create()
    const error = await refusal(() => HAMT.open(name, { store: memory }))
    assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'))
    assert.match(error.message, /IPNS name.*TrustlessGatewayStore or a KuboStore/)
  })

  it('republishing moves the name: the new root, a higher sequence; asking every gateway keeps the newest', async () => {
    const { name } = await kubo.createKey('moves')
    const first = await flushedMap({ v: 1 })
    const second = await flushedMap({ v: 2 })
    const one = await kubo.publishName(first, { key: 'moves', allowOffline: true })
    // A gateway that still serves the old record, beside one that serves the new.
    const oldRecord = await recordOf(name)
    const stale = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.ipfs.ipns-record' }).end(oldRecord)
    })
    const two = await kubo.publishName(second, { key: 'moves', allowOffline: true })
    assert.ok((two.sequence as bigint) > (one.sequence as bigint))
    const both = new TrustlessGatewayStore({ gateways: [stale.url, daemon.gatewayUrl], ...quick })
    assert.equal((await both.resolveName(name)).cid.toString(), first.toString(), 'first valid answer')
    const newest = await both.resolveName(name, { ask: 'all' })
    assert.equal(newest.cid.toString(), second.toString())
    assert.equal(newest.sequence, two.sequence)
    // Once the newer record was seen, the stale gateway's older one no longer moves the name back.
    assert.equal((await both.resolveName(name)).cid.toString(), second.toString(), 'no rollback')
    assert.equal(stale.seen.length, 3, 'the stale gateway was asked each time')
    const map = await HAMT.open<number>(name, {
      store: new TrustlessGatewayStore({ gateways: daemon.gatewayUrl }),
    })
    assert.equal(await map.get('v'), 2)
  })

  it('a record with a flipped byte (a proxy in front of the gateway) is refused: ERR_IPNS_RECORD, signature', async () => {
    const { name } = await kubo.createKey('tampered')
    const root = await flushedMap({ t: 1 })
    await kubo.publishName(root, { key: 'tampered', allowOffline: true })
    const record = await recordOf(name)
    // Flip a byte of the signature (the last field Kubo writes is the V2 signature's tail... find it).
    const { signatureV2 } = unmarshalIPNSRecord(record)
    const at = indexOf(record, signatureV2) + 10
    const proxy = await startProxy(daemon.gatewayUrl, {
      rewriteBody: (body, url) => {
        if (!url.includes('format=ipns-record')) return body
        const changed = body.slice()
        changed[at] = (changed[at] as number) ^ 1
        return changed
      },
    })
    try {
      const store = new TrustlessGatewayStore({ gateways: proxy.url, ...quick })
      const error = await refusal(() => store.resolveName(name))
      assert.ok(isHamtError(error, 'ERR_IPNS_RECORD'), String(error))
      assert.equal(error.problem, 'signature')
      assert.equal(error.ipnsName, name)
      assert.ok(error.cause instanceof Error)
      // The same through an opener; and a second, honest gateway behind it is used instead.
      assert.ok(isHamtError(await refusal(() => HAMT.open(name, { store })), 'ERR_IPNS_RECORD'))
      const both = new TrustlessGatewayStore({ gateways: [proxy.url, daemon.gatewayUrl], ...quick })
      assert.equal((await both.resolveName(name)).cid.toString(), root.toString())
    } finally {
      await proxy.close()
    }
  })

  it('a record past its lifetime is refused: ERR_IPNS_RECORD, expired', async () => {
    const { name } = await kubo.createKey('expires')
    const root = await flushedMap({ e: 1 })
    await kubo.publishName(root, { key: 'expires', allowOffline: true, lifetime: '1s', ttl: '1s' })
    const record = await recordOf(name)
    const validity = Date.parse(unmarshalIPNSRecord(record).validity)
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(5_000, Math.max(0, validity - Date.now()) + 200)),
    )
    // Served as the gateway served it before it expired (Kubo itself stops serving an expired record).
    const gateway = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.ipfs.ipns-record' }).end(record)
    })
    const error = await refusal(() =>
      new TrustlessGatewayStore({ gateways: gateway.url, ...quick }).resolveName(name),
    )
    assert.ok(isHamtError(error, 'ERR_IPNS_RECORD'), String(error))
    assert.equal(error.problem, 'expired')
    assert.match(error.message, /expired at/)
    // Kubo itself no longer serves it (HTTP 500): the name fails there too, as a store error.
    const direct = await refusal(() =>
      new TrustlessGatewayStore({ gateways: daemon.gatewayUrl, ...quick }).resolveName(name),
    )
    assert.ok(isHamtError(direct, 'ERR_STORE'), String(direct))
  })

  it('a record of another key served under a name is refused: ed25519 (signature) and RSA (wrong-key)', async () => {
    for (const type of ['ed25519', 'rsa'] as const) {
      const a = await kubo.createKey(`owner-${type}`, { type })
      const b = await kubo.createKey(`other-${type}`, { type })
      const root = await flushedMap({ k: type.length })
      await kubo.publishName(root, { key: `other-${type}`, allowOffline: true })
      const recordB = await recordOf(b.name)
      const gateway = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.ipfs.ipns-record' }).end(recordB)
      })
      const store = new TrustlessGatewayStore({ gateways: gateway.url, ...quick })
      assert.equal((await store.resolveName(b.name)).cid.toString(), root.toString(), 'B under its own name')
      const error = await refusal(() => store.resolveName(a.name))
      assert.ok(isHamtError(error, 'ERR_IPNS_RECORD'), String(error))
      // An ed25519 record carries no key (the name has it): it fails the name's key. RSA records carry theirs.
      assert.equal(error.problem, type === 'rsa' ? 'wrong-key' : 'signature', type)
    }
  })

  it('a gateway that answers a name with something other than a record is refused: not-a-record', async () => {
    const { name } = await kubo.createKey('html')
    const gateway = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>')
    })
    const error = await refusal(() =>
      new TrustlessGatewayStore({ gateways: gateway.url, ...quick }).resolveName(name),
    )
    assert.ok(isHamtError(error, 'ERR_IPNS_RECORD'), String(error))
    assert.equal(error.problem, 'not-a-record')
  })

  it('a path into a dag-cbor catalog, after the name or in its record (/ipfs/<cid>/datasets/era5), opens the root it leads to', async () => {
    const { name } = await kubo.createKey('catalog')
    const root = await flushedMap({ in: 1 })
    const catalog = await kubo.save(dagCbor.encode({ datasets: { era5: root, list: [root] } }), 'dag-cbor')
    await kubo.flush()
    // A path after the name, from the catalog the name points to.
    await kubo.publishName(catalog, { key: 'catalog', allowOffline: true })
    const gateway = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    assert.equal(await (await HAMT.open<number>(`${name}/datasets/list/0`, { store: gateway })).get('in'), 1)
    // The path inside the record itself.
    await rpc(daemon.rpcUrl, 'name/publish', {
      arg: `/ipfs/${catalog}/datasets/era5`,
      key: 'catalog',
      'allow-offline': 'true',
    })
    const store = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    const resolved = await store.resolveName(name)
    assert.deepEqual([String(resolved.cid), resolved.path], [String(catalog), '/datasets/era5'])
    assert.equal(await (await HAMT.open<number>(name, { store })).get('in'), 1)
    assert.equal(
      await (await HAMT.open<number>(name, { store: kubo })).get('in'),
      1,
      'the daemon resolves, blocks verified',
    )
    // A path that ends inside the block names no root.
    await rpc(daemon.rpcUrl, 'name/publish', {
      arg: `/ipfs/${catalog}/datasets`,
      key: 'catalog',
      'allow-offline': 'true',
    })
    const error = await refusal(() => HAMT.open(name, { store }))
    assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'))
    assert.match(error.message, /ends inside a block/)
  })

  it('HAMT.diff takes names for either side, resolved when the walk starts', async () => {
    const { name } = await kubo.createKey('diffs')
    const before = await flushedMap({ x: 1, y: 2 })
    const after = await flushedMap({ x: 1, y: 3, z: 4 })
    await kubo.publishName(after, { key: 'diffs', allowOffline: true })
    const store = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    const changes = []
    for await (const change of HAMT.diff(before, name, { store, keysOnly: true }))
      changes.push(`${change.kind} ${change.key}`)
    assert.deepEqual(changes.sort(), ['added z', 'changed y'])
    // A name for a store that cannot resolve names is refused at the call, before any walk.
    const memory = await MemoryStore.create()
    assert.throws(() => HAMT.diff(before, name, { store: memory }), /IPNS name/)
  })

  it('openDataset takes a name and resolves it once: one record request for the whole open and read', async () => {
    const { name } = await kubo.createKey('dataset')
    const map = await HAMT.create<Uint8Array>({ store: kubo, valuesAreBytes: true })
    const written = await writeClimate(new ZarrHAMTStore(map))
    await kubo.publishName(await map.flush(), { key: 'dataset', allowOffline: true })
    const proxy = await startProxy(daemon.gatewayUrl)
    try {
      const ds = await openDataset(name, { gateways: proxy.url })
      assert.equal(ds.attrs.title, 'ts-hamt climate')
      const temp = await ds.variable('temp').isel({ time: 1, lat: 0 }).load()
      const expected = (written.temp?.values ?? []).slice(48, 56)
      assert.deepEqual(
        [...temp.values].map((v) => (Number.isNaN(v) ? null : v)),
        expected,
      )
      assert.equal(proxy.seen.filter(({ url }) => url.includes('format=ipns-record')).length, 1)
      assert.ok(proxy.seen.length > 5, 'the blocks came through the same gateway')
    } finally {
      await proxy.close()
    }
  })

  it('openZarrRoot takes a name too', async () => {
    const { name } = await kubo.createKey('zarr')
    const map = await HAMT.create<Uint8Array>({ store: kubo, valuesAreBytes: true })
    await map.set(
      'zarr.json',
      new TextEncoder().encode('{"zarr_format":3,"node_type":"group","attributes":{}}'),
    )
    const root = await map.flush()
    await kubo.publishName(root, { key: 'zarr', allowOffline: true })
    const opened = await openZarrRoot(name, {
      store: new TrustlessGatewayStore({ gateways: daemon.gatewayUrl }),
    })
    assert.equal(opened.layout.kind, 'hamt')
    assert.equal(
      String(((await rpc(daemon.rpcUrl, 'name/resolve', { arg: name })) as { Path: string }).Path),
      `/ipfs/${root}`,
    )
  })
})

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  throw new Error('not found')
}
