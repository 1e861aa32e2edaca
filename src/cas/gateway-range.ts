// Unverified file reads with an HTTP Range header (`verify: false`): what the header asks, and what
// an answer must carry (a 206 its Content-Range's bytes, a 200 the whole file, of which the range is kept).
import { RangeNotSatisfiableError, StoreError } from '../errors.js'
import { concatBytes } from './concat.js'
import type { HttpStatusError } from './http.js'
import { BodyTooLargeError, discard, readBody, readerOf } from './http-body.js'
import { plainView } from './id.js'
import type { ByteRange } from './interface.js'
import { resolveByteRange } from './range.js'

/**
 * The bytes `range` selects from an answer carrying the whole file, holding only those as it streams:
 * bytes before the range are dropped, a suffix keeps a window of its length, and the read stops at
 * the range's end. Out of the file (by the bytes that came) is a RangeNotSatisfiableError, as elsewhere.
 * Past `most` bytes kept (or streamed, for a suffix) the read stops (ERR_STORE): final for a range
 * without end (the content's size), the gateway's fault for one a 206 would have carried.
 * `hold` is told the bytes kept so far before the next are read, and may wait.
 */
export async function readRangeOfWhole(
  response: Response,
  range: ByteRange,
  most: number,
  source: string,
  hold?: (bytes: number) => Promise<void>,
): Promise<Uint8Array> {
  const start = 'offset' in range ? range.offset : 0
  const end = 'offset' in range && range.length !== undefined ? range.offset + range.length : Infinity
  const kept: Uint8Array[] = []
  let keptBytes = 0
  let streamed = 0
  const reader = readerOf(response)
  try {
    while (reader !== undefined && streamed < end) {
      const { done, value } = await reader.read()
      if (done) break
      const at = streamed
      streamed += value.length
      if ('suffix' in range) {
        // A suffix needs the whole file to stream by, so the whole file's bound holds it too.
        if (streamed > most) throw ignoredRange(source, `the file is more than ${most} bytes`)
        kept.push(value)
        keptBytes += value.length
        while (kept.length > 1 && keptBytes - (kept[0] as Uint8Array).length >= range.suffix)
          keptBytes -= (kept.shift() as Uint8Array).length
      } else if (streamed > start) {
        const part = value.subarray(Math.max(start - at, 0), Math.min(end, streamed) - at)
        keptBytes += part.length
        if (keptBytes > most) {
          const over = new BodyTooLargeError(`${source}: the range is more than ${most} bytes`)
          // Past the cap with an end: a 206 would have carried it (the caller's bound), not this answer.
          if (end === Infinity) tooLarge(over)
          throw ignoredRange(source, `the range is more than ${most} bytes`)
        }
        kept.push(part)
      }
      await hold?.(keptBytes)
    }
  } finally {
    discard(reader)
  }
  // Bytes streamed stand for the file's size: a read stopped at the range's end proves it reaches that far.
  const [from, to] = resolveByteRange(range, streamed)
  const bytes = concatBytes(kept)
  // Through a plain view: a Buffer chunk (a caller's fetch may give them) slices to a view, not a copy.
  return plainView(bytes).slice('suffix' in range ? bytes.length - (to - from) : 0)
}

/**
 * An unverified read refused for the size of what it asked (the file, or its range): the content's
 * size, not a gateway's fault, so the read ends here rather than fetching it from the next gateway.
 */
export class OverUnverifiedReadBytesError extends BodyTooLargeError {}

/**
 * The bytes of an unverified answer for `range` (undefined: the whole file). Unverified reads trust
 * the gateway's bytes, not its lengths: a range is read only as far as it goes, a whole file (or a
 * range without end) up to `most`, its bytes told to `hold` as they come.
 */
