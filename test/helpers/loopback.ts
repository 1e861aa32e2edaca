// Loopback HTTP servers for tests that play a gateway or an RPC server. Every server started here
// is closed (its connections too) when the test file ends.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after } from 'node:test'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** One request a server got; `body` is read only with `readBodies`. */
export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body?: Buffer
}

export interface Loopback {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string
  port: number
  /** Every request, in arrival order. */
  seen: Seen[]
}

const servers: Array<{ close(): void; closeAllConnections(): void }> = []
after(() => {
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

/**
 * A server on 127.0.0.1 answering with `handler`. By default the handler gets the request at once
 * (it may read or ignore the body); with `readBodies` it is called once the body is in, and the body
 * is recorded in `seen`.
 */
export async function serve(handler: Handler, options: { readBodies?: boolean } = {}): Promise<Loopback> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    const request: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers }
    if (!options.readBodies) {
      seen.push(request)
      handler(req, res)
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      seen.push({ ...request, body: Buffer.concat(chunks) })
      handler(req, res)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, seen }
}

/** The URL of a server answering every request with `body` as JSON (status 200): a lying Kubo RPC. */
export async function rpcAnswering(body: string): Promise<string> {
  const rpc = await serve((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  return rpc.url
}

/** KuboStore options that fail fast against such a server. */
export const QUICK_KUBO = { retryDelayMs: 1, retries: 0, timeoutMs: 2_000 }

/**
 * Answers 200 with `mib` MiB of zeros (a bound, not endless): as fast as the reader takes them, or
 * 256 KiB every `paceMs` so that a reader's memory can be sampled while it holds them.
 */
export function sendEndless(
  res: ServerResponse,
  mib: number,
  headers: Record<string, string> = {},
  paceMs = 0,
): void {
  res.writeHead(200, headers)
  const chunk = new Uint8Array(paceMs > 0 ? 1 << 18 : 1 << 20)
  const total = (mib << 20) / chunk.length
  let sent = 0
  const pump = (): void => {
    if (paceMs > 0) {
      if (sent < total && !res.destroyed && res.write(chunk)) sent++
      if (sent < total && !res.destroyed) setTimeout(pump, paceMs)
      else res.end()
      return
    }
    while (sent < total && res.write(chunk)) sent++
    if (sent < total && !res.destroyed) res.once('drain', pump)
    else res.end()
  }
  pump()
}

/**
 * Answers 200 with `bytes`, one byte every `everyMs`; `onCut` is called if the reader closes the
 * connection before the end.
 */
export function sendDrip(
  res: ServerResponse,
  bytes: Uint8Array,
  everyMs: number,
  headers: Record<string, string> = {},
  onCut: () => void = () => {},
): void {
  res.writeHead(200, headers)
  let i = 0
  const timer = setInterval(() => {
    if (i >= bytes.length || res.destroyed) {
      clearInterval(timer)
      res.end()
      return
    }
    res.write(bytes.subarray(i, i + 1))
    i++
  }, everyMs)
  res.on('close', () => {
    clearInterval(timer)
    if (i < bytes.length) onCut()
  })
}
