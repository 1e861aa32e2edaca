// Every root argument goes through one coercion (cas/id.ts toCid): a CID object or its string form
// is accepted everywhere a root is taken, and anything else fails with one message naming the argument.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { toCid } from '../src/cas/id.js'
import {
  exportCar,
  HAMT,
  isHamtError,
  openZarrRoot,
  ShardedZarrStore,
  TrustlessGatewayStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'

async function rejectsNaming(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
    assert.match((error as Error).message, message)
    return true
  })
}

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0
  for await (const chunk of chunks) bytes += chunk.length
  return bytes
}

describe('CID coercion', () => {
  it('toCid takes a CID or its string, and names the argument otherwise', () => {
    const cid = CID.parse('bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua')
    assert.ok(toCid(cid, 'root').equals(cid))
    assert.ok(toCid(String(cid), 'root').equals(cid))
    assert.throws(() => toCid('nope', 'root'), /^InvalidArgumentError: root must be a CID, got "nope"$/)
    assert.throws(() => toCid(42, 'rootId'), /rootId must be a CID, got number/)
    assert.throws(() => toCid(cid.multihash.bytes, 'id'), /id must be a CID, got bytes/)
  })

  it('toCid reads the string forms Kubo prints (base32, its upper case, base36, CIDv0) and nothing around them', () => {
    const cid = CID.parse('bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua')
    assert.ok(
      toCid(String(cid).toUpperCase(), 'root').equals(cid),
      'base32upper (`ipfs cid format -b base32upper`)',
    )
    assert.ok(toCid(cid.toString(base36), 'root').equals(cid), 'base36')
    const v0 = 'QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'
    assert.equal(String(toCid(v0, 'root')), v0)
    for (const text of [
      ` ${cid}`,
      `${cid}\n`,
      `/ipfs/${cid}`,
      `ipfs://${cid}`,
      '',
      'B',
      `${cid}`.toUpperCase().slice(0, 20),
    ])
      assert.throws(() => toCid(text, 'root'), /^InvalidArgumentError: root must be a CID, got /)
  })

  it('every root argument takes a CID string as well as a CID', async () => {
    const store = await CidMemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await map.set('zarr.json', new TextEncoder().encode('{"zarr_format": 3, "node_type": "group"}'))
    const root = String(await map.flush())

    assert.deepEqual(await (await HAMT.open(root, { store })).size(), 1)
    const opened = await openZarrRoot(root, { store })
    assert.equal(opened.layout.kind, 'hamt')
    assert.ok(opened.store instanceof ZarrHAMTStore)
    const source = { getBlock: (cid: CID) => store.load(cid) }
    assert.ok((await drain(exportCar(source, root))) > 0)

    const sharded = await ShardedZarrStore.create({ store, chunksPerShard: 4 })
    const shardedRoot = String(await sharded.flush())
    assert.equal((await openZarrRoot(shardedRoot, { store })).layout.kind, 'sharded')
    assert.ok(await ShardedZarrStore.open(shardedRoot, { store }))
  })

  it('ShardedZarrStore.setPointer takes a CID string as well as a CID, and names its argument otherwise', async () => {
    const store = await CidMemoryStore.create()
    const sharded = await ShardedZarrStore.create({ store, chunksPerShard: 4 })
    const group = new TextEncoder().encode('{"zarr_format": 3, "node_type": "group"}')
    const pointer = await store.save(group, 'raw')
    await sharded.setPointer('zarr.json', String(pointer))
    assert.deepEqual(await sharded.get('zarr.json'), group)
    await rejectsNaming(
      sharded.setPointer('zarr.json', 'nope'),
      /^pointer of zarr.json must be a CID, got "nope"$/,
    )
    await rejectsNaming(
      sharded.setPointer('zarr.json', 42 as never),
      /^pointer of zarr.json must be a CID, got number/,
    )
  })

  it('a malformed root is one typed error, naming the argument, wherever it is given', async () => {
    const store = await CidMemoryStore.create()
    await rejectsNaming(HAMT.open('nope', { store }), /^rootId must be a CID, got "nope"$/)
    await rejectsNaming(ShardedZarrStore.open('nope', { store }), /^rootId must be a CID, got "nope"$/)
    await rejectsNaming(openZarrRoot('nope', { store }), /^root must be a CID, got "nope"$/)
    const source = { getBlock: (cid: CID) => store.load(cid) }
    await rejectsNaming(drain(exportCar(source, 'nope')), /^root must be a CID, got "nope"$/)
    await rejectsNaming(
      drain(exportCar(source, Uint8Array.of(1, 2))),
      /^root must be a CID, got bytes \(a store ID that is not a CID\)$/,
    )
    const gateway = new TrustlessGatewayStore({ gateways: 'http://127.0.0.1:9' })
    await rejectsNaming(gateway.load(Uint8Array.of(1)), /^id must be a CID, got bytes/)
  })
})
