import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CID } from 'multiformats/cid'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** The `ts-hamt` binary as the package ships it (dist/cli/main.js); `npm test` builds it first. */
export const cliBinary = join(repo, 'dist/cli/main.js')

/** Builds dist/ when it is missing or older than the source (a test file run on its own after an edit). */
export async function ensureCliBuilt(): Promise<void> {
  if (existsSync(cliBinary) && statSync(cliBinary).mtimeMs >= newestSource(join(repo, 'src'))) return
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repo, timeout: 300_000 })
}

function newestSource(directory: string): number {
  let newest = 0
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** What a CLI run gave: its exit code (-1 when killed) and its output. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * The two runners a CLI test file uses in its scratch folder: `cli` (never throws) and `ok` (asserts
 * exit code 0, naming the command and its stderr, and gives stdout trimmed).
 */
export function cliRunners(cwd: string): {
  cli: (...args: string[]) => Promise<CliRun>
  ok: (...args: string[]) => Promise<string>
} {
  const cli = (...args: string[]): Promise<CliRun> => runCli(cwd, args)
  const ok = async (...args: string[]): Promise<string> => {
    const run = await cli(...args)
    assert.equal(run.code, 0, `ts-hamt ${args.join(' ')} failed: ${run.stderr}`)
    return run.stdout.trim()
  }
  return { cli, ok }
}

/** Runs the binary in `cwd` (so its default store is cwd/.ts-hamt) and never throws. */
export async function runCli(cwd: string, args: string[], timeout = 120_000): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliBinary, ...args], {
      cwd,
      timeout,
      env: { ...process.env, TS_HAMT_STORE: '' },
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr }
  }
}

/** A loopback gateway (and Kubo RPC stand-in) that answers a set number of block requests, then holds every request open. */
export interface HoldingGateway {
  url: string
  /** Block requests answered so far. */
  answered(): number
  /** Resolves once `count` requests have arrived (answered or held). */
  requests(count: number): Promise<void>
  close(): Promise<void>
}

/**
 * Serves `GET /ipfs/CID` from `source` for the first `answer` requests and holds every later request
 * (and every `POST /api/v0/…`) unanswered, so a command stops mid-work at a known point.
 */
export async function startHoldingGateway(
  source: { getBlock(cid: CID): Promise<Uint8Array> },
  answer: number,
): Promise<HoldingGateway> {
  let seen = 0
  let answered = 0
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    seen++
    for (const waiter of waiters.filter((w) => seen >= w.count)) waiter.resolve()
    const match = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')
    if (req.method !== 'GET' || match === null || answered >= answer) return // held
    answered++
    try {
      const bytes = await source.getBlock(CID.parse(match[1] as string))
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(bytes)
    } catch {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    answered: () => answered,
    requests: (count) =>
      seen >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A running `ts-hamt` process: its output so far and how it ended. */
export interface CliProcess {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once stderr has printed something (progress, say). */
  firstStderr: Promise<void>
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts the binary in `cwd` without waiting for it. */
export function spawnCli(args: string[], cwd: string): CliProcess {
  const child = spawn(process.execPath, [cliBinary, ...args], {
    cwd,
    env: { ...process.env, TS_HAMT_STORE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  const firstStderr = new Promise<void>((resolve) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      resolve()
    })
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, stdout: () => stdout, stderr: () => stderr, firstStderr, exit }
}
