// Hostile datasets and selections: absurd shapes and coordinate lengths, malformed attributes and
// metadata, and labels, indexers and options of every wrong kind. Each case ends within its budget
// with a correct answer or a typed error. Generated cases print their seed (TS_HAMT_SEED replays).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import type { Dataset } from '../src/dataset/dataset.js'
import { openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, type StoreId, ZarrHAMTStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()

const seed = testSeed()

const bytesCodec = { name: 'bytes', configuration: { endian: 'little' } }

function arrayMeta(
  shape: number[],
  chunks: number[],
  dims: string[],
  dtype: string,
  attributes: object = {},
) {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape,
    data_type: dtype,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: dtype.startsWith('float') ? 'NaN' : 0,
    codecs: [bytesCodec],
    attributes,
    dimension_names: dims,
  }
}

/** A root written key by key: documents as given (objects as JSON, strings as raw text), and arrays with values. */
async function build(
  documents: Record<string, unknown>,
  arrays: Record<
    string,
    { dims: string[]; values: number[]; dtype?: 'float64' | 'int32'; attrs?: Record<string, unknown> }
  > = {},
): Promise<{ store: MemoryStore; root: StoreId }> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const zarrStore = new ZarrHAMTStore(map)
  const group = await zarr.create(zarr.root(zarrStore), { attributes: {} })
  for (const [name, spec] of Object.entries(arrays)) {
    const shape = [spec.values.length]
    const dtype = spec.dtype ?? 'float64'
    const array = await zarr.create(group.resolve(name), {
      shape,
      chunkShape: shape,
      dtype,
      dimensionNames: spec.dims,
      attributes: spec.attrs ?? {},
      codecs: [bytesCodec],
    })
    const data = dtype === 'int32' ? Int32Array.from(spec.values) : Float64Array.from(spec.values)
    await zarr.set(array, null, { data, shape, stride: [1] } as never)
  }
  for (const [key, doc] of Object.entries(documents)) {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc)
    await zarrStore.set(`/${key}`, new TextEncoder().encode(text))
  }
  return { store, root: await map.flush() }
}

describe('hostile datasets', () => {
  it('an array of 2^100 values opens, selects and streams its first blocks; load is refused', async () => {
    const huge = 2 ** 50
    const { store, root } = await build({
      'big/zarr.json': arrayMeta([huge, huge], [1, 1], ['y', 'x'], 'float32'),
    })
    const outcome = await withinBudget('absurd shape', async () => {
      const ds = await openDataset(root, { store })
      const big = ds.variable('big')
      assert.equal(big.size, huge * huge)
      const view = big.isel({ y: { start: -3 }, x: [0, huge - 1, 5] })
      assert.deepEqual(view.shape, [3, 3])
      assert.deepEqual([...(await view.load()).values].map(Number.isNaN), Array(9).fill(true))
      let blocks = 0
      for await (const block of big.blocks({ maxBlockValues: 1000 })) {
        assert.ok(block.values.length <= 1000)
        if (++blocks === 3) break
      }
      return big.load()
      // A hang and memory bound: ~1.5 s alone (3,000 one-value chunks), 5.2 s at load 15 (ci1, session 12).
    })
    assertTypedError(outcome, 'ERR_INVALID_ARGUMENT')
    assert.match(String(outcome.error), /maxValues/)
  })

  it('a coordinate claiming 2^40 values is refused at open, not allocated', async () => {
    const { store, root } = await build({
      'time/zarr.json': arrayMeta([2 ** 40], [2 ** 20], ['time'], 'float64'),
    })
    assertTypedError(
      await withinBudget('huge coordinate', () => openDataset(root, { store })),
      'ERR_INVALID_VALUE',
    )
  })

  it('metadata that is not JSON, a zero chunk, a missing group: typed errors', async () => {
    const notJson = await build({ 'bad/zarr.json': '{"zarr_format": 3, "node_type": "arr' })
    assertTypedError(
      await withinBudget('not JSON', () => openDataset(notJson.root, { store: notJson.store })),
    )
    const zero = await build({ 'z/zarr.json': arrayMeta([10], [0], ['i'], 'float32') })
    const zeroOutcome = await withinBudget('zero chunk', () => openDataset(zero.root, { store: zero.store }))
    assertTypedError(zeroOutcome, 'ERR_INVALID_VALUE')
    const badCodec = await build({
      'q/zarr.json': { ...arrayMeta([4], [2], ['i'], 'float32'), codecs: [{ name: 'nonsense' }] },
      'q/c/0': 'eight by',
    })
    assertTypedError(
      await withinBudget('unknown codec', async () =>
        (await openDataset(badCodec.root, { store: badCodec.store })).variable('q').load(),
      ),
    )
    const fine = await build({}, { x: { dims: ['x'], values: [1, 2, 3] } })
    assertTypedError(
      await withinBudget('missing group', () => openDataset(fine.root, { store: fine.store, group: 'nope' })),
      'ERR_INVALID_ARGUMENT',
    )
  })

  it('a malformed scale_factor fails the reads of its variable only; garbage time units stay numbers', async () => {
    const { store, root } = await build(
      {},
      {
        t: { dims: ['t'], values: [0, 1, 2], attrs: { units: 'days since the dawn of time' } },
        v: { dims: ['t'], values: [5, 6, 7], attrs: { scale_factor: 'big' } },
        w: { dims: ['t'], values: [5, 6, 7] },
      },
    )
    const ds = await openDataset(root, { store })
    assert.deepEqual(ds.coords.t, [0, 1, 2])
    assertTypedError(await withinBudget('bad scale', () => ds.variable('v').load()), 'ERR_INVALID_VALUE')
    assert.deepEqual(
      [
        ...(
          await ds
            .variable('w')
            .sel({ t: { start: 1 } })
            .load()
        ).values,
      ],
      [6, 7],
    )
    assertTypedError(
      await withinBudget('time label on numbers', () => ds.variable('w').sel({ t: '2024-01-01' })),
      'ERR_INVALID_ARGUMENT',
    )
  })
})

