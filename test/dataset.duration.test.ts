// A time tolerance given as a duration string: read as pandas.Timedelta reads it (generated strings
// of every form accepted, checked against real pandas), converted to the coordinate's units, and
// used by sel. Seeded: TS_HAMT_SEED=<n> replays a run.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseDuration } from '../src/dataset/duration.js'
import { openDataset } from '../src/dataset.js'
import { HAMT, isHamtError, MemoryStore, ZarrHAMTStore } from '../src/index.js'
import { writeClimate } from './helpers/climate.js'
import { cftimeDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()

const UNIT_NAMES = [
  ...['W', 'w', 'D', 'd', 'day', 'days', 'Days', 'h', 'hr', 'hour', 'hours', 'HOURS'],
  ...['m', 'min', 'Min', 'minute', 'minutes', 's', 'S', 'sec', 'second', 'seconds'],
  ...['ms', 'MS', 'milli', 'millis', 'millisecond', 'milliseconds', 'us', 'µs', 'micro', 'micros'],
  ...['microsecond', 'microseconds', 'ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'],
]

/** A duration string of a form we accept, or now and then one both must refuse. */
function durationText(random: () => number): string {
  const int = (n: number): number => Math.floor(random() * n)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T
  const number = (): string => {
    const whole = String(int(random() < 0.7 ? 100 : 100_000))
    return random() < 0.3 ? `${whole}.${String(int(10 ** (1 + int(9)))).padStart(1 + int(3), '0')}` : whole
  }
  const sign = random() < 0.1 ? pick(['+', '-']) : ''
  const kind = random()
  if (kind < 0.6) {
    const terms = Array.from({ length: 1 + int(3) }, () => `${number()}${pick(['', ' '])}${pick(UNIT_NAMES)}`)
    return sign + terms.join(pick(['', ' ']))
  }
  if (kind < 0.8) {
    const field = (suffix: string): string => (random() < 0.5 ? `${int(50)}${suffix}` : '')
    const date = `${field('W')}${field('D')}`
    const seconds = random() < 0.5 ? (random() < 0.5 ? `${int(90)}S` : `${int(90)}.${int(1000)}S`) : ''
    const time = `${field('H')}${field('M')}${seconds}`
    const iso = `P${date}${time === '' ? '' : `T${time}`}`
    return sign + (iso === 'P' ? 'P1D' : iso)
  }
  if (kind < 0.92) {
    const hms = `${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}`
    const fraction = random() < 0.3 ? `.${int(1_000_000)}` : ''
    const days = random() < 0.5 ? `${int(30)} ${pick(['day', 'days'])}${pick(['', ','])} ` : ''
    return `${sign}${days}${hms}${fraction}`
  }
  return pick(['1.5', '1 Weeks', '1M', '2Y', '1 y', 'x', '1h-30m', '1_000s', '.5h', '', 'P', 'PT', '1e3s'])
}

describe('duration tolerances as pandas.Timedelta reads them', () => {
  it('generated strings: the nanoseconds pandas reads (to its float precision), refused where pandas refuses', async () => {
    const random = mulberry32(seed)
    const texts = Array.from({ length: 400 }, () => durationText(random))
    const answers = await cftimeDriver<Array<{ ns?: string; error?: string }>>('timedelta', {
      cases: texts.map((text) => ({ text })),
    })
    let refused = 0
    texts.forEach((text, i) => {
      const want = answers[i] as { ns?: string; error?: string }
      let got: bigint | unknown
      try {
        got = parseDuration(text)
      } catch (error) {
        got = error
      }
      if (want.ns === undefined) {
        refused++
        assert.ok(
          isHamtError(got, 'ERR_INVALID_ARGUMENT'),
          `seed ${seed}: ${JSON.stringify(text)}: pandas refuses (${want.error}), we gave ${String(got)}`,
        )
      } else {
        // pandas reads a fraction through float64: within a nanosecond a term of the exact decimal,
        // or a float's precision on very long ones.
        const pandas = BigInt(want.ns)
        const slack = BigInt(text.split(/[a-zµ]+/i).length) + (pandas < 0n ? -pandas : pandas) / 2n ** 50n
        assert.ok(
          typeof got === 'bigint',
          `seed ${seed}: ${JSON.stringify(text)}: pandas reads ${want.ns}, we threw ${String(got)}`,
        )
        const diff = got > pandas ? got - pandas : pandas - got
        assert.ok(diff <= slack, `seed ${seed}: ${JSON.stringify(text)}: pandas ${want.ns}, ours ${got}`)
      }
    })
    console.log(`${texts.length} durations, ${refused} refused by both`)
  })

  it('refuses, with a typed error, the forms pandas reads in surprising ways', () => {
    // pandas: '3' is 3 ns, '1,5h' is 15 h, 'PT1.5H' is 5 h 1 s (pandas 3.0).
    for (const text of ['3', '1,5h', 'PT1.5H', 'P1.5D', '1 Weeks', '1M', 'P1Y']) {
      assert.throws(
        () => parseDuration(text),
        (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes(JSON.stringify(text)),
      )
    }
  })
})

describe('sel with a duration tolerance', async () => {
  // writeClimate: time [0..3] 'days since 2020-01-01', lat -50..50 step 20.
  const blocks = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store: blocks, valuesAreBytes: true })
  await writeClimate(new ZarrHAMTStore(map))
  const ds = await openDataset(await map.flush(), { store: blocks })
  const temp = ds.variable('temp')

  it('converts to the coordinate units: 12h is 0.5 days', () => {
    for (const tolerance of ['12h', 'P0DT12H', '0.5D', '720 minutes', '0 days 12:00:00', 0.5]) {
      const view = temp.sel({ time: '2020-01-02T10:00' }, { method: 'nearest', tolerance })
      assert.equal(view.coords.time?.toString(), '2020-01-02T00:00:00', String(tolerance))
    }
    assert.throws(
      () => temp.sel({ time: '2020-01-02T10:00' }, { method: 'nearest', tolerance: '9h' }),
      (err) => isHamtError(err, 'ERR_LABEL_NOT_FOUND') && err.message.includes('within tolerance 9h'),
    )
    const list = ds.sel(
      { time: ['2020-01-01T20:00', '2020-01-04T01:00'] },
      { method: 'pad', tolerance: '1 day' },
    )
    assert.deepEqual(list.dims.time, 2)
  })

  it('refuses a duration on a coordinate that is no time, a negative one, a bad one', () => {
    assert.throws(
      () => temp.sel({ lat: 12 }, { method: 'nearest', tolerance: '1h' }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('"lat" is not a CF time'),
    )
    assert.throws(
      () => temp.sel({ time: '2020-01-02' }, { method: 'nearest', tolerance: '-1h' }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('negative'),
    )
    assert.throws(
      () => temp.sel({ time: '2020-01-02' }, { method: 'nearest', tolerance: '2 fortnights' }),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('"fortnights"'),
    )
  })
})
