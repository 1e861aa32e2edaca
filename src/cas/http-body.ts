// Reading an HTTP answer's body within a bound, and dropping one unread: for every store that speaks HTTP.
import { StoreError } from '../errors.js'
import { concatBytes } from './concat.js'

/** A body longer than its reader allows (declared so, or counted as it streamed); the rest was not read. */
export class BodyTooLargeError extends StoreError {}

/**
 * Reads a body of at most `limit` bytes, stopping at the first byte beyond it: a declared
 * Content-Length above the limit is refused before any byte is read, and a body without one (or
 * content-encoded, whose Content-Length is not what fetch hands over, or a browser's cross-origin
 * one, whose encoding is hidden) is counted as it streams. With `truncate`, the first `limit` bytes
 * are returned instead of an error.
 * Either way the rest of the body is not read (the connection is closed). `hold` is told the bytes
 * the read holds before it keeps them (a declared length at once, else as they stream), and may wait.
 */
export async function readBody(
  response: Response,
  limit: number,
  source: string,
  truncate = false,
  hold?: (bytes: number) => Promise<void>,
): Promise<Uint8Array> {
  const tooLarge = (what: string): StoreError =>
    new BodyTooLargeError(`${source}: the answer is ${what}, more than the ${limit} bytes it may have`)
  // A declared length counts only for a body not content-encoded: fetch decodes gzip and friends,
  // and a few hundred KB of gzip can declare themselves and then decode to gigabytes.
  // A browser's cross-origin answer hides Content-Encoding (not CORS-safelisted) yet shows Content-Length.
  const encoding =
    response.type === 'cors'
      ? 'unknown'
      : (response.headers.get('content-encoding')?.trim().toLowerCase() ?? 'identity')
  const declared =
    encoding === 'identity' ? Number(response.headers.get('content-length') ?? Number.NaN) : Number.NaN
  if (declared > limit && !truncate) {
    discard(response.body)
    throw tooLarge(`declared as ${declared} bytes`)
  }
  // fetch itself holds a body to its declared length, so this one is read whole.
  if (declared <= limit) {
    await hold?.(declared)?.catch((error: unknown) => {
      discard(response.body)
      throw error
    })
    return new Uint8Array(await response.arrayBuffer())
  }
  const reader = readerOf(response)
  if (reader === undefined) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.length
    if (length > limit) {
      discard(reader)
      if (truncate) return concatBytes(chunks).slice(0, limit) // its own bytes, only the first `limit`
      throw tooLarge('longer')
    }
    await hold?.(length)?.catch((error: unknown) => {
      discard(reader)
      throw error
    })
  }
  return ownBytes(chunks)
}

/** The reader a read here took of each answer's body: what {@link discardBody} cancels once it is locked. */
const readers = new WeakMap<Response, ReadableStreamDefaultReader<Uint8Array>>()

/** A reader of the answer's body (none without one), which {@link discardBody} can cancel. */
export function readerOf(response: Response): ReadableStreamDefaultReader<Uint8Array> | undefined {
  const reader = response.body?.getReader()
  if (reader !== undefined) readers.set(response, reader)
  return reader
}

/**
 * Stops reading an answer's body, also while a read here holds its reader (the body is locked): a
 * read left behind by a fetch that heeds no signal then ends rather than wait for ever.
 */
export function discardBody(response: Response): void {
  discard(readers.get(response) ?? response.body)
}

/**
 * Stops reading a body the caller no longer needs (the connection is closed). Not awaited: a caller's
 * fetch may never settle its cancel, and the read is over either way.
 */
export function discard(body: ReadableStream | ReadableStreamDefaultReader | null | undefined): void {
  body?.cancel().catch(() => {})
}

/**
 * A body's chunks joined in a buffer of their own. One chunk is copied too: it is the fetch's object
 * (a buffer it may reuse, or a view of a larger one), and verified bytes must not change after.
 */
function ownBytes(chunks: Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? (chunks[0] as Uint8Array).slice() : concatBytes(chunks)
}
