import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ProxyOptions {
  /** Answer 401 unless the request carries exactly this Authorization header. */
  requireAuthorization?: string
  /** Rewrite each answer body (to serve wrong bytes, say); return it unchanged to pass through. */
  rewriteBody?: (body: Uint8Array, url: string) => Uint8Array
}

export interface Proxy {
  url: string
  /** Requests seen, with their Authorization header. */
  seen: Array<{ method: string; url: string; authorization: string | undefined }>
  close(): Promise<void>
}

/** A loopback HTTP proxy in front of `target` (a Kubo RPC or gateway URL), for fault and auth tests. */
export async function startProxy(target: string, options: ProxyOptions = {}): Promise<Proxy> {
  const seen: Proxy['seen'] = []
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? 'GET', url: req.url ?? '', authorization: req.headers.authorization })
    if (
      options.requireAuthorization !== undefined &&
      req.headers.authorization !== options.requireAuthorization
    ) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized')
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (
        typeof value === 'string' &&
        !['host', 'authorization', 'connection', 'content-length'].includes(name)
      ) {
        headers[name] = value
      }
    }
    try {
      const answer = await fetch(`${target}${req.url}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      })
      let body: Uint8Array = new Uint8Array(await answer.arrayBuffer())
      if (options.rewriteBody) body = options.rewriteBody(body, req.url ?? '')
      const outHeaders: Record<string, string> = {}
      answer.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) {
          outHeaders[name] = value
        }
      })
      res.writeHead(answer.status, outHeaders).end(body)
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