export async function readUnverifiedAnswer(
  response: Response,
  source: string,
  range: ByteRange | undefined,
  most: number,
  hold: (bytes: number) => Promise<void>,
): Promise<Uint8Array> {
  if (range === undefined) return await readBody(response, most, source, false, hold).catch(tooLarge)
  // A gateway that ignores Range sends the whole file: only the range's bytes are kept.
  if (response.status === 200) return await readRangeOfWhole(response, range, most, source, hold)
  const asked = askedFor(range)
  const wanted = 'suffix' in asked ? asked.suffix : asked.length
  // A range with a length is the caller's to hold; one without end is held as it streams.
  const body =
    wanted === undefined
      ? await readBody(response, most, source, false, hold).catch(tooLarge)
      : await readBody(response, wanted, source)
  if (response.status !== 206) throw notSaying(source)
  checkPartialAnswer(source, range, response.headers.get('content-range'), body)
  return asked === range ? body : new Uint8Array(0)
}

/**
 * A range the gateway answered with the whole file, which ran past `unverifiedReadBytes` where a 206
 * would not have: the gateway's fault, so the next gateway is asked.
 */
function ignoredRange(source: string, what: string): BodyTooLargeError {
  return new BodyTooLargeError(`${source}: the gateway ignored Range and ${what} (unverifiedReadBytes)`)
}

/** A whole unverified read refused for its size, saying how to read the file. */
export function tooLarge(error: unknown): never {
  if (!(error instanceof BodyTooLargeError)) throw error
  throw new OverUnverifiedReadBytesError(
    `${error.message} (unverifiedReadBytes): raise it, or read the file by range`,
    { cause: error },
  )
}

export function notSaying(source: string): StoreError {
  return new StoreError(`${source}: the answer to a Range request does not say which bytes it carries`)
}

/**
 * A 206 must carry the bytes the range selects, as its `Content-Range` says: where it names the
 * file's size, a range reaching outside the file is refused as every other path refuses it.
 */
export function checkPartialAnswer(
  source: string,
  range: ByteRange,
  contentRange: string | null,
  body: Uint8Array,
): void {
  const answered = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '')
  if (answered === null) throw notSaying(source)
  const [first, last, total] = [Number(answered[1]), Number(answered[2]), answered[3]]
  if (last - first + 1 !== body.length) throw notSaying(source)
  if ('offset' in range && range.length === 0) return // one byte asked to locate the offset, none given back
  let start: number | undefined
  let length: number | undefined
  if (total !== '*') {
    const [from, to] = resolveByteRange(range, Number(total))
    ;[start, length] = [from, to - from]
  } else if ('offset' in range) [start, length] = [range.offset, range.length]
  else length = range.suffix
  if ((start !== undefined && first !== start) || (length !== undefined && body.length !== length)) {
    throw new StoreError(
      `${source}: asked for range ${JSON.stringify(range)}, the gateway sent bytes ${first}-${last}`,
    )
  }
}

/**
 * What is asked for `range`. A zero-length range names no byte (`bytes=5-4` is malformed): the byte at
 * its offset is asked, so the gateway still says whether the offset is inside the file, and none kept.
 */
function askedFor(range: ByteRange): ByteRange {
  return 'offset' in range && range.length === 0 ? { offset: range.offset, length: 1 } : range
}

export function rangeHeader(wanted: ByteRange): string {
  const range = askedFor(wanted)
  if ('suffix' in range) return `bytes=-${range.suffix}`
  return `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`
}

/**
 * A 416 selects no byte, which is right for a range that selects none at the file's end (offset =
 * size, a suffix of 0): with the size it names (`Content-Range: bytes *\/size`), the range is
 * resolved as every other path resolves it; without it, the range is out of the file.
 */
export function unsatisfiedRange(source: string, range: ByteRange, error: HttpStatusError): Uint8Array {
  const size = /^bytes \*\/(\d+)$/.exec(error.headers.get('content-range') ?? '')?.[1]
  if (size === undefined) {
    throw new RangeNotSatisfiableError(
      `${source}: the gateway found range ${JSON.stringify(range)} outside the file`,
    )
  }
  const [start, end] = resolveByteRange(range, Number(size))
  if (start !== end) {
    throw new StoreError(
      `${source}: the gateway refused range ${JSON.stringify(range)} of a ${size}-byte file`,
      { cause: error },
    )
  }
  return new Uint8Array(0)
}
