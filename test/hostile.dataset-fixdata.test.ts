// A stranger's array metadata that zarr-python refuses or reads its own way: a Zarr v2 `order` other
// than C or F, Fortran-ordered chunks, a shard shape its inner chunks do not divide. Each ends in
// the values zarr-python reads or a typed error naming the field.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { openDataset } from '../src/dataset.js'
import { HAMT, MemoryStore } from '../src/index.js'
import { assertTypedError } from './helpers/hostile.js'

await loadBlake3()

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** Every file in one in-memory HAMT: the root and its store. */
async function rootOf(files: Record<string, Uint8Array>) {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  for (const [key, value] of Object.entries(files)) await map.set(key, value)
  return { root: await map.flush(), store }
}

/** What `read()` of a variable gives: its values, or the error it threw. */
async function outcome(read: () => Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await read() }
  } catch (error) {
    return { error }
  }
}

/**
 * A Zarr v2 array x(a, b) of shape [3, 5] in chunks [2, 3], float64, holding 10·i + j, its chunks'
 * bytes laid out in `layout` order (zarr-python pads edge chunks to the whole chunk shape).
 */
function v2Array(order: unknown, layout: 'C' | 'F'): Record<string, Uint8Array> {
  const [rows, cols, chunkRows, chunkCols] = [3, 5, 2, 3]
  const zarray: Record<string, unknown> = {
    zarr_format: 2,
    shape: [rows, cols],
    chunks: [chunkRows, chunkCols],
    dtype: '<f8',
    fill_value: null, // xarray masks a v2 fill value: none here, so 0 stays a value
    filters: null,
    compressor: null,
    dimension_separator: '.',
  }
  if (order !== undefined) zarray.order = order
  const files: Record<string, Uint8Array> = {
    '.zgroup': json({ zarr_format: 2 }),
    'x/.zarray': json(zarray),
    'x/.zattrs': json({ _ARRAY_DIMENSIONS: ['a', 'b'] }),
  }
  for (let ci = 0; ci < Math.ceil(rows / chunkRows); ci++) {
    for (let cj = 0; cj < Math.ceil(cols / chunkCols); cj++) {
      const chunk = new Float64Array(chunkRows * chunkCols)
      for (let r = 0; r < chunkRows; r++) {
        for (let c = 0; c < chunkCols; c++) {
          const [i, j] = [ci * chunkRows + r, cj * chunkCols + c]
          const value = i < rows && j < cols ? 10 * i + j : 0
          chunk[layout === 'C' ? r * chunkCols + c : c * chunkRows + r] = value
        }
      }
      files[`x/${ci}.${cj}`] = new Uint8Array(chunk.buffer)
    }
  }
  return files
}

const expected = [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24]

describe('Zarr v2 order', () => {
  it('C and F chunks read as zarr-python reads them, whole and by selection', async () => {
    for (const order of ['C', 'F'] as const) {
      const { root, store } = await rootOf(v2Array(order, order))
      const x = (await openDataset(root, { store })).variable('x')
      assert.deepEqual([...(await x.load()).values], expected, `order ${order}`)
      const picked = await x.isel({ a: { start: 1 }, b: [4, 0, 2] }).load()
      assert.deepEqual([...picked.values], [14, 10, 12, 24, 20, 22], `order ${order}`)
    }
  })

  it('any other order, or none, is ERR_INVALID_VALUE naming the field (zarr-python refuses both)', async () => {
    for (const order of ['K', 'c', 'A', '', null, 1, ['C'], undefined]) {
      const { root, store } = await rootOf(v2Array(order, 'C'))
      const ds = await openDataset(root, { store })
      const read = await outcome(() => ds.variable('x').load())
      assertTypedError(read, 'ERR_INVALID_VALUE')
      const message = (read.error as Error).message
      assert.match(message, /"x"/, message)
      assert.match(message, /order/, message)
    }
  })
})

/**
 * A Zarr v3 array x of shape [12] holding 0..11 in shards of 6 values, each of 3 inner chunks of 2
 * (little-endian float64, the shard index of (offset, length) pairs at the end), its zarr.json
 * declaring shards of `shard` and inner chunks of `inner`. Written by hand: zarrita does not write
 * sharded arrays.
 */
async function shardedRoot(shard: unknown = [6], inner: unknown = [2]) {
  const meta = {
    zarr_format: 3,
    node_type: 'array',
    shape: [12],
    data_type: 'float64',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: shard } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs: [
      {
        name: 'sharding_indexed',
        configuration: {
          chunk_shape: inner,
          codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
          index_codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
          index_location: 'end',
        },
      },
    ],
    attributes: {},
    dimension_names: ['i'],
  }
  const files: Record<string, Uint8Array> = {
    'zarr.json': json({ zarr_format: 3, node_type: 'group', attributes: {} }),
    'x/zarr.json': json(meta),
  }
  for (const shard of [0, 1]) {
    const bytes = new Uint8Array(6 * 8 + 3 * 16)
    const view = new DataView(bytes.buffer)
    for (let k = 0; k < 6; k++) view.setFloat64(8 * k, shard * 6 + k, true)
    for (let c = 0; c < 3; c++) {
      view.setBigUint64(48 + 16 * c, BigInt(16 * c), true)
      view.setBigUint64(48 + 16 * c + 8, 16n, true)
    }
    files[`x/c/${shard}`] = bytes
  }
  return rootOf(files)
}

