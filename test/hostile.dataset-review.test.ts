// An outsider's hostile datasets: names, NaT, chunk shapes and chunk bytes their authors did not
// choose. Each case ends within its budget with xarray's answer or a typed error.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { openDataset } from '../src/dataset.js'
import { HAMT, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

await loadBlake3()

describe('names a dataset chooses', () => {
  it('arrays and dimensions named __proto__, constructor or toString are own keys of dims, coords and records', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    const arrays: Array<[string, string, number[]]> = [
      ['__proto__', '__proto__', [10, 20]],
      ['constructor', '__proto__', [1, 2]],
      ['toString', 'toString', [5, 6]],
    ]
    for (const [name, dim, values] of arrays) {
      const array = await zarr.create(group.resolve(name), {
        shape: [2],
        chunkShape: [2],
        dtype: 'float64',
        dimensionNames: [dim],
        codecs,
      })
      await zarr.set(array, null, { data: Float64Array.from(values), shape: [2], stride: [1] } as never)
    }
    const ds = await openDataset(await map.flush(), { store })
    const own = (record: object): Array<[string, unknown]> => {
      assert.equal(Object.getPrototypeOf(record), Object.prototype)
      return Object.entries(record).map(([key, value]) => [
        key,
        ArrayBuffer.isView(value) ? [...(value as Float64Array)] : value,
      ])
    }
    assert.deepEqual(own(ds.dims).sort(), [
      ['__proto__', 2],
      ['toString', 2],
    ])
    assert.deepEqual(own(ds.coords).sort(), [
      ['__proto__', [10, 20]],
      ['toString', [5, 6]],
    ])
    const ctor = ds.variable('constructor')
    assert.deepEqual(own(ctor.coords), [['__proto__', [10, 20]]])
    const records = (await ctor.load()).toRecords()
    assert.deepEqual(records.map(own), [
      [
        ['__proto__', 10],
        ['constructor', 1],
      ],
      [
        ['__proto__', 20],
        ['constructor', 2],
      ],
    ])
    assert.deepEqual((await ds.variable('toString').load()).toRecords().map(own), [
      [['toString', 5]],
      [['toString', 6]],
    ])
    assert.equal((await ctor.load()).toCSV(), '__proto__,constructor\n10,1\n20,2\n')
    const point = ctor.isel({ ['__proto__']: 1 })
    assert.deepEqual((await point.load()).toRecords().map(own), [
      [
        ['__proto__', 20],
        ['constructor', 2],
      ],
    ])
  })
})

describe('time coordinates as xarray writes them', () => {
  it('an int64 time coordinate holding NaT (-2^63, no _FillValue, as xarray writes it) decodes it to a gap', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    // What xarray 2026.9 writes for datetime64 ['2000-01-01', 'NaT', '2000-01-03'] (zarr_format=3).
    const time = await zarr.create(group.resolve('time'), {
      shape: [3],
      chunkShape: [3],
      dtype: 'int64',
      dimensionNames: ['time'],
      codecs,
      attributes: { units: 'days since 2000-01-01 00:00:00', calendar: 'proleptic_gregorian' },
    })
    const raw = BigInt64Array.from([0n, -(2n ** 63n), 2n])
    await zarr.set(time, null, { data: raw, shape: [3], stride: [1] } as never)
    const v = await zarr.create(group.resolve('v'), {
      shape: [3],
      chunkShape: [3],
      dtype: 'float64',
      dimensionNames: ['time'],
      codecs,
    })
    await zarr.set(v, null, { data: Float64Array.from([1, 2, 3]), shape: [3], stride: [1] } as never)
    const ds = await openDataset(await map.flush(), { store })
    const outcome = await withinBudget('NaT coordinate', async () => {
      const variable = ds.variable('v')
      return {
        records: (await variable.load()).toRecords(),
        selected: [...(await variable.sel({ time: '2000-01-03' }).load()).values],
      }
    })
    assert.equal(outcome.error, undefined, String((outcome.error as Error)?.stack))
    assert.deepEqual(outcome.value?.records, [
      { time: '2000-01-01T00:00:00', v: 1 },
      { time: null, v: 2 },
      { time: '2000-01-03T00:00:00', v: 3 },
    ])
    assert.deepEqual(outcome.value?.selected, [3])
  })
})

