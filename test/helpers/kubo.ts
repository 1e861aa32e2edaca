// Starts real Kubo (IPFS) daemons for tests: each on its own temporary repo, listening on
// 127.0.0.1 only, with nothing that reaches beyond the machine (no bootstrap, mDNS, NAT
// port mapping, AutoConf, AutoTLS, routing or telemetry). The binary is built from the
// pinned Go module by scripts/kubo-env.sh and cached in .cache/kubo.

import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../..', import.meta.url))

/** How long a daemon may take to answer its RPC API after being spawned. */
const START_TIMEOUT_MS = 60_000
/** How long SIGTERM gets before SIGKILL. */
const STOP_GRACE_MS = 10_000
/** How many lines of the daemon's output an error message quotes. */
const TAIL_LINES = 40

export interface KuboOptions {
  /** Run with `--offline` (the default): no libp2p host, so no peers and no swarm port. */
  offline?: boolean
}

export interface KuboDaemon {
  /** Base URL of the RPC API, e.g. `http://127.0.0.1:40123` (POST `${rpcUrl}/api/v0/...`). */
  readonly rpcUrl: string
  /** Base URL of the HTTP gateway, e.g. `http://127.0.0.1:40124` (GET `${gatewayUrl}/ipfs/<cid>`). */
  readonly gatewayUrl: string
  readonly peerId: string
  /** Loopback swarm addresses ending in `/p2p/<peerId>`; empty when offline. */
  readonly multiaddrs: readonly string[]
  /** The temporary repo (IPFS_PATH). */
  readonly ipfsPath: string
  readonly offline: boolean
  /** Ends the daemon (SIGTERM, then SIGKILL) and deletes the repo. Safe to call twice. */
  stop(): Promise<void>
  /** Sends `signal` (default SIGKILL) and waits for the daemon to exit; keeps the repo, so `restart()` can follow. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Starts the daemon again (stopping it first if it runs) on the same repo and the same ports. */
  restart(): Promise<void>
}

let binary: Promise<string> | undefined

/** Path of the pinned `ipfs` binary, building it on first use (once per process). */
export function kuboBinary(): Promise<string> {
  binary ??= run('bash', [join(repo, 'scripts/kubo-env.sh')], {
    maxBuffer: 1 << 20,
    // A first build from a cold Go cache takes minutes on 2 cores.
    timeout: 30 * 60_000,
  }).then(
    ({ stdout }) => stdout.trim().split('\n').at(-1) as string,
    (error: Error & { stderr?: string }) => {
      binary = undefined // let a later call try again
      throw new Error(`scripts/kubo-env.sh failed: ${error.message}\n${error.stderr ?? ''}`)
    },
  )
  return binary
}

/** Starts a daemon on a fresh temporary repo; offline unless `offline: false`. */
export async function startKubo(options: KuboOptions = {}): Promise<KuboDaemon> {
  const bin = await kuboBinary()
  const offline = options.offline ?? true
  const ipfsPath = await mkdtemp(join(tmpdir(), 'ts-hamt-kubo-'))
  const daemon = new Daemon(bin, ipfsPath, offline)
  live.add(daemon)
  try {
    await initRepo(bin, ipfsPath)
    await daemon.start()
  } catch (error) {
    await daemon.stop()
    throw error
  }
  return daemon
}

/** Connects `a` to `b` over loopback (`swarm/connect`), so bitswap can move blocks between them. */
export async function connectPeers(a: KuboDaemon, b: KuboDaemon): Promise<void> {
  if (a.offline || b.offline) throw new Error('connectPeers needs two daemons started with offline: false')
  const addr = b.multiaddrs[0]
  if (addr === undefined) throw new Error(`daemon ${b.peerId} has no swarm address`)
  await rpc(a.rpcUrl, 'swarm/connect', { arg: addr })
}

/**
 * The CID a real Kubo's `add` gives `data` with py-hamt's parameters (BLAKE3, CIDv1, a `chunkSize`
 * chunker), labelled as py-hamt labels it: a single block gets the codec asked for, a file stays dag-pb.
 */
export async function kuboAddCid(
  rpcUrl: string,
  data: Uint8Array,
  codec: 'raw' | 'dag-cbor',
  chunkSize = 1 << 20,
  hash: 'blake3' | 'sha2-256' = 'blake3',
): Promise<CID> {
  const form = new FormData()
  form.append('file', new Blob([data as Uint8Array<ArrayBuffer>]))
  const params = new URLSearchParams({
    hash,
    chunker: `size-${chunkSize}`,
    pin: 'false',
    'cid-version': '1',
  })
  const response = await fetch(`${rpcUrl}/api/v0/add?${params}`, { method: 'POST', body: form })
  if (!response.ok) throw new Error(`add answered ${response.status}: ${await response.text()}`)
  const added = CID.parse(((await response.json()) as { Hash: string }).Hash)
  return added.code === dagPb.code
    ? added
    : CID.createV1(codec === 'raw' ? raw.code : dagCbor.code, added.multihash)
}