describe('sharded arrays', () => {
  it('a shard of whole inner chunks reads (the case the refusal below must leave alone)', async () => {
    const { root, store } = await shardedRoot()
    const values = (await (await openDataset(root, { store })).variable('x').load()).values
    assert.deepEqual(
      [...values],
      Array.from({ length: 12 }, (_, i) => i),
    )
  })

  it('a shard shape its inner chunk shape does not divide is ERR_INVALID_VALUE naming both shapes', async () => {
    const cases: Array<[shard: unknown, inner: unknown]> = [
      [[5], [2]],
      [[6], [4]],
      [[6], [0]],
      [[6], [2, 1]],
      [[6], 2],
    ]
    for (const [shard, inner] of cases) {
      const name = `shard ${JSON.stringify(shard)}, inner ${JSON.stringify(inner)}`
      const { root, store } = await shardedRoot(shard, inner)
      const read = await outcome(async () => (await openDataset(root, { store })).variable('x').load())
      assertTypedError(read, 'ERR_INVALID_VALUE')
      const message = (read.error as Error).message
      assert.match(message, /"x"/, `${name}: ${message}`)
      assert.match(message, /shard/, `${name}: ${message}`)
      assert.match(message, /inner chunk/, `${name}: ${message}`)
    }
  })
})

/**
 * A Zarr v3 dataset of one bool variable `flag` with these attributes, stored as `bytes` (True,
 * False, True, False by default; one byte and no dimension for a 0-d variable).
 */
async function boolRoot(attributes: Record<string, unknown>, bytes = Uint8Array.of(1, 0, 1, 0), ndim = 1) {
  const shape = ndim === 0 ? [] : [bytes.length]
  const meta = {
    zarr_format: 3,
    node_type: 'array',
    shape,
    data_type: 'bool',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: shape } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: false,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    attributes,
    dimension_names: ndim === 0 ? [] : ['x'],
  }
  return rootOf({
    'zarr.json': json({ zarr_format: 3, node_type: 'group', attributes: {} }),
    'flag/zarr.json': json(meta),
    [ndim === 0 ? 'flag/c' : 'flag/c/0']: bytes,
  })
}

describe('bool data variables', () => {
  // What xarray 2026.9 gives for each (the random datasets of hostile.dataset-review4 compare with it live).
  const cases: Array<[Record<string, unknown>, number[]]> = [
    [{}, [1, 0, 1, 0]],
    [{ _FillValue: false }, [1, Number.NaN, 1, Number.NaN]],
    [{ _FillValue: true }, [Number.NaN, 0, Number.NaN, 0]],
    [{ missing_value: true }, [Number.NaN, 0, Number.NaN, 0]],
    [{ scale_factor: 2 }, [2, 0, 2, 0]],
    [{ add_offset: 273.15 }, [274.15, 273.15, 274.15, 273.15]],
    [{ _Unsigned: 'true' }, [1, 0, 1, 0]],
  ]
  for (const [attributes, values] of cases) {
    it(`read as 1 and 0, CF-decoded as xarray: ${JSON.stringify(attributes)}`, async () => {
      const { root, store } = await boolRoot(attributes)
      const flag = (await openDataset(root, { store })).variable('flag')
      assert.equal(flag.dtype, 'bool')
      assert.deepEqual([...(await flag.load()).values], values)
      assert.deepEqual([...(await flag.isel({ x: [3, 0] }).load()).values], [values[3], values[0]])
    })
  }

  it('bytes other than 0 and 1 are True, as NumPy reads them; a 0-d bool is one value', async () => {
    const { root, store } = await boolRoot({}, Uint8Array.of(2, 0, 1, 255))
    assert.deepEqual(
      [...(await (await openDataset(root, { store })).variable('flag').load()).values],
      [1, 0, 1, 1],
    )
    for (const [byte, value] of [
      [1, 1],
      [0, 0],
    ]) {
      const scalar = await boolRoot({ scale_factor: 3 }, Uint8Array.of(byte as number), 0)
      const flag = (await openDataset(scalar.root, { store: scalar.store })).variable('flag')
      assert.deepEqual([...(await flag.load()).values], [3 * (value as number)])
    }
  })
})

describe('bool coordinates', () => {
  it('read as 1 and 0, as a bool variable', async () => {
    const { root, store } = await rootOf({
      'zarr.json': json({ zarr_format: 3, node_type: 'group', attributes: {} }),
      'x/zarr.json': json({
        zarr_format: 3,
        node_type: 'array',
        shape: [2],
        data_type: 'bool',
        chunk_grid: { name: 'regular', configuration: { chunk_shape: [2] } },
        chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
        fill_value: false,
        codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
        attributes: {},
        dimension_names: ['x'],
      }),
      'x/c/0': Uint8Array.of(0, 1),
    })
    const ds = await openDataset(root, { store })
    assert.deepEqual(ds.coords.x, [0, 1])
    assert.deepEqual([...(await ds.variable('x').sel({ x: 1 }).load()).values], [1])
  })
})
