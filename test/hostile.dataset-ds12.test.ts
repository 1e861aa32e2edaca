// ts-hamt/dataset against what xarray 2026.9 (pandas 3.1, numpy 2.4, the venv of
// scripts/python-env.sh) answers, each expectation from a real run: label slices with negative
// steps, slice(None, None) of times out of order.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import * as zarr from 'zarrita'
import { loadBlake3 } from '../src/blocks.js'
import { type CFValueDecoder, cfValueDecoder } from '../src/dataset/cf.js'
import { loadCoordinate } from '../src/dataset/metadata.js'
import type { StoredArray } from '../src/dataset/read.js'
import { decodeToFloat64 } from '../src/dataset/values.js'
import { type LabelIndexer, openDataset } from '../src/dataset.js'
import { selected, timeDataset, timeStore } from './helpers/time-dataset.js'

await loadBlake3()

type Cases = [LabelIndexer, number[] | 'error'][]

async function check(
  values: readonly number[] | BigInt64Array,
  attrs: Record<string, unknown>,
  cases: Cases,
): Promise<void> {
  const ds = await timeDataset(values, attrs)
  for (const [indexer, expected] of cases) {
    assert.deepEqual(await selected(ds, indexer), expected, JSON.stringify(indexer))
  }
}

const days = { units: 'days since 2000-01-01', calendar: 'standard' }
const noleap = { units: 'days since 2000-01-01', calendar: 'noleap' }
const ascending = [0, 1, 2, 3, 4, 5]
const descending = [5, 4, 3, 2, 1, 0]
const unordered = [2, 0, 4, 1, 5, 3]

describe('label slices with a negative step, as xarray (pandas slice_indexer)', () => {
  it('run backwards over ascending times: the start is the later label, each period its far end', async () => {
    await check(ascending, days, [
      [{ start: '2000-01-04', stop: '2000-01-02', step: -1 }, [3, 2, 1]],
      [{ start: '2000-01-02', stop: '2000-01-04', step: -1 }, []],
      [{ step: -1 }, [5, 4, 3, 2, 1, 0]],
      [{ start: '2000-01-05', step: -2 }, [4, 2, 0]],
      [{ stop: '2000-01-02', step: -2 }, [5, 3, 1]],
      [{ start: '2000-01', step: -1 }, [5, 4, 3, 2, 1, 0]],
      [{ start: '2000-01-05T12', stop: '2000-01-01T12', step: -1 }, [4, 3, 2, 1]],
      [{ start: new Date('2000-01-05T12:00Z'), stop: new Date('2000-01-01T12:00Z'), step: -2 }, [4, 2]],
      [{ start: '2000-01-04', stop: '2000-01-02', step: 0 }, 'error'],
    ])
  })
  it('pandas times out of order slice by value: every time or a KeyError, whatever the step', async () => {
    const cases: Cases = [
      [{ start: '2000-01-02', stop: '2000-01-04', step: -1 }, 'error'],
      [{ start: '2000-01-01', step: -1 }, [0, 1, 2, 3, 4, 5]],
      [{ start: '2000-01-06' }, 'error'],
    ]
    await check(descending, days, cases)
    await check(unordered, days, cases)
  })
  it('cftime calendars slice by position either way', async () => {
    await check(ascending, noleap, [
      [{ start: '2000-01-04', stop: '2000-01-02', step: -1 }, [3, 2, 1]],
      [{ start: '2000-01', step: -1 }, [5, 4, 3, 2, 1, 0]],
    ])
    await check(descending, noleap, [
      [{ start: '2000-01-02', stop: '2000-01-04', step: -1 }, [4, 3, 2]],
      [{ start: '2000-01-04', stop: '2000-01-02' }, [2, 3, 4]],
      [{ step: -1 }, [5, 4, 3, 2, 1, 0]],
    ])
    await check(unordered, noleap, [
      [{ step: -1 }, [5, 4, 3, 2, 1, 0]],
      // Backwards, the start is the period's last instant, which an unordered index must hold.
      [{ start: '2000-01-06', stop: '2000-01-01', step: -1 }, 'error'],
    ])
  })
  it('numbers: ascending, descending and unordered between held labels', async () => {
    await check(ascending, {}, [
      [{ start: 4, stop: 1, step: -1 }, [4, 3, 2, 1]],
      [{ start: 4.5, stop: 0.5, step: -2 }, [4, 2]],
      [{ start: 1, stop: 4, step: -1 }, []],
    ])
    await check(descending, {}, [
      [{ start: 1, stop: 4, step: -1 }, [4, 3, 2, 1]],
      [{}, [0, 1, 2, 3, 4, 5]],
    ])
    await check(unordered, {}, [
      [{ step: -1 }, [5, 4, 3, 2, 1, 0]],
      [{ start: 5, stop: 0, step: -1 }, [4, 3, 2, 1]],
      [{ start: 0, stop: 5 }, [1, 2, 3, 4]],
    ])
  })
})

