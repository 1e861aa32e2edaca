// An outsider's IPNS paths against a real Kubo: a record (or an opener's argument) that points into a
// directory (`/ipfs/<dir>/a/b`) must lead where Kubo's `resolve` leads, or end in a typed error, never
// elsewhere; segments are names as Kubo reads them (`.` and `..` cleaned, no percent-decoding).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { followContentPath } from '../src/cas/content-path.js'
import { HAMT, isHamtError, KuboStore } from '../src/index.js'
import { type KuboDaemon, rpc, startKubo } from './helpers/kubo.js'
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
  form.append('file', new Blob([bytes]))
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