/** POSTs to the RPC API and returns the parsed JSON answer; throws with Kubo's message on failure. */
export async function rpc(
  rpcUrl: string,
  command: string,
  params: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<unknown> {
  const url = `${rpcUrl}/api/v0/${command}?${new URLSearchParams(params)}`
  const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) })
  const text = await response.text()
  if (!response.ok) throw new Error(`${command} answered ${response.status}: ${text.trim()}`)
  return text === '' ? undefined : JSON.parse(text)
}

// --- repo set-up ---------------------------------------------------------------------

/** Environment of every `ipfs` command: our repo, and telemetry off (Kubo's default is on). */
function kuboEnv(ipfsPath: string): NodeJS.ProcessEnv {
  return { ...process.env, IPFS_PATH: ipfsPath, IPFS_TELEMETRY: 'off' }
}

async function ipfs(bin: string, ipfsPath: string, args: string[]): Promise<string> {
  const { stdout } = await run(bin, args, { env: kuboEnv(ipfsPath), timeout: 30_000 })
  return stdout
}

/**
 * `--profile=test` already puts API, Gateway and Swarm on 127.0.0.1/tcp/0 and turns off
 * bootstrap, mDNS, NAT port mapping, AutoConf and AutoTLS. On top of that: no routing
 * (no DHT, no delegated HTTP routers; bitswap still asks directly connected peers), no
 * relays, and the telemetry plugin not even loaded.
 */
async function initRepo(bin: string, ipfsPath: string): Promise<void> {
  await ipfs(bin, ipfsPath, ['init', '--profile=test', '--empty-repo'])
  await setConfig(bin, ipfsPath, {
    'Routing.Type': 'none',
    'Swarm.RelayClient.Enabled': false,
    'Swarm.RelayService.Enabled': false,
    'Plugins.Plugins.telemetry.Disabled': true,
  })
}

async function setConfig(bin: string, ipfsPath: string, settings: Record<string, unknown>): Promise<void> {
  for (const [key, value] of Object.entries(settings)) {
    await ipfs(bin, ipfsPath, ['config', '--json', key, JSON.stringify(value)])
  }
}

/** Port of a `/ip4/127.0.0.1/tcp/<port>` multiaddr or a `http://127.0.0.1:<port>` URL. */
function portOf(address: string): number {
  const match = /(?:\/tcp\/|:)(\d+)(?:\/|$)/.exec(address.trim())
  if (match?.[1] === undefined) throw new Error(`no port in '${address}'`)
  return Number(match[1])
}

// --- the daemon process ----------------------------------------------------------------

/** Keeps the last lines of a stream, for error messages. */
class Tail {
  private readonly lines: string[] = []
  private partial = ''

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n')
    this.partial = parts.pop() ?? ''
    this.lines.push(...parts)
    this.lines.splice(0, Math.max(0, this.lines.length - TAIL_LINES))
  }

  toString(): string {
    return [...this.lines, this.partial].join('\n').trim()
  }
}

type Ports = { api: number; gateway: number; swarm: number | undefined }

/** Every daemon not yet stopped (its process may run, its repo exists), for the exit hook. */
const live = new Set<Daemon>()

class Daemon implements KuboDaemon {
  rpcUrl = ''
  gatewayUrl = ''
  peerId = ''
  multiaddrs: readonly string[] = []
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private ports: Ports | undefined
  private stopping: Promise<void> | undefined

  constructor(
    private readonly bin: string,
    readonly ipfsPath: string,
    readonly offline: boolean,
  ) {}

