// One default for every opener of a root: `create` writes, `open` reads unless `readOnly: false`.
// The options that mean one thing have one name on every class (`cacheBytes`, `gateways`).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  HAMT,
  isHamtError,
  KuboStore,
  MemoryStore,
  openZarrRoot,
  ShardedZarrStore,
  TrustlessGatewayStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { CidMemoryStore } from './helpers/cid-store.js'

const readOnlyError = (err: unknown): boolean => isHamtError(err, 'ERR_READ_ONLY')

describe('openers', () => {
  it('HAMT.open reads unless readOnly: false; HAMT.create writes', async () => {
    const store = await MemoryStore.create()
    const created = await HAMT.create<number>({ store })
    assert.equal(created.readOnly, false)
    await created.set('a', 1)
    const root = await created.flush()

    const opened = await HAMT.open<number>(root, { store })
    assert.equal(opened.readOnly, true)
    assert.equal(await opened.get('a'), 1)
    await assert.rejects(opened.set('b', 2), readOnlyError)
    await assert.rejects(opened.delete('a'), readOnlyError)

    const writable = await HAMT.open<number>(root, { store, readOnly: false })
    assert.equal(writable.readOnly, false)
    await writable.set('b', 2)
    assert.deepEqual(await HAMT.open(await writable.flush(), { store }).then((m) => m.size()), 2)
    // The root it was opened at is unchanged: writes make a new root.
    assert.equal(await (await HAMT.open(root, { store })).size(), 1)
  })

  it('ShardedZarrStore.open and openZarrRoot read too, and every opener takes the ID a flush gives', async () => {
    const store = await CidMemoryStore.create()
    const sharded = await ShardedZarrStore.create({ store, chunksPerShard: 4 })
    assert.equal(sharded.readOnly, false)
    const root = await sharded.flush()
    assert.equal((await ShardedZarrStore.open(root, { store })).readOnly, true)
    assert.equal((await ShardedZarrStore.open(root, { store, readOnly: false })).readOnly, false)
    const { store: zarrStore } = await openZarrRoot(root, { store })
    assert.equal(zarrStore.readOnly, true)

    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await map.set('zarr.json', new TextEncoder().encode('{"zarr_format": 3, "node_type": "group"}'))
    const mapRoot = await map.flush()
    const opened = await openZarrRoot(mapRoot, { store })
    assert.equal(opened.store.readOnly, true)
    const onMap = new ZarrHAMTStore(await HAMT.open<Uint8Array>(mapRoot, { store, valuesAreBytes: true }))
    assert.equal(onMap.readOnly, true)
  })

  it('a sharded store takes cacheBytes, as the HAMT does, checked the same way', async () => {
    const store = await CidMemoryStore.create()
    const writer = await ShardedZarrStore.create({
      store,
      chunksPerShard: 2,
      arrayShape: [4],
      chunkShape: [1],
      cacheBytes: 0,
    })
    await writer.set('c/0', Uint8Array.of(1))
    const root = await writer.flush()
    // Nothing clean is kept at a budget of 0 bytes.
    assert.equal(writer.cacheStats().shards, 0)
    const reader = await ShardedZarrStore.open(root, { store, cacheBytes: 0 })
    assert.deepEqual(await reader.get('c/0'), Uint8Array.of(1))
    assert.equal(reader.cacheStats().shards, 0)
    for (const cacheBytes of [-1, 1.5, Number.NaN]) {
      await assert.rejects(ShardedZarrStore.open(root, { store, cacheBytes }), (err: unknown) => {
        assert.ok(isHamtError(err, 'ERR_INVALID_ARGUMENT'))
        assert.match(String(err), /options\.cacheBytes must be an integer of at least 0/)
        return true
      })
      await assert.rejects(
        HAMT.create({ store, cacheBytes }),
        /options\.cacheBytes must be an integer of at least 0/,
      )
    }
  })

  it('KuboStore and TrustlessGatewayStore take gateways, and show them as they are tried', () => {
    const kubo = new KuboStore({ rpcUrl: null, gateways: ['http://a.example', 'http://b.example/ipfs/'] })
    assert.deepEqual(kubo.gateways, ['http://a.example/ipfs/', 'http://b.example/ipfs/'])
    assert.deepEqual(new KuboStore({ rpcUrl: null }).gateways, ['http://127.0.0.1:8080/ipfs/'])
    const trustless = new TrustlessGatewayStore({ gateways: 'http://a.example/' })
    assert.deepEqual(trustless.gateways, ['http://a.example/ipfs/'])
    for (const make of [
      (gateways: never) => new KuboStore({ gateways }),
      (gateways: never) => new TrustlessGatewayStore({ gateways }),
    ]) {
      for (const [bad, message] of [
        [42, /^gateways must be a URL or an array of URLs$/],
        [[], /^gateways: at least one gateway is needed$/],
        [['http://ok.example', 'ftp://x'], /^gateways must be an http\(s\) URL, got "ftp:\/\/x"$/],
      ] as const) {
        assert.throws(
          () => make(bad as never),
          (err: unknown) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && message.test((err as Error).message),
        )
      }
    }
  })
})
