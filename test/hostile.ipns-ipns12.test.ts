// IPNS leftovers of session 11: a lying gateway rolling a name back after its newest record was
// pushed out of the reader's memory by other names; names that cannot be keys; deep record bodies;
// paths after a name read as Kubo reads them.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPair } from '@libp2p/crypto/keys'
import * as cborg from 'cborg'
import { createIPNSRecord, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { followContentPath } from '../src/cas/content-path.js'
import { resolveRoot } from '../src/cas/ipns.js'
import { isHamtError, KuboStore, TrustlessGatewayStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type KuboDaemon, rpc, startKubo } from './helpers/kubo.js'
import { serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const random = mulberry32(testSeed())
const RECORD_TYPE = 'application/vnd.ipfs.ipns-record'

/** A new ed25519 name and a signer of its records pointing at `/ipfs/<cid>` with a sequence. */
async function newName(): Promise<{
  name: string
  record: (value: CID | string, sequence: bigint) => Promise<Uint8Array>
}> {
  const key = await generateKeyPair('Ed25519')
  const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`
  const record = async (value: CID | string, sequence: bigint) =>
    marshalIPNSRecord(await createIPNSRecord(key, value, sequence, 3_600_000, { v1Compatible: false }))
  return { name, record }
}

/** A gateway serving `records` by name (the last path segment of `/ipns/<name>`). */
async function recordGateway(records: Map<string, Uint8Array>): Promise<string> {
  const gateway = await serve((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').pathname.split('/').pop() as string
    const body = records.get(`/ipns/${id}`)
    if (body === undefined) res.writeHead(404).end()
    else res.writeHead(200, { 'content-type': RECORD_TYPE }).end(body)
  })
  return gateway.url
}

/** Two roots (inline raw blocks: nothing to fetch). */
const older = CID.createV1(0x55, identity.digest(new TextEncoder().encode('older')))
const newer = CID.createV1(0x55, identity.digest(new TextEncoder().encode('newer')))

describe('rollback after the newest record was pushed out of memory', () => {
  it('resolving more than 1000 other names does not let a gateway move a name back', async () => {
    const victim = await newName()
    const records = new Map<string, Uint8Array>()
    records.set(victim.name, await victim.record(newer, 5n))
    const store = new TrustlessGatewayStore({ gateways: await recordGateway(records), retries: 0 })
    assert.equal((await store.resolveName(victim.name)).sequence, 5n)
    // The attacker's own names, as many as the old memory held and more (their records are tiny).
    const others = 1001 + Math.floor(random() * 200)
    const signer = await newName()
    const names: string[] = []
    for (let i = 0; i < others; i++) {
      const other = i === 0 ? signer : await newName()
      records.set(other.name, await other.record(older, 1n))
      names.push(other.name)
    }
    for (const other of names) await store.resolveName(other)
    // Now the gateway lies: the victim's older (validly signed) record.
    records.set(victim.name, await victim.record(older, 1n))
    const resolved = await store.resolveName(victim.name)
    assert.equal(resolved.sequence, 5n, `rolled back after ${others} other names`)
    assert.equal(resolved.cid.toString(), newer.toString())
  })

  it('the default memory forgets the least recently resolved name first, after 16 MiB of others', async () => {
    const { NewestRecords, NEWEST_RECORDS_BYTES } = await import('../src/cas/ipns-record.js')
    const { parseIpnsName } = await import('../src/cas/ipns-name.js')
    const memory = new NewestRecords()
    const [kept, dropped] = [await newName(), await newName()]
    for (const victim of [kept, dropped]) {
      await memory.settle(parseIpnsName(victim.name, 'name'), await victim.record(newer, 5n))
    }
    // The largest records an attacker can sign (a long value), so the fewest names fill the memory.
    const long = `/ipfs/${older}/${'a'.repeat(9000)}`
    const bytesOf = async (other: Awaited<ReturnType<typeof newName>>) => other.record(long, 1n)
    const sample = await bytesOf(await newName())
    const others = Math.ceil(NEWEST_RECORDS_BYTES / sample.length) + 10
    for (let i = 0; i < others; i++) {
      const other = await newName()
      await memory.settle(parseIpnsName(other.name, 'name'), await bytesOf(other))
      // `kept` is resolved again halfway: it is then newer in the memory than half the others.
      if (i === others >> 1)
        await memory.settle(parseIpnsName(kept.name, 'name'), await kept.record(older, 1n))
    }
    const back = async (victim: typeof kept) =>
      (await memory.settle(parseIpnsName(victim.name, 'name'), await victim.record(older, 1n))).sequence
    assert.equal(await back(kept), 5n, 'resolved since: still remembered')
    assert.equal(
      await back(dropped),
      1n,
      `not resolved during ${others} names of ${sample.length} bytes: forgotten`,
    )
  })

  it('a memory the user passes (a Map) is shared by stores: a new store keeps the newest record too', async () => {
    const victim = await newName()
    const records = new Map([[victim.name, await victim.record(newer, 7n)]])
    const gateways = await recordGateway(records)
    const ipnsRecords = new Map<string, Uint8Array>()
    const first = new TrustlessGatewayStore({ gateways, retries: 0, ipnsRecords })
    assert.equal((await first.resolveName(victim.name)).sequence, 7n)
    assert.ok(ipnsRecords.has(victim.name))
    records.set(victim.name, await victim.record(older, 2n))
    const second = new TrustlessGatewayStore({ gateways, retries: 0, ipnsRecords })
    assert.equal((await second.resolveName(victim.name)).cid.toString(), newer.toString())
  })

  it('a damaged memory loses the protection but never leads elsewhere; a failing one is a StoreError', async () => {
    const victim = await newName()
    const stranger = await newName()
    const records = new Map([[victim.name, await victim.record(older, 1n)]])
    const gateways = await recordGateway(records)
    // Another name's newer record, and garbage, under the victim's name: neither is taken.
    for (const kept of [await stranger.record(newer, 9n), Uint8Array.of(1, 2, 3)]) {
      const ipnsRecords = new Map([[victim.name, kept]])
      const store = new TrustlessGatewayStore({ gateways, retries: 0, ipnsRecords })
      assert.equal((await store.resolveName(victim.name)).cid.toString(), older.toString())
      assert.deepEqual(
        ipnsRecords.get(victim.name),
        records.get(victim.name),
        'the verified record replaced it',
      )
    }
    const failing = {
      get: () => {
        throw new Error('disk gone')
      },
      set: () => {},
    }
    const store = new TrustlessGatewayStore({ gateways, retries: 0, ipnsRecords: failing })
    const error = await store.resolveName(victim.name).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(isHamtError(error, 'ERR_STORE'), String(error))
    assert.match((error as Error).message, /ipnsRecords\.get\(\/ipns\/k51.*disk gone/)
    assert.equal(((error as Error).cause as Error).message, 'disk gone')
    assert.throws(
      () => new TrustlessGatewayStore({ gateways, ipnsRecords: {} as never }),
      (e: unknown) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /ipnsRecords/.test((e as Error).message),
    )
  })
})

describe('names that cannot be keys', () => {
  it('a name whose inlined key is no public key is refused before any request, naming it', async () => {
    const gateway = await serve((_req, res) => res.writeHead(404).end())
    const store = new TrustlessGatewayStore({ gateways: gateway.url, retries: 0 })
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
    const digests = [
      Uint8Array.of(1, 2, 3, 4, 5), // the note's /ipns/13VXTuH6c
      new Uint8Array(0),
      bytes(1 + Math.floor(random() * 40)),
      Uint8Array.from([0x08, 0x01, 0x12, 0x1f, ...bytes(31)]), // ed25519 of 31 bytes
      Uint8Array.from([0x08, 0x07, 0x12, 0x20, ...bytes(32)]), // no such key type
      Uint8Array.from([0x08, 0x01, 0x12, 0x21, ...bytes(32)]), // a length past the end
    ]
    for (const digest of digests) {
      const peerId = base58btc.baseEncode(identity.digest(digest).bytes)
      for (const name of [
        `/ipns/${peerId}`,
        `/ipns/${CID.createV1(0x72, identity.digest(digest)).toString(base36)}`,
      ]) {
        const error = await store.resolveName(name).then(
          () => undefined,
          (e: unknown) => e,
        )
        assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), `${name}: ${String(error)}`)
        assert.match((error as Error).message, /not a public key/, name)
        assert.ok(
          (error as Error).message.includes(name.slice('/ipns/'.length, 60)),
          (error as Error).message,
        )
      }
    }
    assert.equal(gateway.seen.length, 0, 'no gateway was asked')
    // Keys that are: ed25519 and secp256k1 (inlined), RSA (hashed).
    for (const type of ['Ed25519', 'secp256k1', 'RSA'] as const) {
      const key = await generateKeyPair(type as 'Ed25519')
      const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`
      const error = await store.resolveName(name).then(
        () => undefined,
        (e: unknown) => e,
      )
      assert.ok(!isHamtError(error, 'ERR_INVALID_ARGUMENT'), `${type}: ${String(error)}`)
    }
  })

  it('a record pointing to such a name is malformed', async () => {
    const pointer = await newName()
    const records = new Map<string, Uint8Array>()
    const target = `/ipns/${base58btc.baseEncode(identity.digest(Uint8Array.of(1, 2, 3, 4, 5)).bytes)}`
    records.set(pointer.name, await pointer.record(CID.parse('bafkqaaa'), 1n))
    const store = new TrustlessGatewayStore({ gateways: await recordGateway(records), retries: 0 })
    // Re-sign with a value naming the bad name.
    const key = await generateKeyPair('Ed25519')
    const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`
    records.set(name, marshalIPNSRecord(await createIPNSRecord(key, target, 1n, 3_600_000)))
    const error = await store.resolveName(name).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(isHamtError(error, 'ERR_IPNS_RECORD'), String(error))
    assert.equal((error as { problem: string }).problem, 'malformed')
  })
})

const deepKey = await generateKeyPair('Ed25519')

describe('record bodies nested deep', () => {
  const key = deepKey
  const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`

  /** A record valid in every field, with one more field `x` holding `depth` nested arrays. */
  async function deepRecord(depth: number): Promise<Uint8Array> {
    const valid = cborg.encode({
      Sequence: 1,
      TTL: 1,
      Validity: new TextEncoder().encode(new Date(Date.now() + 3_600_000).toISOString()),
      ValidityType: 0,
      Value: new TextEncoder().encode(`/ipfs/${older}`),
    })
    const nested = new Uint8Array(depth + 1).fill(0x81)
    nested[depth] = 0
    // The map header counts one more entry; `x` goes last (not in DAG-CBOR order, which the `ipns` package does not check).
    const data = Uint8Array.from([
      (valid[0] as number) + 1,
      ...valid.subarray(1),
      ...cborg.encode('x'),
      ...nested,
    ])
    const text = new TextEncoder().encode('ipns-signature:')
    const signatureV2 = await key.sign(Uint8Array.from([...text, ...data]))
    return marshalIPNSRecord({ signatureV2, data } as never)
  }

  it('a signed body nested thousands deep is refused by its depth, read without recursion, not by a stack overflow', async () => {
    // The body (a map) nests one deeper than its field.
    const depth = 64 + Math.floor(random() * 9000)
    const gateway = await recordGateway(new Map([[name, await deepRecord(depth)]]))
    const store = new TrustlessGatewayStore({ gateways: gateway, retries: 0 })
    const outcome = await withinBudget(`a body ${depth} deep`, () => store.resolveName(name))
    assertTypedError(outcome, 'ERR_IPNS_RECORD')
    const error = outcome.error as Error & { problem: string }
    assert.equal(error.problem, 'malformed')
    assert.match(error.message, new RegExp(`nested ${depth + 1} deep`), `depth ${depth}: ${error.message}`)
    assert.ok(!/call stack/i.test(String((error.cause as Error)?.message)), 'no stack overflow was caught')
    // At the bound, the record is read.
    const atBound = await recordGateway(new Map([[name, await deepRecord(63)]]))
    const resolved = await new TrustlessGatewayStore({ gateways: atBound, retries: 0 }).resolveName(name)
    assert.equal(resolved.cid.toString(), older.toString())
  })
})

