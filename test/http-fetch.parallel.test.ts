// nodeHttpFetch sends parallel requests in parallel: a loopback gateway holds every answer until it
// has as many requests in flight as were sent (or a deadline passes), and records the most it saw.
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import { nodeHttpFetch } from '../src/node/http-fetch.js'
import { serve } from './helpers/loopback.js'

/** Answers held until `wanted` requests are open at once, or `deadlineMs` after the first. */
async function gatheringServer(wanted: number, body: Uint8Array, deadlineMs = 3000) {
  let open = 0
  let most = 0
  let held: ServerResponse[] = []
  let timer: NodeJS.Timeout | undefined
  const release = (): void => {
    clearTimeout(timer)
    timer = undefined
    for (const res of held) {
      res.writeHead(200, { 'content-length': body.length })
      res.end(body, () => open--)
    }
    held = []
  }
  const server = await serve((_req, res) => {
    open++
    most = Math.max(most, open)
    held.push(res)
    timer ??= setTimeout(release, deadlineMs)
    if (held.length >= wanted) release()
  })
  return { url: server.url, most: () => most }
}

describe('nodeHttpFetch in parallel', () => {
  for (const n of [6, 32]) {
    it(`has ${n} GETs of 500 KB in flight at once when ${n} are sent together`, async () => {
      const body = new Uint8Array(500_000).fill(7)
      const server = await gatheringServer(n, body)
      const fetch = nodeHttpFetch()
      for (let round = 0; round < 2; round++) {
        // The second round reuses the kept-alive connections of the first.
        const got = await Promise.all(
          Array.from({ length: n }, async (_, i) =>
            (await fetch(`${server.url}/ipfs/${round}-${i}`)).bytes(),
          ),
        )
        assert.ok(got.every((bytes) => bytes.length === body.length))
        assert.equal(server.most(), n, `round ${round}: at most ${server.most()} of ${n} requests in flight`)
      }
    })
  }

  it('holds no more than maxSockets in flight to one host', async () => {
    const server = await gatheringServer(4, new Uint8Array(10), 300)
    const fetch = nodeHttpFetch({ maxSockets: 2 })
    await Promise.all(Array.from({ length: 4 }, async (_, i) => (await fetch(`${server.url}/${i}`)).bytes()))
    assert.equal(server.most(), 2)
  })
})