describe('slice(None, None) of pandas times out of order', () => {
  // pandas' value slice builds its mask from np.array(True) when neither end is given, and numpy 2
  // refuses nonzero() of a 0-d array: xarray raises ValueError for every step.
  it('is refused, as xarray refuses it; a cftime calendar takes every time', async () => {
    const none: Cases = [
      [{}, 'error'],
      [{ step: 2 }, 'error'],
      [{ step: -1 }, 'error'],
    ]
    await check(descending, days, none)
    await check(unordered, days, none)
    await check(BigInt64Array.of(0n, -(2n ** 63n), 2n), days, none)
    await check(descending, noleap, [[{}, [0, 1, 2, 3, 4, 5]]])
    await check(unordered, noleap, [[{}, [0, 1, 2, 3, 4, 5]]])
  })
})

describe('a negative step over one value (run seeds of the attackds11 generator)', () => {
  // One value is ascending to pandas (is_monotonic_increasing first): backwards it is descending.
  it('slices it as pandas: between the labels taken in reverse, or empty', async () => {
    await check([10], {}, [
      [{ start: 10, stop: 10.25, step: -1 }, []],
      [{ start: -1000, stop: 1000, step: -1 }, []],
      [{ start: 1000, stop: -1000, step: -1 }, [0]],
    ])
    const hours = { units: 'hours since 9000-05-13', calendar: 'proleptic_gregorian' }
    await check([23], hours, [[{ start: '9000-05-13', stop: '9000-05-13', step: -2 }, [0]]])
  })
})

describe('a masked int64 time coordinate past 2^53', () => {
  // Its decoded integers (int64 with NaT) are both the index's doubles and the exact times kept.
  it('is CF-decoded once at open', async () => {
    const attrs = { units: 'microseconds since 1970-01-01', calendar: 'proleptic_gregorian', _FillValue: -1 }
    const data = BigInt64Array.of(221845392000000001n, -1n, 221845392000000002n)
    const array = await zarr.create(zarr.root(new Map()), {
      shape: [3],
      chunkShape: [3],
      dtype: 'int64',
      attributes: attrs,
    })
    await zarr.set(array, null, { data, shape: [3], stride: [1] } as never)
    const decoder = cfValueDecoder(attrs, 'int64', 0n, {})
    let decodes = 0
    const counted: CFValueDecoder = {
      ...decoder,
      decode: (raw) => {
        decodes++
        return decoder.decode(raw)
      },
    }
    const stored: StoredArray = {
      name: 'time',
      dims: ['time'],
      shape: [3],
      chunks: [3],
      dtype: 'int64',
      attrs: {},
      rawAttrs: attrs,
      open: async () => array,
      cf: () => counted,
      decode: (raw, into) => decodeToFloat64(counted, raw, into),
    }
    const coordinate = await loadCoordinate(stored)
    assert.deepEqual(Array.from(coordinate.time?.raw ?? []), [...data.slice(0, 1), -(2n ** 63n), data[2]])
    assert.equal(decodes, 1)
  })
})

describe('int64 times past 2^53 are compared as their exact integers', () => {
  // 2260-01-01 is 9151488000000000 µs after 1970, past 2^53: its microseconds 3, 4 and 5 share one
  // double. xarray indexes it with pandas (datetime64[ns]) and tells each microsecond apart.
  it('sel, lists, slices and methods tell microseconds apart, as xarray', async () => {
    const base = 9151488000000000n
    const ds = await timeDataset(BigInt64Array.of(base + 3n, base + 4n, base + 5n), {
      units: 'microseconds since 1970-01-01',
      calendar: 'standard',
    })
    const us = (n: number): string => `2260-01-01T00:00:00.00000${n}`
    for (const [indexer, expected] of [
      [us(4), [1]],
      [us(6), 'error'],
      [{ start: us(4), stop: us(4) }, [1]],
      [{ start: us(4), stop: us(5) }, [1, 2]],
      [
        [us(5), us(3)],
        [2, 0],
      ],
      ['2260-01-01T00:00:00', [0, 1, 2]],
    ] as Cases) {
      assert.deepEqual(await selected(ds, indexer), expected, JSON.stringify(indexer))
    }
    const p = ds.variable('p')
    for (const [label, method, expected] of [
      [us(6), 'nearest', 2],
      [us(2), 'nearest', 0],
      [us(4), 'pad', 1],
    ] as const) {
      const view = p.sel({ time: label }, { method })
      assert.deepEqual([view.dims, [...(await view.load()).values]], [[], [expected]], `${label} ${method}`)
    }
  })
})

describe('a coordinate read whole at open', () => {
  // Its index holds the values; the chunk cache kept the chunks read for it too (twice the bytes).
  it('is held once: its chunks are not kept in the chunk cache', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    // Buffers let go of in later turns (the store's writes) are collected before measuring.
    const collectGarbage = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setImmediate(resolve))
        gc()
      }
    }
    const n = 1 << 20
    const values = Float64Array.from({ length: n }, (_, i) => i * 0.5)
    const built = await timeStore(values, {})
    await collectGarbage()
    const before = process.memoryUsage().arrayBuffers
    const ds = await openDataset(built.root, { store: built.store })
    await collectGarbage()
    const grown = process.memoryUsage().arrayBuffers - before
    assert.equal(ds.dims.time, n)
    assert.ok(grown < 1.5 * n * 8, `opening grew array buffers by ${grown} bytes for ${n * 8} of coordinate`)
    assert.deepEqual(
      [
        ...(
          await ds
            .variable('time')
            .isel({ time: [1, n - 1] })
            .load()
        ).values,
      ],
      [0.5, (n - 1) / 2],
    )
  })
})
