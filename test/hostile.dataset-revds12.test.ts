// ts-hamt/dataset against what xarray 2026.9 (pandas 3.1, numpy 2.4, the venv of
// scripts/python-env.sh) answers, each expectation from a real run: int64 times 2^53 or more units
// apart, where the index's doubles round the times past 2^53.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import type { LabelIndexer, SelectOptions } from '../src/dataset.js'
import { selected, timeDataset } from './helpers/time-dataset.js'

await loadBlake3()

// 1680-01-01 is -9151488000000000 µs from 1970, past -2^53, and 1965 lies 2^53 + 1 µs later: no
// base brings both within 2^53, so the index holds doubles that round the 1680 times to even ones.
const attrs = { units: 'microseconds since 1970-01-01', calendar: 'standard' }
const wide = BigInt64Array.of(
  -9151488000000000n,
  -9151487999999998n,
  -9151487999999996n,
  -9151487999999994n,
  -144288745259007n,
)

async function positions(indexer: LabelIndexer, options?: SelectOptions): Promise<number[] | 'error'> {
  const ds = await timeDataset(wide, attrs)
  if (options === undefined) return selected(ds, indexer)
  try {
    return [...(await ds.variable('p').sel({ time: indexer }, options).load()).values]
  } catch {
    return 'error'
  }
}

describe('int64 times 2^53 or more units apart', () => {
  it('never answer a label past 2^53 units by a rounded neighbour (xarray: KeyError)', async () => {
    // .000005 is not held; its double is .000004's, and .000006 would be: xarray raises KeyError.
    assert.deepEqual(await positions('1680-01-01T00:00:00.000005'), 'error')
    assert.deepEqual(await positions(['1680-01-01', '1680-01-01T00:00:00.000005']), 'error')
    // Seven times, three of them 1679-12-31T23:59:59.999999's neighbours sharing its double.
    const ds = await timeDataset(
      BigInt64Array.of(
        -144288745259007n,
        -9151487999999996n,
        -9151487999999997n,
        -9151488000000000n,
        -9151487999999996n,
        -9151487999999995n,
        -9151487999999999n,
      ),
      { ...attrs, calendar: 'proleptic_gregorian' },
    )
    assert.deepEqual(await selected(ds, '1679-12-31T23:59:59.999999'), 'error')
  })
  it('answer labels within 2^53 units of the epoch as xarray', async () => {
    assert.deepEqual(await positions('1965-06-05T23:47:34.740993'), [4])
    assert.deepEqual(await positions('1965'), [4])
    assert.deepEqual(await positions('1966', { method: 'nearest' }), [4])
    assert.deepEqual(await positions({ start: '1700', stop: '1970' }), [4])
  })
})

describe('time strings bounding a slice of one time repeated, in a cftime calendar', () => {
  // xarray's CFTimeIndex casts a string bound to its period's far end when the index is monotonic
  // decreasing (not strictly: one time repeated is both ways) and longer than one; it then searches
  // it as ascending. pandas' DatetimeIndex flips only when strictly decreasing.
  it('bounds by the periods swapped, as xarray: empty where a period would hold them', async () => {
    for (const calendar of ['noleap', '360_day']) {
      const attrs = { units: 'days since 2000-01-01', calendar }
      for (const values of [
        [0, 0],
        [0, 0, 0],
      ]) {
        const ds = await timeDataset(values, attrs)
        const cases: [LabelIndexer, number[]][] = [
          [{ start: '2000', stop: '2000-01-25' }, []],
          [{ start: '2000-01-01', stop: '2000-01-01' }, []],
          [{ start: '2000' }, []],
          [{ stop: '2000' }, values.map((_, i) => i)],
          [{ start: '2000-01-25', stop: '2000', step: -6 }, []],
          [{ start: '2000-01-01', stop: '2000-01-01', step: -1 }, []],
          [{ stop: '2000', step: -1 }, []],
          [{ start: '2000', step: -1 }, values.map((_, i) => values.length - 1 - i)],
        ]
        // box keeps every position between its labels.
        const boxed = await ds
          .variable('p')
          .box({ time: ['2000-01-01', '2000-01-01'] })
          .load()
        assert.deepEqual(
          [...boxed.values],
          values.map((_, i) => i),
        )
        for (const [indexer, expected] of cases) {
          assert.deepEqual(
            await selected(ds, indexer),
            expected,
            `${calendar} ${values} ${JSON.stringify(indexer)}`,
          )
        }
      }
    }
    // The standard calendar (pandas) keeps the periods' sides.
    const ds = await timeDataset([0, 0], { units: 'days since 2000-01-01', calendar: 'standard' })
    assert.deepEqual(await selected(ds, { start: '2000', stop: '2000-01-25' }), [0, 1])
    assert.deepEqual(await selected(ds, { start: '2000-01-01', stop: '2000-01-01', step: -1 }), [1, 0])
  })
})

describe('a cftime coordinate missing a time (NaT), sliced between labels', () => {
  // xarray's CFTimeIndex holding NaT bounds slices by no rule one can follow: [2000-01-01, NaT]
  // from '2000-01-01' is empty, [2000-01-03, NaT, 2000-01-01] up to '2000' backwards by 2 keeps both
  // times. Answering from the held times gave other rows; a bounded slice is refused (use isel).
  it('is refused when bounded, and runs whole when not, as xarray', async () => {
    const julian = { units: 'days since 2000-01-01', calendar: 'julian' }
    const two = await timeDataset([0, Number.NaN], julian)
    assert.deepEqual(await selected(two, { start: '2000-01-01' }), 'error') // xarray: []
    assert.deepEqual(await selected(two, { stop: '2000', step: -1 }), 'error') // xarray: []
    assert.deepEqual(await selected(two, { step: -1 }), [1, 0])
    const three = await timeDataset([2, Number.NaN, 0], julian)
    assert.deepEqual(await selected(three, { stop: '2000', step: -2 }), 'error') // xarray: [2, 0]
    assert.deepEqual(await selected(three, { start: '2000-01-01' }), 'error') // xarray: [1, 2]
    assert.deepEqual(await selected(three, { step: -2 }), [2, 0])
  })
})

describe('a cftime coordinate missing a time (NaT), selected by time strings', () => {
  // xarray's CFTimeIndex counts NaT in every period that holds a time ('2000' of [2000-01-01, NaT,
  // 2000-01-03] is all three rows), and refuses a list (InvalidIndexError): the held times alone
  // gave fewer rows. Refused, as lists are by xarray.
  it('is refused, where xarray answers with the NaT rows too', async () => {
    const noleap = { units: 'days since 2000-01-01', calendar: 'noleap' }
    const ds = await timeDataset([0, Number.NaN, 2], noleap)
    assert.deepEqual(await selected(ds, '2000'), 'error') // xarray: [0, 1, 2]
    assert.deepEqual(await selected(ds, '2000-01-01T00:00:00'), 'error') // xarray: [0, 1]
    assert.deepEqual(await selected(ds, ['2000-01-01']), 'error') // xarray: InvalidIndexError
    assert.deepEqual(await selected(ds, '1999'), 'error') // xarray: KeyError
  })
})
