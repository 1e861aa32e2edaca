// An outsider's IPNS paths against a real Kubo: a record (or an opener's argument) that points into a
// directory (`/ipfs/<dir>/a/b`) must lead where Kubo's `resolve` leads, or end in a typed error, never
// elsewhere; segments are names as Kubo reads them (`.` and `..` cleaned, no percent-decoding).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import * as dagPb from '@ipld/dag-pb'
import { generateKeyPair } from '@libp2p/crypto/keys'
import * as cborg from 'cborg'
import { UnixFS } from 'ipfs-unixfs'
import { marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { followContentPath } from '../src/cas/content-path.js'
import { HAMT, isHamtError, KuboStore, TrustlessGatewayStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type KuboDaemon, kuboBinary, rpc, startKubo } from './helpers/kubo.js'
import { serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const random = mulberry32(testSeed())
let daemon: KuboDaemon
let kubo: KuboStore

before(async () => {
  daemon = await startKubo()
  kubo = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
})
after(() => daemon?.stop())

/** A UnixFS directory block linking `entries` by name, put into the daemon; its CID. */
async function directory(entries: Array<[string, CID]>): Promise<CID> {
  const sorted = [...entries].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const bytes = dagPb.encode({
    Data: new UnixFS({ type: 'directory' }).marshal(),
    Links: sorted.map(([Name, Hash]) => ({ Name, Hash, Tsize: 0 })),
  })
  const cid = CID.createV1(dagPb.code, await sha256.digest(bytes))
  const form = new FormData()
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]))
  const put = await fetch(`${daemon.rpcUrl}/api/v0/block/put?cid-codec=dag-pb&mhtype=sha2-256`, {
    method: 'POST',
    body: form,
  })
  assert.equal(((await put.json()) as { Key: string }).Key, cid.toString())
  return cid
}

async function kuboResolve(path: string): Promise<string> {
  return rpc(daemon.rpcUrl, 'resolve', { arg: path }).then(
    (answer) => (answer as { Path: string }).Path,
    (error: Error) => `refused: ${error.message.slice(0, 80)}`,
  )
}

/** A map holding `which`, flushed into the daemon; its root. */
async function mapSaying(which: string): Promise<CID> {
  const map = await HAMT.create<string>({ store: kubo })
  await map.set('which', which)
  return (await map.flush()) as CID
}

describe('paths into directories, against Kubo', () => {
  it('a name whose record points to /ipfs/<dir>/%41 opens the map Kubo resolves it to, not the one named A', async () => {
    const literal = await mapSaying('%41')
    const decoded = await mapSaying('A')
    const dir = await directory([
      ['%41', literal],
      ['A', decoded],
    ])
    assert.equal(await kuboResolve(`/ipfs/${dir}/%41`), `/ipfs/${literal}`)
    await rpc(daemon.rpcUrl, 'name/publish', { arg: `/ipfs/${dir}/%41`, 'allow-offline': 'true' })
    const map = await HAMT.open<string>(`/ipns/${daemon.peerId}`, { store: kubo })
    assert.equal(await map.get('which'), '%41')
    // A path after the name: as it is after /ipns/, percent-decoded after ipns:// (a URL).
    await rpc(daemon.rpcUrl, 'name/publish', { arg: `/ipfs/${dir}`, 'allow-offline': 'true' })
    for (const [argument, which] of [
      [`/ipns/${daemon.peerId}/%41`, '%41'],
      [`ipns://${daemon.peerId}/%2541`, '%41'],
      [`ipns://${daemon.peerId}/%41`, 'A'],
    ]) {
      const opened = await HAMT.open<string>(argument as string, { store: kubo })
      assert.equal(await opened.get('which'), which, argument)
    }
    for (const argument of [`ipns://${daemon.peerId}/a%2Fb`, `ipns://${daemon.peerId}/%E0%A4%A`]) {
      const error = await HAMT.open(argument, { store: kubo }).then(
        () => undefined,
        (e: unknown) => e,
      )
      assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), `${argument}: ${String(error)}`)
    }
  })

  it('generated paths (percent-encoded, `.`, `..`, empty segments) lead where Kubo leads, or are refused', async () => {
    const alphabet = ['a', 'b', 'A', '%', '4', '1', '2', '0', 'é', 'e\u0301', ' ', '?', '#', '.']
    const word = (): string =>
      Array.from(
        { length: 1 + Math.floor(random() * 4) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('')
    const leaves = new Map<string, CID>()
    for (let i = 0; i < 12; i++) {
      const name = word()
      if (name === '.' || name === '..' || leaves.has(name)) continue
      leaves.set(name, await mapSaying(name))
    }
    const inner = await directory([...leaves])
    const root = await directory([['sub', inner], ...[...leaves].slice(0, 3)])
    const names = [...leaves.keys()]
    const forms = [
      (name: string) => `/sub/${name}`,
      (name: string) => `/sub/${encodeURIComponent(name)}`,
      (name: string) => `/sub/./${name}`,
      (name: string) => `/sub//${name}/`,
      (name: string) => `/sub/x/../${name}`,
      (name: string) => `/sub/${name}/..`,
      (name: string) => `/../sub/${name}`,
    ]
    for (let i = 0; i < 40; i++) {
      const name = names[Math.floor(random() * names.length)] as string
      const path = (forms[Math.floor(random() * forms.length)] as (name: string) => string)(name)
      const expected = await kuboResolve(`/ipfs/${root}${path}`)
      const ours = await followContentPath(root, path, kubo.getBlock.bind(kubo)).then(
        (cid) => `/ipfs/${cid}`,
        (error: unknown) => {
          assert.ok(isHamtError(error), `${path}: ${String(error)}`)
          return `refused: ${(error as Error).message.slice(0, 80)}`
        },
      )
      // Where Kubo refuses, ours must too; where Kubo resolves, ours leads to the same CID.
      if (expected.startsWith('refused')) assert.match(ours, /^refused/, `${JSON.stringify(path)}: ${ours}`)
      else assert.equal(ours, expected, JSON.stringify(path))
    }
  })
})