/** A float64 Zarr v3 array's zarr.json, filled with NaN. */
function arrayDocument(shape: number[], chunks: number[], dims: string[]): object {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape,
    data_type: 'float64',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 'NaN',
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    attributes: {},
    dimension_names: dims,
  }
}

describe('chunk shapes a stranger declares', () => {
  /** A root whose array `v` of `shape` declares `chunks`, with no chunk stored (all fill value). */
  async function declared(shape: number[], chunks: number[]) {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
    await zarrStore.set(
      '/v/zarr.json',
      json(
        arrayDocument(
          shape,
          chunks,
          shape.map((_, d) => `d${d}`),
        ),
      ),
    )
    return openDataset(await map.flush(), { store })
  }

  it('a 10-value array declaring chunks of 10^8 values is refused at read, not allocated (800 MB)', async () => {
    const ds = await declared([10], [1e8])
    const outcome = await withinBudget('overhanging chunk', () => ds.variable('v').isel({ d0: 0 }).load())
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.match(String((outcome.error as Error).message), /chunk/)
  })

  it('a 10-value coordinate declaring chunks of 10^8 values is refused at open, not allocated', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
    await zarrStore.set('/x/zarr.json', json(arrayDocument([10], [1e8], ['x'])))
    const root = await map.flush()
    const outcome = await withinBudget('overhanging coordinate chunk', () => openDataset(root, { store }))
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
  })

  it('chunks larger than the array as appendable datasets have them still read', async () => {
    for (const [shape, chunks] of [
      [[10], [1000]],
      [
        [3, 4],
        [512, 4],
      ],
      [
        [0, 4],
        [1e8, 4],
      ],
    ]) {
      const ds = await declared(shape as number[], chunks as number[])
      const outcome = await withinBudget('small overhang', async () => [
        ...(await ds.variable('v').load()).values,
      ])
      assert.equal(outcome.error, undefined, String(outcome.error))
      assert.equal(
        outcome.value?.length,
        (shape as number[]).reduce((a, b) => a * b, 1),
      )
    }
  })
})

describe('chunks whose bytes do not match their declared shape', () => {
  // zarr-python refuses each ("cannot reshape array of size 1 into shape (10,)").
  for (const bytes of [1, 7, 8, 72, 88, 160]) {
    it(`a chunk of ${bytes} bytes for 10 float64 values is ERR_INVALID_VALUE, not zeros`, async () => {
      const store = await MemoryStore.create()
      const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
      const zarrStore = new ZarrHAMTStore(map)
      const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
      await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
      await zarrStore.set('/v/zarr.json', json(arrayDocument([10], [10], ['x'])))
      await zarrStore.set('/v/c/0', new Uint8Array(bytes).fill(0x3f))
      const ds = await openDataset(await map.flush(), { store })
      const outcome = await withinBudget('short chunk', () => ds.variable('v').load())
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
    })
  }
})

describe('arrays of a data type this runtime cannot read', () => {
  it('a complex64 variable leaves the dataset open; reading it is ERR_INVALID_VALUE', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const zarrStore = new ZarrHAMTStore(map)
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    await zarrStore.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
    await zarrStore.set('/v/zarr.json', json(arrayDocument([2], [2], ['x'])))
    await zarrStore.set('/v/c/0', new Uint8Array(Float64Array.of(1.5, 2.5).buffer))
    await zarrStore.set(
      '/z/zarr.json',
      json({ ...arrayDocument([2], [2], ['x']), data_type: 'complex64', fill_value: [0, 0] }),
    )
    const ds = await openDataset(await map.flush(), { store })
    assert.deepEqual(ds.variables, ['v', 'z'])
    assert.deepEqual([...(await ds.variable('v').load()).values], [1.5, 2.5])
    const z = ds.variable('z')
    assert.deepEqual([z.dims, z.shape], [['x'], [2]])
    assertTypedError(await withinBudget('complex64', () => z.load()), 'ERR_INVALID_VALUE')
  })
})
