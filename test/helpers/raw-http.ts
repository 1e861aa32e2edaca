// A raw HTTP/1.1 server for client tests: it writes the answer bytes itself, in pieces that arrive in
// separate reads. Every server started here is closed (its connections too) when the test file ends.
import net from 'node:net'
import { after } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

/** Pieces to write (`null`: end the connection there), or close at once, or never answer. */
export type Answer = (
  request: string,
  connection: number,
) => Array<Uint8Array | string | null> | 'close' | 'hang'

/**
 * A server that answers each request head (GET/HEAD: no request body) with the pieces `answer`
 * gives, written one at a time with a pause between them so they arrive in separate reads.
 */
async function rawServer(answer: Answer) {
  const requests: Array<{ line: string; connection: number }> = []
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    const connection = ++connections
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = ''
    let chain = Promise.resolve()
    socket.on('data', (data) => {
      pending += data.toString('latin1')
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end)
        pending = pending.slice(end + 4)
        requests.push({ line: head.split('\r\n')[0] as string, connection })
        const pieces = answer(head, connection)
        chain = chain.then(async () => {
          if (pieces === 'close') return void socket.destroy()
          if (pieces === 'hang') return
          for (const piece of pieces) {
            if (socket.destroyed) return
            if (piece === null) return void socket.end()
            socket.write(piece)
            await sleep(1)
          }
        })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      for (const socket of sockets) socket.destroy()
      server.close()
    },
  }
}

const servers: Array<{ close(): void }> = []
after(() => {
  for (const server of servers) server.close()
})
/** A {@link rawServer} closed when the test file ends. */
export async function serve(answer: Answer) {
  const server = await rawServer(answer)
  servers.push(server)
  return server
}
