// diffZarrRoots on a stranger's metadata nested thousands deep: the diff reports it (as JSON, or its
// bytes when too deep to follow), never an untyped stack overflow.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { diffZarrRoots, HAMT, MemoryStore, type ZarrChange } from '../src/index.js'

await loadBlake3()
const text = (value: string): Uint8Array => new TextEncoder().encode(value)

describe('diffZarrRoots: metadata nested deep', () => {
  it('attributes nested 100 to 6000 deep are reported, the document as JSON or bytes', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await map.set('temp/zarr.json', text('{"zarr_format":3,"node_type":"array"}'))
    const base = await map.flush()
    for (const depth of [100, 1000, 2000, 3000, 4000, 5000, 6000]) {
      const side = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
      const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`
      await side.set('temp/zarr.json', text(`{"zarr_format":3,"node_type":"array","attributes":${nested}}`))
      const changes: ZarrChange[] = []
      for await (const change of diffZarrRoots(base, await side.flush(), { store })) changes.push(change)
      const metadata = changes.filter((change) => change.type === 'metadata')
      assert.equal(metadata.length, 1, `depth ${depth}`)
      const after = (metadata[0] as { after?: unknown }).after
      assert.ok(after instanceof Uint8Array || typeof after === 'object', `depth ${depth}`)
    }
  })
})
