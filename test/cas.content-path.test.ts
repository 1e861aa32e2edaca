// Paths after a CID (`/ipfs/<cid>/a/b`, as an IPNS record may point), followed over blocks: dag-pb
// directory names, dag-cbor fields and indexes, and the refusals.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { followContentPath } from '../src/cas/content-path.js'
import { isHamtError } from '../src/index.js'

const blocks = new Map<string, Uint8Array>()
const loads: string[] = []
async function put(code: number, bytes: Uint8Array): Promise<CID> {
  const cid = CID.createV1(code, await sha256.digest(bytes))
  blocks.set(String(cid), bytes)
  return cid
}
const getBlock = async (cid: CID): Promise<Uint8Array> => {
  loads.push(String(cid))
  const bytes = blocks.get(String(cid))
  if (bytes === undefined) throw new Error(`no block ${cid}`)
  return bytes
}
const directory = (links: Record<string, CID>): Uint8Array =>
  dagPb.encode(
    dagPb.prepare({
      Data: new Uint8Array([8, 1]), // UnixFS Directory
      Links: Object.entries(links).map(([Name, Hash]) => ({ Name, Hash, Tsize: 1 })),
    }),
  )

const leaf = await put(raw.code, new TextEncoder().encode('the root'))
const other = await put(raw.code, new TextEncoder().encode('another'))
const catalog = await put(dagCbor.code, dagCbor.encode({ 'a b': { list: [other, leaf] }, n: 1 }))
const inner = await put(dagPb.code, directory({ 'cat alog': catalog, leaf }))
const top = await put(dagPb.code, directory({ data: inner }))

async function refusal(path: string, from: CID = top): Promise<Error> {
  const error = await followContentPath(from, path, getBlock).then(
    (cid) => assert.fail(`${path} gave ${cid}`),
    (e: unknown) => e as Error,
  )
  assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
  return error
}

describe('followContentPath', () => {
  it('follows directory names and dag-cbor fields and indexes, as Kubo reads them (names as they are, `.` and `..` cleaned), one block per step', async () => {
    assert.equal(String(await followContentPath(top, '', getBlock)), String(top))
    assert.equal(String(await followContentPath(top, '/data/leaf', getBlock)), String(leaf))
    loads.length = 0
    const found = await followContentPath(top, '/data/cat alog/a b/list/1', getBlock)
    assert.equal(String(found), String(leaf))
    assert.deepEqual(loads, [String(top), String(inner), String(catalog)])
    // Kubo reads a list index as Go's ParseInt does: a sign and leading zeros are allowed.
    assert.equal(String(await followContentPath(top, '/data/cat alog/a b/list/01', getBlock)), String(leaf))
    assert.equal(String(await followContentPath(top, '/data/cat alog/a b/list/+1', getBlock)), String(leaf))
    assert.equal(String(await followContentPath(top, '/./data/x/../leaf/', getBlock)), String(leaf))
  })

  it('refuses a missing name, a path ending inside a block, a raw block, bad indexes, percent-encoded names and `..` above the root', async () => {
    assert.match((await refusal('/data/missing')).message, /no link named "missing" \(at \/data\)/)
    assert.match((await refusal('/data/cat alog/n')).message, /ends inside a block/)
    assert.match((await refusal('/data/cat alog/a b/list')).message, /ends inside a block/)
    assert.match((await refusal('/data/cat alog/a b/list/-1')).message, /no field "-1"/)
    assert.match((await refusal('/data/cat alog/a b/list/0x1')).message, /no field "0x1"/)
    assert.match((await refusal('/data/cat alog/a b/list/2')).message, /no field "2"/)
    assert.match((await refusal('/data/cat alog/constructor')).message, /no field "constructor"/)
    assert.match((await refusal('/data/leaf/more')).message, /codec 0x55 has no paths/)
    assert.match((await refusal('/data/cat%20alog')).message, /no link named "cat%20alog"/)
    assert.match((await refusal('/data/../..')).message, /'\.\.' leads above the root/)
    assert.match((await refusal(`/${'x/'.repeat(300)}`)).message, /more than 256 segments/)
  })
})
