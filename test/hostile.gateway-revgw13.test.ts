// Review of gw13's unverifiedReadBytes: what reaches the cap exactly is still read (chunked, with a
// Content-Length, gzip'd, a 206 with no length), and what passes it is refused, gzip'd or not.
// Loopback gateways only: a real gateway cannot be made to send these answers.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { type ByteRange, KuboStore } from '../src/index.js'
import { nodeHttpFetch } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const CAP = 256 << 10
const seed = testSeed()
const random = mulberry32(seed)
// Compressible (runs of a byte), so a gzip'd answer is much smaller than what it decodes to.
const file = Uint8Array.from({ length: CAP }, (_, i) => Math.floor(i / 512 + random() * 2) % 256)
const cid = CID.createV1(0x70, await sha256.digest(file))

const fetches: Array<[string, () => typeof globalThis.fetch]> = [
  ['global fetch', () => globalThis.fetch.bind(globalThis)],
  ['nodeHttpFetch', () => nodeHttpFetch()],
]

type Answer = { status: 200 | 206; headers: Record<string, string>; body: Uint8Array }

/** A gateway giving `answer` to every request, in 16 KiB writes (chunked unless it says its length). */
async function gateway(answer: Answer): Promise<string> {
  const { url } = await serve((_req, res) => {
    res.writeHead(answer.status, answer.headers)
    for (let at = 0; at < answer.body.length; at += 16 << 10)
      res.write(answer.body.subarray(at, at + (16 << 10)))
    res.end()
  })
  return url
}

const read = (url: string, makeFetch: () => typeof globalThis.fetch, range?: ByteRange) =>
  new KuboStore({
    rpcUrl: null,
    gateways: url,
    verify: false,
    fetch: makeFetch(),
    retries: 0,
    unverifiedReadBytes: CAP,
  }).load(cid, range === undefined ? {} : { range })

describe('review of gw13: unverifiedReadBytes at and past its edge', () => {
  for (const [fetchName, makeFetch] of fetches) {
    it(`${fetchName}: a whole file of exactly unverifiedReadBytes is read, however it is sent`, async () => {
      const gz = gzipSync(file)
      const answers: Array<[string, Answer, ByteRange | undefined]> = [
        ['chunked 200', { status: 200, headers: {}, body: file }, undefined],
        [
          '200 with its length',
          { status: 200, headers: { 'content-length': String(CAP) }, body: file },
          undefined,
        ],
        [
          'gzip 200',
          {
            status: 200,
            headers: { 'content-encoding': 'gzip', 'content-length': String(gz.length) },
            body: gz,
          },
          undefined,
        ],
        [
          '206 with no length',
          { status: 206, headers: { 'content-range': `bytes 0-${CAP - 1}/*` }, body: file },
          { offset: 0 },
        ],
        ['200 to an open range', { status: 200, headers: {}, body: file }, { offset: 0 }],
        ['200 to a suffix', { status: 200, headers: {}, body: file }, { suffix: 10 }],
      ]
      for (const [what, answer, range] of answers) {
        const outcome = await withinBudget(what, async () => read(await gateway(answer), makeFetch, range))
        assert.equal(outcome.error, undefined, `${what}: ${String(outcome.error)}`)
        const expected = range !== undefined && 'suffix' in range ? file.subarray(CAP - 10) : file
        assert.deepEqual(outcome.value, expected, what)
      }
    })

    it(`${fetchName}: one byte more is ERR_STORE naming unverifiedReadBytes, gzip'd or not`, async () => {
      const more = Uint8Array.from([...file, 7])
      const gz = gzipSync(more)
      const answers: Array<[string, Answer, ByteRange | undefined]> = [
        ['chunked 200', { status: 200, headers: {}, body: more }, undefined],
        [
          'gzip 200 declaring its gzip length',
          {
            status: 200,
            headers: { 'content-encoding': 'gzip', 'content-length': String(gz.length) },
            body: gz,
          },
          undefined,
        ],
        [
          '206 with no length',
          { status: 206, headers: { 'content-range': `bytes 0-${CAP}/*` }, body: more },
          { offset: 0 },
        ],
        [
          'gzip 206',
          {
            status: 206,
            headers: { 'content-encoding': 'gzip', 'content-range': `bytes 0-${CAP}/*` },
            body: gz,
          },
          { offset: 0 },
        ],
      ]
      for (const [what, answer, range] of answers) {
        const outcome = await withinBudget(what, async () => read(await gateway(answer), makeFetch, range))
        assertTypedError(outcome, 'ERR_STORE')
        assert.match(String((outcome.error as Error).message), /unverifiedReadBytes/, what)
      }
    })
  }
})