describe('hostile selections', async () => {
  const { store, root } = await build(
    {},
    {
      time: {
        dims: ['time'],
        values: [0, 1, 2, 5, 9],
        dtype: 'int32',
        attrs: { units: 'days since 2000-01-01' },
      },
      lat: { dims: ['lat'], values: [60, 30, 0, -30, -60] },
      bumpy: { dims: ['bumpy'], values: [3, 1, 2, Number.NaN] },
      temp: { dims: ['time'], values: [1, 2, 3, 4, 5] },
    },
  )
  const ds: Dataset = await openDataset(root, { store })
  const temp = ds.variable('temp')
  const lat = ds.variable('lat')

  const cases: Array<[string, () => unknown, string?]> = [
    ['NaN label', () => lat.sel({ lat: Number.NaN }), 'ERR_LABEL_NOT_FOUND'],
    ['NaN label nearest', () => lat.sel({ lat: Number.NaN }, { method: 'nearest' }), 'ERR_LABEL_NOT_FOUND'],
    ['Infinity exact', () => lat.sel({ lat: Number.POSITIVE_INFINITY }), 'ERR_LABEL_NOT_FOUND'],
    ['1 MB string on a time', () => temp.sel({ time: 'x'.repeat(1 << 20) })],
    ['month 13', () => temp.sel({ time: '2024-13-45' })],
    ['Invalid Date', () => temp.sel({ time: new Date(Number.NaN) })],
    ['an object label', () => lat.sel({ lat: { start: {} as never } })],
    ['a symbol label', () => lat.sel({ lat: Symbol('x') as never }), 'ERR_INVALID_ARGUMENT'],
    ['null indexers', () => lat.sel(null as never), 'ERR_INVALID_ARGUMENT'],
    ['unknown dimension', () => lat.sel({ depth: 1 }), 'ERR_INVALID_ARGUMENT'],
    ['unknown method', () => lat.sel({ lat: 1 }, { method: 'fuzzy' as never }), 'ERR_INVALID_ARGUMENT'],
    [
      'negative tolerance',
      () => lat.sel({ lat: 1 }, { method: 'nearest', tolerance: -1 }),
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'NaN tolerance',
      () => lat.sel({ lat: 1 }, { method: 'nearest', tolerance: Number.NaN }),
      'ERR_INVALID_ARGUMENT',
    ],
    ['tolerance without method', () => lat.sel({ lat: 30 }, { tolerance: 1 }), 'ERR_INVALID_ARGUMENT'],
    [
      'slice with a method',
      () => lat.sel({ lat: { start: 30 } }, { method: 'nearest' }),
      'ERR_INVALID_ARGUMENT',
    ],
    ['slice step 0', () => lat.sel({ lat: { step: 0 } }), 'ERR_INVALID_ARGUMENT'],
    [
      'isel step 0 (a negative one runs backwards, as xarray)',
      () => lat.isel({ lat: { step: 0 } }),
      'ERR_INVALID_ARGUMENT',
    ],
    ['isel 1.5', () => lat.isel({ lat: 1.5 }), 'ERR_INVALID_ARGUMENT'],
    ['isel 2^53', () => lat.isel({ lat: 2 ** 53 }), 'ERR_INVALID_ARGUMENT'],
    ['isel a string', () => lat.isel({ lat: '1' as never }), 'ERR_INVALID_ARGUMENT'],
    ['selecting a dropped dimension', () => lat.isel({ lat: 0 }).isel({ lat: 0 }), 'ERR_INVALID_ARGUMENT'],
    [
      'nearest on a coordinate with NaN',
      () => ds.variable('bumpy').sel({ bumpy: 2 }, { method: 'nearest' }),
      'ERR_INVALID_ARGUMENT',
    ],
    ['maxValues 0', () => lat.load({ maxValues: 0 }), 'ERR_INVALID_ARGUMENT'],
    ['maxBlockValues NaN', () => lat.load({ maxBlockValues: Number.NaN }), 'ERR_INVALID_ARGUMENT'],
    ['box of three', () => lat.box({ lat: [1, 2, 3] as never }), 'ERR_INVALID_ARGUMENT'],
    ['timeRange where there is no time', () => lat.timeRange('2000'), 'ERR_INVALID_ARGUMENT'],
  ]
  for (const [name, run, code] of cases) {
    it(name, async () => assertTypedError(await withinBudget(name, async () => run()), code as never))
  }

  it('100k labels in one list are looked up within budget', async () => {
    const labels = Array.from({ length: 100_000 }, (_, i) => [60, 30, 0, -30, -60][i % 5] as number)
    const outcome = await withinBudget(
      '100k labels',
      async () => (await lat.sel({ lat: labels }).load()).values.length,
    )
    assert.equal(outcome.value, 100_000)
  })

  it('100k exact labels on an unordered coordinate of 200k values are looked up within budget', async () => {
    const n = 200_000
    const values = Array.from({ length: n }, (_, i) => (i * 7919) % 200_003)
    const big = await build({}, { u: { dims: ['u'], values } })
    const outcome = await withinBudget('unordered lookups', async () => {
      const view = (await openDataset(big.root, { store: big.store })).variable('u')
      // Labels from the end: the worst case of a scan from the start.
      const labels = Array.from({ length: 100_000 }, (_, i) => values[n - 1 - ((i * 37) % 1000)] as number)
      return [...(await view.sel({ u: labels }).load()).values].every((v, i) => v === labels[i])
    })
    assert.equal(outcome.value, true)
  })

  it('an exact lookup on an unordered coordinate works as pandas get_loc', async () => {
    assert.deepEqual(
      [
        ...(
          await ds
            .variable('bumpy')
            .sel({ bumpy: [2, 3] })
            .load()
        ).values,
      ],
      [2, 3],
    )
  })

  it('generated label indexers end with values or typed errors', async () => {
    const label = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.string({ maxLength: 40 }),
      fc.date({ noInvalidDate: false }),
      fc.constantFrom('2000-01-03', '2000-01-01T00:00:00', '1999-12-31', '2000-02-30'),
    )
    const indexer = fc.oneof(
      label,
      fc.array(label, { maxLength: 5 }),
      fc.record({ start: fc.option(label, { nil: undefined }), stop: fc.option(label, { nil: undefined }) }),
    )
    const method = fc.constantFrom(undefined, 'nearest', 'pad', 'ffill', 'backfill', 'bfill')
    const tolerance = fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined })
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('time', 'lat'),
        indexer,
        method,
        tolerance,
        async (dim, value, m, tol) => {
          const variable = dim === 'time' ? temp : lat
          try {
            const view = variable.sel(
              { [dim]: value as never },
              { ...(m ? { method: m } : {}), ...(tol === undefined ? {} : { tolerance: tol }) },
            )
            const { values } = await view.load()
            assert.equal(values.length, view.size)
          } catch (error) {
            assert.ok(isHamtError(error), `untyped: ${String(error)}`)
          }
        },
      ),
      { seed, numRuns: 300 },
    )
  })
})
