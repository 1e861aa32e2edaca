// diffZarrRoots on Zarr v2 data (py-hamt + xarray with zarr_format=2) and on v3 arrays whose chunk
// keys are not the default `c/0/1`: chunks are named by each array's own chunk key encoding.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { hexToBytes } from '../src/blocks.js'
import { diffZarrRoots, HAMT, MemoryStore, type StoreId } from '../src/index.js'
import { pyHamtPython, zarrVersionsDriver } from './helpers/python.js'
import { changeLines } from './helpers/zarr-changes.js'

type Versions = {
  roots: [string, string]
  blocks: Record<string, string>
  values: [Record<string, string>, Record<string, string>]
  ntime: number
}

function lines(from: StoreId, to: StoreId, store: MemoryStore): Promise<string[]> {
  return changeLines(diffZarrRoots(from, to, { store }))
}

describe('diffZarrRoots names the chunks of Zarr v2 arrays', () => {
  let versions: Versions
  let store: MemoryStore
  before(async () => {
    await pyHamtPython()
    versions = await zarrVersionsDriver<Versions>('append', { zarrFormat: 2 })
    store = await MemoryStore.create()
    for (const data of Object.values(versions.blocks)) await store.save(hexToBytes(data), 'raw')
  })

  it('an appended time step written by xarray (zarr_format=2) is new chunks and changed .zarray documents', async () => {
    const [from, to] = versions.roots.map(hexToBytes) as [Uint8Array, Uint8Array]
    const [a, b] = versions.values
    // The keys py-hamt reads back that differ, as Zarr v2 names them: `<array>/<i>.<j>`.
    const added = Object.keys(b).filter((key) => !(key in a))
    const changed = Object.keys(b).filter((key) => key in a && a[key] !== b[key])
    assert.ok(added.length > 0 && Object.keys(a).every((key) => key in b))
    const expected = [
      ...changed.map((key) => `metadata changed ${key}`),
      ...added.map((key) => {
        const slash = key.lastIndexOf('/')
        return `chunk added ${key.slice(0, slash)} ${key
          .slice(slash + 1)
          .split('.')
          .join(',')}`
      }),
    ]
    assert.deepEqual(await lines(from, to, store), expected.sort())
    assert.ok(expected.includes(`chunk added temp ${versions.ntime},1,0`))
  })

  it('chunk keys with a / separator (v2) or a . separator (v3), and a 0-d array, are chunks too', async () => {
    const memory = await MemoryStore.create()
    const text = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    const v3 = (shape: number[], encoding: object) => ({
      zarr_format: 3,
      node_type: 'array',
      shape,
      chunk_key_encoding: encoding,
    })
    const documents: Record<string, unknown> = {
      '.zgroup': { zarr_format: 2 },
      'slash/.zarray': { zarr_format: 2, shape: [4, 4], dimension_separator: '/' },
      'nested/deep/.zarray': { zarr_format: 2, shape: [2], dimension_separator: '.' },
      'scalar/.zarray': { zarr_format: 2, shape: [] },
      'dotted/zarr.json': v3([4, 4], { name: 'default', configuration: { separator: '.' } }),
      'v2keys/zarr.json': v3([4, 4, 4], { name: 'v2', configuration: { separator: '.' } }),
      'point/zarr.json': v3([], { name: 'default' }),
    }
    const build = async (chunks: string[]): Promise<StoreId> => {
      const map = await HAMT.create<Uint8Array>({ store: memory, valuesAreBytes: true })
      for (const [key, doc] of Object.entries(documents)) await map.set(key, text(doc))
      for (const key of chunks) await map.set(key, text(key))
      return map.flush()
    }
    const from = await build([])
    const chunks = ['slash/1/2', 'nested/deep/1', 'scalar/0', 'dotted/c.3.0', 'v2keys/0.1.2', 'point/c']
    const to = await build([...chunks, 'slash/x'])
    assert.deepEqual(
      await lines(from, to, memory),
      [
        'chunk added slash 1,2',
        'chunk added nested/deep 1',
        'chunk added scalar ',
        'chunk added dotted 3,0',
        'chunk added v2keys 0,1,2',
        'chunk added point ',
        'other added slash/x',
      ].sort(),
    )
  })
})