describe('paths as Kubo reads them', () => {
  let daemon: KuboDaemon
  let kubo: KuboStore
  before(async () => {
    daemon = await startKubo()
    kubo = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
  })
  after(() => daemon?.stop())

  /** Kubo's `resolve` of `path`: the path it leads to, or `refused`. */
  const kuboResolve = (path: string): Promise<string> =>
    rpc(daemon.rpcUrl, 'resolve', { arg: path }).then(
      (answer) => (answer as { Path: string }).Path,
      () => 'refused',
    )

  it('dag-cbor list indexes as Go reads integers (01, +1, -0 lead where Kubo leads; 1.0, -1 refused)', async () => {
    const leaves = await Promise.all(
      ['a', 'b', 'c'].map((which) => kubo.save(new TextEncoder().encode(which), 'raw')),
    )
    const root = (await kubo.save(dagCbor.encode({ l: [...leaves, { x: leaves[0] }] }), 'dag-cbor')) as CID
    await kubo.flush()
    const fixed = [
      '0',
      '1',
      '01',
      '+1',
      '-0',
      '+0',
      '00',
      '002',
      '1.0',
      ' 1',
      '0x1',
      '-1',
      '1e0',
      '4',
      '９',
      '+',
      '-',
    ]
    const alphabet = ['0', '1', '2', '3', '+', '-', '.', 'e', ' ']
    const generated = Array.from({ length: 20 }, () =>
      Array.from(
        { length: 1 + Math.floor(random() * 4) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join(''),
    )
    for (const index of [...fixed, ...generated]) {
      const path = `/l/${index}${index.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '') === '3' ? '/x' : ''}`
      const expected = await kuboResolve(`/ipfs/${root}${path}`)
      const ours = await followContentPath(root, path, kubo.getBlock.bind(kubo)).then(
        (cid) => `/ipfs/${cid}`,
        (error: unknown) => {
          assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), `${path}: ${String(error)}`)
          return 'refused'
        },
      )
      // A path Kubo leaves inside a block (`/l/.` is the list itself) is no root here.
      if (/^\/ipfs\/[^/]+\/./.test(expected)) assert.equal(ours, 'refused', JSON.stringify(path))
      else assert.equal(ours, expected, JSON.stringify(path))
    }
  })

  it('a name that cannot be a key is refused before the daemon is asked (it answered: could not resolve name)', async () => {
    assert.match(await kuboResolve('/ipns/13VXTuH6c'), /^refused/)
    const error = await kubo.resolveName('/ipns/13VXTuH6c').then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
    assert.match((error as Error).message, /13VXTuH6c.*not a public key/)
  })

  /** A record of a new key whose value is `value` as it is (no publisher cleans it), put into the daemon. */
  async function putRecord(value: string): Promise<string> {
    const key = await generateKeyPair('Ed25519')
    const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`
    const form = new FormData()
    const record = marshalIPNSRecord(await createIPNSRecord(key, value, 1n, 3_600_000))
    form.append('file', new Blob([record as Uint8Array<ArrayBuffer>]))
    const url = `${daemon.rpcUrl}/api/v0/routing/put?arg=${encodeURIComponent(name)}&allow-offline=true`
    const put = await fetch(url, { method: 'POST', body: form })
    assert.ok(put.ok, await put.text())
    return name
  }

  it("`..` in a name's path and in a record's value is applied to the whole path, as Kubo does", async () => {
    const leaf = await kubo.save(new TextEncoder().encode('leaf'), 'raw')
    const inner = await kubo.save(dagCbor.encode({ b: leaf, l: [leaf] }), 'dag-cbor')
    const root = await kubo.save(dagCbor.encode({ d: inner, e: leaf }), 'dag-cbor')
    const other = await kubo.save(dagCbor.encode({ z: leaf }), 'dag-cbor')
    await kubo.flush()
    // Read-only: the records are read and their values parsed here, not by the daemon.
    const reader = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl })
    const ours = (argument: string): Promise<string> =>
      resolveRoot(argument, 'root', reader).then(
        (cid) => `/ipfs/${cid}`,
        (error: unknown) => {
          assert.ok(isHamtError(error), `${argument}: ${String(error)}`)
          return `refused`
        },
      )
    const values = [
      `/ipfs/${root}/d`,
      `/ipfs/${root}/x/../d`,
      `/ipfs/${other}/../${root}/d`,
      `/ipfs/${root}/d/..`,
      `/ipfs/${root}/..`,
      `/ipfs/${root}/../../ipfs/${root}/d`,
    ]
    for (const value of values) {
      const name = await putRecord(value)
      const id = name.slice('/ipns/'.length)
      const paths = [
        '',
        '/..',
        '/b',
        '/b/..',
        '/x/../b',
        `/../${id}/b`,
        '/../..',
        '/l/0/..',
        '//b/./',
        `/../../ipfs/${root}/e`,
      ]
      for (const path of paths) {
        const argument = `${name}${path}`
        const expected = await kuboResolve(argument)
        const got = await ours(argument)
        const shown = `${value.replaceAll(String(root), 'ROOT')} then ${path.replaceAll(id, 'NAME')}`
        // A path Kubo leaves inside a block (not at a link) is no root here; `/ipfs/…` after `..` is not taken either.
        if (/^\/ipfs\/[^/]+\/./.test(expected) || path.startsWith('/../../ipfs/'))
          assert.equal(got, 'refused', shown)
        else assert.equal(got, expected, shown)
      }
    }
  })
})
