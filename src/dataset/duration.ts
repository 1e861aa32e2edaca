// A time tolerance as a duration string, read as pandas.Timedelta reads the forms we accept:
// unit terms ('12h', '1D', '30min', '2 days', '1h30m'), ISO 8601 ('P1DT6H', 'PT0.5S') and clock
// time ('1 days 02:00:00'), each term to the nearest nanosecond. Forms pandas reads in surprising
// ways are refused instead: a bare number (pandas: nanoseconds), '1,5h' (pandas drops the comma),
// ISO fractions outside seconds (pandas 3.0 misreads 'PT1.5H'); months and years are no duration.
import { InvalidArgumentError } from '../errors.js'

const NS = { w: 604_800_000_000_000n, d: 86_400_000_000_000n, h: 3_600_000_000_000n, m: 60_000_000_000n }
const SECOND = 1_000_000_000n

/** Unit names as pandas accepts them (case-insensitive), to their length in nanoseconds. */
const UNITS = new Map<string, bigint>()
for (const [ns, names] of [
  [NS.w, ['w']],
  [NS.d, ['d', 'day', 'days']],
  [NS.h, ['h', 'hr', 'hour', 'hours']],
  [NS.m, ['m', 'min', 'minute', 'minutes']],
  [SECOND, ['s', 'sec', 'second', 'seconds']],
  [1_000_000n, ['ms', 'milli', 'millis', 'millisecond', 'milliseconds']],
  [1_000n, ['us', 'µs', 'micro', 'micros', 'microsecond', 'microseconds']],
  [1n, ['ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds']],
] as const) {
  for (const name of names) UNITS.set(name, ns)
}

const TERM = /([0-9]+(?:\.[0-9]*)?)\s*([a-zµ]+)\s*/iy
const ISO =
  /^P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?=[0-9])(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?$/
const CLOCK = /^(?:([0-9]+)\s*days?(?:\s*,\s*|\s+))?([0-9]+):([0-9]{2}):([0-9]{2}(?:\.[0-9]+)?)$/
const INT64_MAX = 2n ** 63n - 1n
const MAX_LENGTH = 200

/**
 * `digits` (an unsigned decimal) times `unit` nanoseconds, to the nearest nanosecond as pandas
 * gives it (a fraction of a nanosecond itself is dropped).
 */
function scaled(digits: string, unit: bigint): bigint {
  const [whole = '0', fraction = ''] = digits.split('.')
  const scale = 10n ** BigInt(fraction.length)
  const exact = BigInt(whole + fraction) * unit
  return unit === 1n ? exact / scale : (2n * exact + scale) / (2n * scale)
}

function bad(text: string, why: string): InvalidArgumentError {
  const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)
  return new InvalidArgumentError(
    `tolerance ${shown} is not a duration: ${why} (e.g. '12h', '1D', '30min', '2 days', 'P1DT6H')`,
  )
}

function unitTerms(text: string, body: string): bigint {
  let total = 0n
  TERM.lastIndex = 0
  while (TERM.lastIndex < body.length) {
    const at = TERM.lastIndex
    const match = TERM.exec(body)
    if (match === null) {
      throw bad(text, /^[0-9.]+\s*$/.test(body.slice(at)) ? 'a number needs a unit' : 'cannot read it')
    }
    const name = (match[2] as string).toLowerCase()
    // pandas reads 'M' as months (refused) and 'm' as minutes.
    const unit = match[2] === 'M' ? undefined : UNITS.get(name)
    if (unit === undefined) {
      const why =
        match[2] === 'M' || name === 'y' || name === 'month' || name === 'year'
          ? 'months and years have no fixed length'
          : `unknown unit ${JSON.stringify(match[2])}`
      throw bad(text, why)
    }
    total += scaled(match[1] as string, unit)
  }
  return total
}

/**
 * Nanoseconds of a duration string, as pandas.Timedelta gives them for the forms accepted (see the
 * module comment); an InvalidArgumentError naming the string otherwise. A leading '-' makes it negative.
 */
export function parseDuration(text: string): bigint {
  // Far longer than any duration a user writes: refused before any work.
  if (text.length > MAX_LENGTH) throw bad(text, `it is longer than ${MAX_LENGTH} characters`)
  const trimmed = text.trim()
  const sign = trimmed.startsWith('-') ? -1n : 1n
  const body = trimmed.replace(/^[+-]\s*/, '')
  if (body === '') throw bad(text, 'it is empty')
  let ns: bigint
  const iso = ISO.exec(body)
  const clock = CLOCK.exec(body)
  if (iso !== null && trimmed.startsWith('+')) throw bad(text, "an ISO 8601 duration takes no '+'")
  if (iso !== null) {
    if (body === 'P') throw bad(text, 'an ISO 8601 duration needs a field')
    const [, w = '0', d = '0', h = '0', m = '0', s = '0'] = iso
    ns = scaled(w, NS.w) + scaled(d, NS.d) + scaled(h, NS.h) + scaled(m, NS.m) + scaled(s, SECOND)
  } else if (body.startsWith('P')) {
    throw bad(
      text,
      'ISO 8601 durations take weeks, days, hours, minutes and seconds, a fraction only in seconds',
    )
  } else if (clock !== null) {
    const [, d, h = '0', m = '0', s = '0'] = clock
    const hms = scaled(h, NS.h) + scaled(m, NS.m) + scaled(s, SECOND)
    // As Python prints a timedelta: in '-1 days 00:30:00' the sign is the days' alone.
    if (d !== undefined) return checkRange(text, sign * scaled(d, NS.d) + hms)
    ns = hms
  } else {
    ns = unitTerms(text, body)
  }
  return checkRange(text, sign * ns)
}

function checkRange(text: string, ns: bigint): bigint {
  if (ns > INT64_MAX || ns < -INT64_MAX)
    throw bad(text, 'it is longer than pandas can hold (about 292 years)')
  return ns
}
