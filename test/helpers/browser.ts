// A real headless Chromium (Debian's, installed by scripts/chromium-env.sh; no browser download by a
// test tool) driven by playwright-core, and a static file server on loopback for built web pages.
import { execFile } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type BrowserContext, chromium } from 'playwright-core'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The flags this closed network needs: without the background-networking ones Chromium keeps
 * dialling Google services and the sandboxed network refuses its connections.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface Browser {
  readonly context: BrowserContext
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>
}

/** Starts Chromium on a new empty profile, installing it first when it is missing. */
export async function launchChromium(): Promise<Browser> {
  const { stdout } = await run('bash', [join(repo, 'scripts/chromium-env.sh')], { timeout: 15 * 60_000 })
  const executablePath = stdout.trim().split('\n').at(-1) as string
  const profile = await mkdtemp(join(tmpdir(), 'ts-hamt-chromium-'))
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
      viewport: { width: 1000, height: 1100 },
    })
    return {
      context,
      async close() {
        await context.close()
        await rm(profile, { recursive: true, force: true, maxRetries: 3 })
      },
    }
  } catch (error) {
    await rm(profile, { recursive: true, force: true })
    throw error
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
}

export interface StaticServer {
  /** e.g. `http://127.0.0.1:40125` */
  readonly url: string
  close(): Promise<void>
}

/** Serves the files under `dir` on 127.0.0.1 (a free port); `/` is `index.html`. GET only. */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname)
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path))
    const reject = (status: number): void => {
      response.writeHead(status, { 'content-type': 'text/plain' }).end(String(status))
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return reject(405)
    if (!file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return reject(403)
    stat(file).then(
      (info) => {
        if (!info.isFile()) return reject(404)
        response.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': info.size,
        })
        if (request.method === 'HEAD') return response.end()
        createReadStream(file).pipe(response)
      },
      () => reject(404),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
