// nodeHttpFetch's own HTTP/1.1 client (src/node/http1.ts) against raw servers that write the bytes
// themselves: bodies framed every way and cut at every point, answers that must not be trusted, and
// connections that must not be reused.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { nodeHttpFetch } from '../src/node/http-fetch.js'
import { withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { serve } from './helpers/raw-http.js'

/** Cuts `bytes` at `cuts` random points. */
function split(bytes: Uint8Array, random: () => number, cuts: number): Uint8Array[] {
  const points = Array.from({ length: cuts }, () => Math.floor(random() * (bytes.length + 1))).sort(
    (a, b) => a - b,
  )
  const pieces: Uint8Array[] = []
  let at = 0
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(at, point))
    at = point
  }
  return pieces.filter((piece) => piece.length > 0)
}

const latin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'))
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

describe('bodies framed every way, cut anywhere, on one kept-alive connection', () => {
  it('declared-length, chunked (extensions, trailers) and 1xx-preceded answers read whole, in order', async () => {
    const seed = testSeed()
    const random = mulberry32(seed)
    const bodies: Uint8Array[] = []
    const wires: Uint8Array[][] = []
    for (let i = 0; i < 60; i++) {
      const size = [0, 1, 2, 13, 1000, 70_000, 300_000][Math.floor(random() * 7)] as number
      const body = new Uint8Array(size).map(() => Math.floor(random() * 256))
      bodies.push(body)
      const early = random() < 0.2 ? 'HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n' : ''
      let wire: Uint8Array
      if (random() < 0.5) {
        wire = concat([latin1(`${early}HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nX-A: b\r\n\r\n`), body])
      } else {
        const parts: Uint8Array[] = [latin1(`${early}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n`)]
        for (const piece of split(body, random, Math.floor(random() * 5))) {
          const extension = random() < 0.3 ? ';name=value' : ''
          parts.push(latin1(`${piece.length.toString(16)}${extension}\r\n`), piece, latin1('\r\n'))
        }
        parts.push(latin1(random() < 0.3 ? '0\r\nX-Trailer: t\r\n\r\n' : '0\r\n\r\n'))
        wire = concat(parts)
      }
      wires.push(split(wire, random, Math.floor(random() * 6)))
    }
    const server = await serve((request) => wires[Number(/GET \/(\d+)/.exec(request)?.[1])] ?? 'close')
    const fetch = nodeHttpFetch({ maxSockets: 1 })
    for (let i = 0; i < bodies.length; i++) {
      const response = await fetch(`${server.url}/${i}`)
      assert.equal(response.status, 200)
      if (i % 2 === 0) assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bodies[i], `body ${i}`)
      else {
        // Streamed: the reader sees the same bytes.
        const parts: Uint8Array[] = []
        for await (const part of response.body ?? []) parts.push(part)
        assert.deepEqual(concat(parts), bodies[i], `streamed body ${i}`)
      }
    }
    assert.deepEqual(
      new Set(server.requests.map((r) => r.connection)),
      new Set([1]),
      'one connection throughout',
    )
  })

  it('HEAD, 204 and 304 answers have no body, whatever Content-Length says, and keep the connection', async () => {
    const server = await serve((request) => {
      if (request.startsWith('HEAD')) return ['HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n']
      if (request.includes('/204')) return ['HTTP/1.1 204 No Content\r\n\r\n']
      return ['HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n']
    })
    const fetch = nodeHttpFetch({ maxSockets: 1 })
    const head = await fetch(`${server.url}/a`, { method: 'HEAD' })
    assert.equal(head.headers.get('content-length'), '1000')
    assert.equal(await head.text(), '')
    assert.equal((await fetch(`${server.url}/204`)).status, 204)
    assert.equal((await fetch(`${server.url}/304`)).status, 304)
    assert.equal(new Set(server.requests.map((r) => r.connection)).size, 1)
  })
})

describe('connections are not reused when the answer says or shows they may not be', () => {
  it('bytes past the declared end, Connection: close, HTTP/1.0, a body until close: the next request gets a new connection', async () => {
    const answers: Record<string, Array<string>> = {
      junk: [
        'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad',
      ],
      close: ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'],
      old: ['HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc'],
    }
    for (const [kind, pieces] of Object.entries(answers)) {
      const server = await serve((request) =>
        request.includes('/first') ? pieces : ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood'],
      )
      const fetch = nodeHttpFetch({ maxSockets: 1 })
      assert.equal(await (await fetch(`${server.url}/first`)).text(), 'abc', kind)
      assert.equal(await (await fetch(`${server.url}/second`)).text(), 'good', kind)
      assert.deepEqual(
        server.requests.map((r) => r.connection),
        [1, 2],
        `${kind}: the second request on a new connection`,
      )
    }
  })

  it('a body without a length ends when the server closes: all of it is the body', async () => {
    const server = await serve((_request, connection) =>
      connection === 1
        ? ['HTTP/1.1 200 OK\r\n\r\nto the ', 'end', null]
        : ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    )
    const fetch = nodeHttpFetch({ maxSockets: 1 })
    assert.equal(await (await fetch(`${server.url}/a`)).text(), 'to the end')
    assert.equal(await (await fetch(`${server.url}/b`)).text(), 'ok')
    assert.deepEqual(
      server.requests.map((r) => r.connection),
      [1, 2],
    )
  })
})

