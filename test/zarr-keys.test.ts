// The Zarr key rules of the stores and the converter (src/zarr/keys.ts): py-hamt 3.6.0's converter
// list of metadata suffixes, and its sharded store's, which routes `.zmetadata` as any other key.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, isHamtError, ShardedZarrStore } from '../src/index.js'
import { convertHamtToSharded } from '../src/layout.js'
import { isMetadataKey, zarrJsonPath } from '../src/zarr/keys.js'
import { CidMemoryStore } from './helpers/cid-store.js'

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const v3Array = text(
  JSON.stringify({
    zarr_format: 3,
    node_type: 'array',
    shape: [2],
    data_type: 'uint8',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [1] } },
  }),
)

describe('Zarr keys', () => {
  it('metadata is what py-hamt 3.6.0 calls metadata: a plain suffix test over v3 and v2 names', () => {
    for (const key of [
      'zarr.json',
      't/zarr.json',
      '.zarray',
      't/.zattrs',
      'g/.zgroup',
      '.zmetadata',
      'g/c/.zmetadata',
    ]) {
      assert.equal(isMetadataKey(key), true, key)
    }
    for (const key of ['c/0', 't/c/0/1', 't/0.1', 'zarr.json/c/0', 't/.zarray.bak']) {
      assert.equal(isMetadataKey(key), false, key)
    }
  })

  it('names the node a zarr.json belongs to, and nothing for other keys', () => {
    assert.equal(zarrJsonPath('zarr.json'), '')
    assert.equal(zarrJsonPath('a/b/zarr.json'), 'a/b')
    assert.equal(zarrJsonPath('azarr.json'), undefined)
    assert.equal(zarrJsonPath('a/.zattrs'), undefined)
  })

  it('a sharded store refuses consolidated metadata under a chunk marker, as py-hamt 3.6.0 does', async () => {
    const cas = await CidMemoryStore.create()
    const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    await store.set('g/.zmetadata', text('{}'))
    const before = await store.flush()
    // py-hamt's sharded store routes `.zmetadata` as any key: a bad chunk coordinate here (in v2
    // it takes the set and then finds nothing). Test sharded.key-routes compares every case.
    await assert.rejects(store.set('g/c/.zmetadata', text('{}')), (error) => {
      assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), String(error))
      assert.match(error.message, /g\/c\/\.zmetadata/)
      return true
    })
    assert.equal(String(await store.flush()), String(before), 'the store is as it was')
    assert.deepEqual(await store.get('g/.zmetadata'), text('{}'))
  })

  it('the converter copies every key it calls metadata, and names one the sharded store refuses', async () => {
    const cas = await CidMemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: cas, valuesAreBytes: true })
    await map.set('t/zarr.json', v3Array)
    await map.set('t/c/1', Uint8Array.of(7))
    await map.set('g/.zmetadata', text('{"metadata": {}}'))
    await map.flush()
    const root = await convertHamtToSharded(map, cas, { chunksPerShard: 2 })
    const sharded = await ShardedZarrStore.open(root, { store: cas })
    assert.deepEqual(await sharded.get('g/.zmetadata'), text('{"metadata": {}}'))
    assert.deepEqual(await sharded.get('t/c/1'), Uint8Array.of(7))
    // py-hamt 3.6.0's converter drops this key without a word; ts-hamt stops and names it.
    await map.set('g/c/.zmetadata', text('{"metadata": {}}'))
    await map.flush()
    await assert.rejects(convertHamtToSharded(map, cas, { chunksPerShard: 2 }), /g\/c\/\.zmetadata/)
  })
})
