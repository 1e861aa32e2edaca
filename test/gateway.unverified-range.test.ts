// Unverified gateway reads (`verify: false`) ask the gateway for a byte range with an HTTP Range
// header. They must give what every other path gives for the same range (the reference slice
// below), zero-length ranges and ranges ending at the file's end included, and never send a
// header that is not a valid single range. Loopback gateways only.
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { type ByteRange, isHamtError, KuboStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { serve } from './helpers/loopback.js'

const DAG_PB = 0x70

/** What a range selects of `data` (RFC 9110 semantics as our stores document them), or 'unsatisfiable'. */
function reference(data: Uint8Array, range: ByteRange): Uint8Array | 'unsatisfiable' {
  const n = data.length
  if ('suffix' in range) return range.suffix > n ? 'unsatisfiable' : data.slice(n - range.suffix)
  const end = range.length === undefined ? n : range.offset + range.length
  return range.offset > n || end > n ? 'unsatisfiable' : data.slice(range.offset, end)
}

/** A valid single byte range: `first-last` with first <= last, `first-`, or a suffix. */
const VALID_RANGE = /^bytes=(?:(\d+)-(\d+)?|-(\d+))$/

/**
 * A gateway answering Range requests as RFC 9110 says: 416 with `*\/size` when no byte is selected
 * (a suffix of 0 too), and, as Kubo 0.43 does, 400 for a malformed header (`bytes=0--1`).
 */
function rangeAnswering(data: Uint8Array) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const header = req.headers.range
    if (header === undefined) return void res.writeHead(200).end(data)
    const match = VALID_RANGE.exec(header)
    const n = data.length
    if (match === null || (match[2] !== undefined && Number(match[2]) < Number(match[1]))) {
      return void res.writeHead(400).end(`invalid range ${header}`)
    }
    let first: number
    let last: number
    if (match[3] !== undefined) {
      first = Math.max(0, n - Number(match[3]))
      last = n - 1
    } else {
      first = Number(match[1])
      last = Math.min(n - 1, match[2] === undefined ? n - 1 : Number(match[2]))
    }
    if (first >= n) {
      return void res.writeHead(416, { 'content-range': `bytes */${n}` }).end('not satisfiable')
    }
    res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${n}` }).end(data.subarray(first, last + 1))
  }
}

function rangesFor(n: number): ByteRange[] {
  const ranges: ByteRange[] = [
    { suffix: 0 },
    { suffix: n },
    { suffix: n + 1 },
    { offset: n },
    { offset: n + 1 },
  ]
  for (const offset of new Set([0, 1, n >> 1, n - 1, n, n + 1].filter((o) => o >= 0))) {
    for (const length of [0, 1, 2]) ranges.push({ offset, length })
  }
  return ranges
}

describe('unverified gateway ranges match every other path', () => {
  const fetches: Array<[string, () => typeof globalThis.fetch]> = [
    ['global fetch', () => globalThis.fetch.bind(globalThis)],
    ['nodeHttpFetch', () => nodeHttpFetch()],
  ]
  for (const [fetchName, makeFetch] of fetches) {
    for (const ignoresRange of [false, true]) {
      it(`${fetchName}, a gateway that ${ignoresRange ? 'ignores' : 'answers'} Range: zero-length and end-of-file ranges`, async () => {
        for (const n of [0, 1, 100]) {
          const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255)
          const answer = rangeAnswering(data)
          const gateway = await serve((req, res) =>
            ignoresRange ? res.writeHead(200).end(data) : answer(req, res),
          )
          // Any dag-pb CID: an unverified read does not check the bytes against it.
          const cid = CID.createV1(DAG_PB, await sha256.digest(data))
          const store = new KuboStore({
            rpcUrl: null,
            gateways: gateway.url,
            verify: false,
            fetch: makeFetch(),
            retries: 0,
          })
          for (const range of rangesFor(n)) {
            const what = `${n}-byte file, range ${JSON.stringify(range)}`
            const expected = reference(data, range)
            const outcome = await store.load(cid, { range }).then(
              (value) => ({ value }),
              (error: unknown) => ({ error }),
            )
            if (expected === 'unsatisfiable') {
              assert.ok(
                'error' in outcome && isHamtError(outcome.error, 'ERR_RANGE_NOT_SATISFIABLE'),
                `${what}: ${'error' in outcome ? outcome.error : 'no error'}`,
              )
            } else {
              assert.ok('value' in outcome, `${what}: ${'error' in outcome ? outcome.error : ''}`)
              assert.deepEqual(outcome.value, expected, what)
            }
          }
          for (const { headers } of gateway.seen) {
            if (headers.range === undefined) continue
            const match = VALID_RANGE.exec(headers.range)
            assert.ok(match !== null, `a valid Range header: ${headers.range}`)
            assert.ok(match[2] === undefined || Number(match[2]) >= Number(match[1]), headers.range)
          }
        }
      })
    }
  }
})
