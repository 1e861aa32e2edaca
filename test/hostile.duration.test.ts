// Hostile duration tolerances: huge numbers, long runs of terms and spaces, odd characters and
// generated junk. Each ends within its budget with a value or an ERR_INVALID_ARGUMENT.
// Generated cases print their seed (TS_HAMT_SEED replays).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { parseDuration } from '../src/dataset/duration.js'
import { isHamtError } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

const MB = 1 << 20

describe('hostile duration strings', () => {
  for (const [name, text] of [
    ['a megabyte of digits', `${'9'.repeat(MB)}h`],
    ['a megabyte of terms', '1h'.repeat(MB / 2)],
    ['a megabyte of spaces between a day and a clock', `1 days${' '.repeat(MB)}x`],
    ['a megabyte of spaces after a number', `1${' '.repeat(MB)}`],
    ['an ISO duration with a megabyte of digits', `P${'1'.repeat(MB)}D`],
    ['a clock with a megabyte of fraction', `00:00:00.${'5'.repeat(MB)}`],
  ] as const) {
    it(`${name}: refused quickly`, async () => {
      assertTypedError(await withinBudget(name, () => parseDuration(text)), 'ERR_INVALID_ARGUMENT')
    })
  }

  it('more than pandas holds (about 292 years) is refused, just under is read', () => {
    assert.equal(parseDuration('106751D'), 106_751n * 86_400_000_000_000n)
    assert.throws(
      () => parseDuration('106752D'),
      (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT'),
    )
  })

  it('generated strings: a bigint or a typed error, never anything else', async () => {
    await withinBudget('generated', () =>
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.stringMatching(/^[-+ ]?[0-9. ]{0,8}[a-zA-Zµ:, ]{0,8}[0-9.:]{0,8}$/),
          ),
          (text) => {
            try {
              assert.equal(typeof parseDuration(text), 'bigint')
            } catch (error) {
              assert.ok(
                isHamtError(error, 'ERR_INVALID_ARGUMENT'),
                `${JSON.stringify(text)}: ${String(error)}`,
              )
            }
          },
        ),
        { seed, numRuns: 2000 },
      ),
    )
  })
})