describe('idle connections', () => {
  it('a kept-alive connection the server never closes does not keep the process from exiting', async () => {
    const server = await serve(() => ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'])
    const dir = await mkdtemp(join(tmpdir(), 'ts-hamt-http1-'))
    const script = join(dir, 'fetch-once.mts')
    const module = fileURLToPath(new URL('../src/node/http-fetch.ts', import.meta.url))
    await writeFile(
      script,
      `import { nodeHttpFetch } from ${JSON.stringify(module)}\n` +
        `const text = await (await nodeHttpFetch()(${JSON.stringify(`${server.url}/x`)})).text()\n` +
        'console.log(text)\n',
    )
    // The child is killed after 20 s (a hang bound; execFile then rejects): no time is asserted.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      timeout: 20_000,
    })
    assert.equal(stdout.trim(), 'ok')
    // The server keeps the connection open for ever: only an unref'd idle socket lets the child end.
  })
})

describe('answers that do not parse are network errors, within budget', () => {
  const cases: Record<string, Array<string>> = {
    'a head of more than 16 KiB': [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    'a head that never ends, 1 KiB a piece': Array.from(
      { length: 40 },
      () => `X: ${'b'.repeat(1024)}\r\n`,
    ).map((line, i) => (i === 0 ? `HTTP/1.1 200 OK\r\n${line}` : line)),
    'a malformed status line': ['HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n'],
    'not HTTP at all': ['SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    'a header line without a name': ['HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 0\r\n\r\n'],
    'a folded header line': ['HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n'],
    'two different Content-Lengths': [
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    ],
    'a negative Content-Length': ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    'a Content-Length of 2^60': ['HTTP/1.1 200 OK\r\nContent-Length: 1152921504606846976\r\n\r\n'],
    'a transfer coding other than chunked last': ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc'],
    'a protocol switch': ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
  }
  for (const [name, pieces] of Object.entries(cases)) {
    it(`${name}`, async () => {
      const server = await serve(() => pieces)
      const outcome = await withinBudget(name, async () => {
        const response = await nodeHttpFetch()(`${server.url}/x`)
        return response.arrayBuffer()
      })
      assert.ok(outcome.error instanceof TypeError, `${name}: ${String(outcome.error ?? 'read')}`)
    })
  }

  const chunked: Record<string, string> = {
    'a chunk size that is not hex': 'zz\r\nabc\r\n0\r\n\r\n',
    'a chunk size line of 8 KiB': `1;${'e'.repeat(8192)}\r\na\r\n0\r\n\r\n`,
    'a chunk size of 2^56': '100000000000000\r\nabc',
    'a chunk without its CRLF': '3\r\nabcX\r\n0\r\n\r\n',
  }
  for (const [name, body] of Object.entries(chunked)) {
    it(`a chunked body with ${name} is a TypeError when read, in a read of its own or with the head`, async () => {
      const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
      for (const together of [false, true]) {
        // Together: the body failed in the read that brought the head, before a reader listened (it hung).
        const server = await serve(() => (together ? [head + body] : [head, body]))
        const outcome = await withinBudget(name, async () => {
          const response = await nodeHttpFetch()(`${server.url}/x`)
          return response.arrayBuffer()
        })
        assert.ok(
          outcome.error instanceof TypeError,
          `${name} (together: ${together}): ${String(outcome.error ?? 'read')}`,
        )
      }
    })
  }

  it('a body cut short is a TypeError whether read whole or streamed; a reset before any answer too', async () => {
    for (const read of ['whole', 'stream'] as const) {
      for (const length of [100, 10_000_000]) {
        // 100: received in place; 10 MB: streamed through a Readable.
        const server = await serve(() => [`HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\n\r\nabc`, null])
        const outcome = await withinBudget(`cut ${read} ${length}`, async () => {
          const response = await nodeHttpFetch()(`${server.url}/x`)
          if (read === 'whole') return response.arrayBuffer()
          for await (const _ of response.body ?? []);
          return undefined
        })
        assert.ok(outcome.error instanceof TypeError, `${read} ${length}: ${String(outcome.error ?? 'read')}`)
      }
    }
    const cutting = await serve(() => 'close')
    const reset = await withinBudget('reset', () => nodeHttpFetch()(`${cutting.url}/x`))
    assert.ok(reset.error instanceof TypeError, String(reset.error))
  })

  it("the caller's signal ends a body being received in place, and the connection is not reused", async () => {
    const server = await serve((request) =>
      request.includes('/slow')
        ? ['HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nabc']
        : ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    )
    const fetch = nodeHttpFetch({ maxSockets: 1 })
    const controller = new AbortController()
    const reason = new Error('enough')
    const response = await fetch(`${server.url}/slow`, { signal: controller.signal })
    setTimeout(() => controller.abort(reason), 30)
    const outcome = await withinBudget('abort in place', () => response.arrayBuffer())
    assert.equal(outcome.error, reason)
    assert.equal(await (await fetch(`${server.url}/next`)).text(), 'ok')
    assert.deepEqual(
      server.requests.map((r) => r.connection),
      [1, 2],
    )
  })
})