describe('records their owner signed with odd fields', () => {
  it('a Sequence that is no uint64 (text, fraction, negative, missing, a map) is refused: malformed', async () => {
    const key = await generateKeyPair('Ed25519')
    const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`
    const text = (value: string) => new TextEncoder().encode(value)
    /** A V2 record (what the signature covers is the CBOR data) with `fields` over valid ones. */
    async function record(fields: Record<string, unknown>, drop?: string): Promise<Uint8Array> {
      const valid: Record<string, unknown> = {
        Sequence: 1,
        TTL: 1,
        Validity: text(new Date(Date.now() + 3_600_000).toISOString()),
        ValidityType: 0,
        Value: text('/ipfs/bafkqac3jobxhgidsn5rww4yk'),
      }
      const all = { ...valid, ...fields }
      if (drop !== undefined) delete all[drop]
      const data = cborg.encode(all)
      const signatureV2 = await key.sign(Uint8Array.from([...text('ipns-signature:'), ...data]))
      return marshalIPNSRecord({ signatureV2, data } as never)
    }
    let served = await record({})
    const gateway = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.ipfs.ipns-record' }).end(served)
    })
    const store = new TrustlessGatewayStore({ gateways: gateway.url, retries: 0 })
    const resolved = await store.resolveName(name)
    assert.equal(resolved.sequence, 1n)
    served = await record({ Sequence: 2n ** 64n - 1n })
    assert.equal((await store.resolveName(name)).sequence, 2n ** 64n - 1n)
    const n = 1 + Math.floor(random() * 1000)
    const odd: Array<[string, Record<string, unknown>, string?]> = [
      ['text', { Sequence: String(n) }],
      ['a fraction', { Sequence: n + 0.5 }],
      ['negative', { Sequence: -n }],
      ['missing', {}, 'Sequence'],
      ['a map', { Sequence: { n } }],
    ]
    for (const [what, fields, drop] of odd) {
      served = await record(fields, drop)
      // A fresh store each: one that saw 2**64-1 keeps it over anything older.
      const fresh = new TrustlessGatewayStore({ gateways: gateway.url, retries: 0 })
      const outcome = await withinBudget(`Sequence ${what}`, () => fresh.resolveName(name))
      assertTypedError(outcome, 'ERR_IPNS_RECORD')
      assert.equal((outcome.error as { problem: string }).problem, 'malformed', what)
    }
  })
})

describe('paths into HAMT-sharded directories, against Kubo', () => {
  it('a sharded directory is refused by name, not searched by its slot-prefixed link names', async () => {
    // Kubo shards every directory from 1 byte of links on: a small sharded directory made by Kubo itself.
    const ipfs = promisify(execFile)
    const env = { ...process.env, IPFS_PATH: daemon.ipfsPath }
    const bin = await kuboBinary()
    await ipfs(bin, ['config', '--json', 'Import.UnixFSHAMTDirectorySizeThreshold', '"1B"'], { env })
    await daemon.restart()
    const folder = await mkdtemp(join(tmpdir(), 'ts-hamt-sharded-'))
    try {
      await mkdir(join(folder, 'd'))
      const names = Array.from(
        { length: 3 + Math.floor(random() * 6) },
        (_, i) => `n${i}${Math.floor(random() * 1e6)}`,
      )
      for (const name of names) await writeFile(join(folder, 'd', name), name)
      const added = await ipfs(bin, ['add', '-r', '-Q', '--cid-version=1', join(folder, 'd')], { env })
      const root = CID.parse(added.stdout.trim())
      const shard = dagPb.decode(await kubo.getBlock(root))
      assert.equal(UnixFS.unmarshal(shard.Data as Uint8Array).type, 'hamt-sharded-directory')
      for (const link of shard.Links) {
        // Kubo resolves the names (when the shard holds them at its top) and refuses the link names.
        const name = (link.Name as string).slice(2)
        for (const path of [`/${link.Name}`, `/${name}`]) {
          const expected = await kuboResolve(`/ipfs/${root}${path}`)
          const ours = await followContentPath(root, path, kubo.getBlock.bind(kubo)).then(
            (cid) => `/ipfs/${cid}`,
            (error: unknown) => {
              assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
              assert.match((error as Error).message, /HAMT-sharded/)
              return 'refused'
            },
          )
          if (expected.startsWith('refused')) assert.equal(ours, 'refused', path)
          else assert.ok(ours === 'refused' || ours === expected, `${path}: ${ours}, Kubo ${expected}`)
        }
      }
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })
})