  /** Spawns the daemon and resolves once its RPC API answers `id`. */
  async start(): Promise<void> {
    if (this.stopping) throw new Error('this Kubo daemon was stopped; start a new one')
    await this.removeStaleAddressFiles()
    const stderr = new Tail()
    const stdout = new Tail()
    const child = spawn(this.bin, ['daemon', ...(this.offline ? ['--offline'] : [])], {
      env: kuboEnv(this.ipfsPath),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    // Kubo prints "Daemon is ready" once the API and the gateway listen.
    let banner = ''
    const ready = (): boolean => banner.includes('Daemon is ready')
    // Keep draining both pipes (a full pipe would block the daemon), but let a test process
    // that forgot stop() exit anyway: the exit hook kills what is left.
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      stdout.push(s)
      if (!ready()) banner += s
    })
    child.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s))
    unrefProcess(child)
    try {
      await this.waitUntilReady(child, ready)
    } catch (error) {
      await this.terminate()
      const detail = `stderr:\n${stderr}\nstdout:\n${stdout}`
      throw new Error(
        `Kubo daemon (IPFS_PATH=${this.ipfsPath}) did not start: ${(error as Error).message}\n${detail}`,
      )
    }
  }

  /**
   * Waits for "Daemon is ready" (printed after the API and gateway listen), then reads the
   * ports Kubo picked and checks the API with `POST /api/v0/id`.
   */
  private async waitUntilReady(child: ChildProcess, ready: () => boolean): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS
    let exitCode: number | null | undefined
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null)
    })
    for (;;) {
      if (exitCode !== undefined) throw new Error(`it exited early (code ${exitCode})`)
      if (Date.now() > deadline) throw new Error(`no answer within ${START_TIMEOUT_MS / 1000} s`)
      if (ready() && (await this.tryIdentify())) return
      await sleep(50)
    }
  }

  /** Reads the API and gateway addresses Kubo wrote into the repo, then asks `id`. */
  private async tryIdentify(): Promise<boolean> {
    try {
      const api = await readFile(join(this.ipfsPath, 'api'), 'utf8')
      const gateway = await readFile(join(this.ipfsPath, 'gateway'), 'utf8')
      this.rpcUrl = `http://127.0.0.1:${portOf(api)}`
      this.gatewayUrl = `http://127.0.0.1:${portOf(gateway)}`
      const id = (await rpc(this.rpcUrl, 'id', {}, 5_000)) as { ID: string; Addresses: string[] | null }
      this.peerId = id.ID
      // Only the TCP loopback addresses: those are the ones a sibling daemon can dial.
      this.multiaddrs = (id.Addresses ?? []).filter((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))
      this.ports ??= {
        api: portOf(api),
        gateway: portOf(gateway),
        swarm: this.multiaddrs[0] === undefined ? undefined : portOf(this.multiaddrs[0].split('/p2p/')[0]!),
      }
      return true
    } catch {
      return false
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running()) return
    this.child?.kill(signal)
    if (!(await this.waitForExit(STOP_GRACE_MS))) throw new Error(`Kubo daemon did not exit on ${signal}`)
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error('this Kubo daemon was stopped; start a new one')
    await this.terminate()
    await this.removeStaleAddressFiles()
    await this.pinPorts()
    await this.start()
  }

  /**
   * A daemon killed with SIGKILL leaves its `api` and `gateway` files behind. The `ipfs`
   * CLI would send `config` to that address (and hang if something else listens there now),
   * and the readiness check would take them for the new daemon's.
   */
  private async removeStaleAddressFiles(): Promise<void> {
    await Promise.all(['api', 'gateway'].map((f) => rm(join(this.ipfsPath, f), { force: true })))
  }

  /**
   * Writes the ports of the first start into the config, so a restarted daemon is reachable
   * at the same URLs. (The first start uses /tcp/0: the kernel picks free ports with no race.)
   */
  private async pinPorts(): Promise<void> {
    const ports = this.ports
    if (ports === undefined) throw new Error('the daemon never started, so it has no ports to keep')
    await setConfig(this.bin, this.ipfsPath, {
      'Addresses.API': `/ip4/127.0.0.1/tcp/${ports.api}`,
      'Addresses.Gateway': `/ip4/127.0.0.1/tcp/${ports.gateway}`,
      ...(ports.swarm === undefined ? {} : { 'Addresses.Swarm': [`/ip4/127.0.0.1/tcp/${ports.swarm}`] }),
    })
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.terminate()
      await rm(this.ipfsPath, { recursive: true, force: true, maxRetries: 3 })
      live.delete(this)
    })()
    return this.stopping
  }

  /** SIGTERM (Kubo shuts down cleanly), then SIGKILL if it takes longer than the grace time. */
  private async terminate(): Promise<void> {
    if (!this.running()) return
    this.child?.kill('SIGTERM')
    if (await this.waitForExit(STOP_GRACE_MS)) return
    this.child?.kill('SIGKILL')
    if (!(await this.waitForExit(STOP_GRACE_MS))) throw new Error('Kubo daemon survived SIGKILL')
  }

  private running(): boolean {
    const child = this.child
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }

  /**
   * Whether the process exited within `ms`. The timer also keeps the event loop alive
   * meanwhile: the child and its pipes are unref'd, so nothing else would.
   */
  private async waitForExit(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms)
    })
    const exited = await Promise.race([this.exited.then(() => true as const), timedOut])
    clearTimeout(timer)
    return exited
  }

  /** Synchronous last resort for the exit hook: SIGKILL and delete the repo. */
  killNow(): void {
    if (this.running()) this.child?.kill('SIGKILL')
    rmSync(this.ipfsPath, { recursive: true, force: true })
  }
}

function unrefProcess(child: ChildProcess): void {
  child.unref()
  for (const stream of [child.stdout, child.stderr]) {
    ;(stream as unknown as { unref?: () => void } | null)?.unref?.()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// Kill every daemon still alive when the test process ends, even after a failed test.
// 'exit' covers normal ends and process.exit(); SIGINT/SIGTERM (e.g. the test runner
// cancelling a file) would otherwise end the process without it, so those clean up and
// then end the process the way the signal would have.
function killAll(): void {
  for (const daemon of live) daemon.killNow()
  live.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.kill(process.pid, signal)
  })
}

/** KuboStore's options for a daemon's URLs (the Python drivers take the same URLs as `rpcUrl`/`gatewayUrl`). */
export function kuboOptions(urls: { rpcUrl: string; gatewayUrl: string }): {
  rpcUrl: string
  gateways: string
} {
  return { rpcUrl: urls.rpcUrl, gateways: urls.gatewayUrl }
}
