// The Zarr key rules both stores and the converter share (src/zarr/keys.ts): one metadata rule, so a
// key the converter copies as metadata is one the sharded store also keeps as metadata.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, ShardedZarrStore } from '../src/index.js'
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

  it('a sharded store keeps consolidated metadata of a group named c as metadata', async () => {
    const cas = await CidMemoryStore.create()
    const store = await ShardedZarrStore.create({ store: cas, chunksPerShard: 4 })
    // Before one metadata rule, the store parsed `.zmetadata` as a chunk coordinate and threw.
    await store.set('g/c/.zmetadata', text('{}'))
    const root = await store.flush()
    const again = await ShardedZarrStore.open(root, { store: cas })
    assert.deepEqual(await again.get('g/c/.zmetadata'), text('{}'))
  })

  it('the converter copies every key it calls metadata into a store that accepts it', async () => {
    const cas = await CidMemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: cas, valuesAreBytes: true })
    await map.set('t/zarr.json', v3Array)
    await map.set('t/c/1', Uint8Array.of(7))
    await map.set('g/c/.zmetadata', text('{"metadata": {}}'))
    await map.flush()
    const root = await convertHamtToSharded(map, cas, { chunksPerShard: 2 })
    const sharded = await ShardedZarrStore.open(root, { store: cas })
    assert.deepEqual(await sharded.get('g/c/.zmetadata'), text('{"metadata": {}}'))
    assert.deepEqual(await sharded.get('t/c/1'), Uint8Array.of(7))
  })
})
