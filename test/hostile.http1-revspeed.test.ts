// Outside review of http1's head parsing on the bytes just read (a head-sized slice joined to what was
// kept, the rest left where it was read): every answer cut at every byte offset, bodies that begin
// with CRLF (a head end seen twice), heads exactly at and one past the 16 KiB limit followed at once
// by a large body.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { nodeHttpFetch } from '../src/node/http-fetch.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { serve } from './helpers/raw-http.js'

const MAX_HEAD = 16 * 1024
const latin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'))
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

/** A server answering `GET /<n>` with `answers(n)`'s pieces, each in its own read. */
const rawServer = (answers: (n: number) => Uint8Array[]) =>
  serve((request) => answers(Number(/^GET \/(\d+)/.exec(request)?.[1])))

/** Each cut of `wire` in two at every offset (0 and the end included). */
const everyCut = (wire: Uint8Array): Uint8Array[][] =>
  Array.from({ length: wire.length + 1 }, (_, at) => [wire.subarray(0, at), wire.subarray(at)])

describe('answers cut at every byte offset', () => {
  const wires: Array<{ name: string; wire: Uint8Array; body: Uint8Array }> = [
    {
      name: 'a declared-length body that begins with CRLF CRLF',
      wire: latin1('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\r\n\r\nab\r\n'),
      body: latin1('\r\n\r\nab\r\n'),
    },
    {
      name: 'a chunked body whose data begins with CRLF',
      wire: latin1(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n\r\n\r\n2\r\n\r\n\r\n0\r\n\r\n',
      ),
      body: latin1('\r\n\r\n\r\n'),
    },
    {
      name: '100 Continue, then a head and a body beginning with CRLF',
      wire: latin1('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\r\nx'),
      body: latin1('\r\nx'),
    },
  ]
  for (const { name, wire, body } of wires) {
    it(`${name}: whole and the same on one kept-alive connection`, async () => {
      const cuts = everyCut(wire)
      const server = await rawServer((n) => cuts[n] ?? [])
      const fetch = nodeHttpFetch({ maxSockets: 1 })
      for (let n = 0; n < cuts.length; n++) {
        const response = await fetch(`${server.url}/${n}`)
        assert.equal(response.status, 200, `cut at ${n}`)
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), body, `cut at ${n}`)
      }
    })
  }
})

/** A head whose `\r\n\r\n` starts at `end` (the head's size as the limit counts it). */
function headOfSize(end: number, bodyLength: number): Uint8Array {
  return latin1(`${headStart(bodyLength)}${'p'.repeat(end - headStart(bodyLength).length)}\r\n\r\n`)
}
const headStart = (bodyLength: number): string =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${bodyLength}\r\nX-Pad: `

describe('heads at the 16 KiB limit, cut near it, a large body behind', () => {
  const seed = testSeed()
  const random = mulberry32(seed)
  const body = new Uint8Array(70_000).map(() => Math.floor(random() * 256))
  body.set(latin1('\r\n\r\n'))
  for (const end of [MAX_HEAD - 1, MAX_HEAD, MAX_HEAD + 1, MAX_HEAD + 4]) {
    it(`a head of ${end} bytes is ${end <= MAX_HEAD ? 'read' : 'refused'}, wherever it is cut`, async () => {
      const wire = concat([headOfSize(end, body.length), body])
      const offsets = [
        0,
        1,
        2,
        100,
        end - 3,
        end - 2,
        end - 1,
        end,
        end + 1,
        end + 2,
        end + 3,
        end + 4,
        end + 5,
      ]
      offsets.push(MAX_HEAD - 1, MAX_HEAD, MAX_HEAD + 1, MAX_HEAD + 3, MAX_HEAD + 4, MAX_HEAD + 5)
      offsets.push(Math.floor(random() * wire.length))
      const cuts = offsets.map((at) => [wire.subarray(0, at), wire.subarray(at)])
      const server = await rawServer((n) => cuts[n] ?? [])
      const fetch = nodeHttpFetch({ maxSockets: 1 })
      for (const [n, at] of offsets.entries()) {
        if (end > MAX_HEAD) {
          await assert.rejects(
            fetch(`${server.url}/${n}`).then((response) => response.arrayBuffer()),
            `cut at ${at}`,
          )
          continue
        }
        const response = await fetch(`${server.url}/${n}`)
        assert.equal(response.status, 200)
        assert.equal(response.headers.get('x-pad')?.length, end - headStart(body.length).length)
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), body, `cut at ${at}`)
      }
    })
  }
})
