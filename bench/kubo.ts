// Benchmarks ts-hamt's KuboStore against py-hamt 3.6.0's KuboCAS on a real Kubo daemon, and against the
// floor: `ipfs dag import` of exactly the blocks ts-hamt wrote. Every measurement gets its own fresh,
// offline, loopback daemon (test/helpers/kubo.ts), stopped afterwards. Writes bench/results/kubo.json and
// bench/results/kubo.md, and prints the markdown section.
// Usage: node --import tsx bench/kubo.ts [--sizes 10000,100000] [--gets 2000] [--seed 7] [--repo-dir DIR]
//   [--out NAME]
// --repo-dir puts the daemons' repos (and the CAR) in DIR instead of the OS temp dir, e.g. /dev/shm to take
// the disk out of the measurement: Kubo writes one file per block, and on a VM disk that dominates and varies.
// --out NAME writes bench/results/NAME.json and NAME.md (default kubo).
import { execFile, spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { CID } from 'multiformats/cid'
import { HAMT, KuboStore } from '../src/index.js'
import { type KuboDaemon, kuboBinary, startKubo } from '../test/helpers/kubo.js'
import { pyHamtPython } from '../test/helpers/python.js'
import { arg, markdownTable, seconds } from './common.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const sizes = arg('sizes', '10000,100000').split(',').map(Number)
const gets = Number(arg('gets', '2000'))
const seed = Number(arg('seed', '7'))
// Default: repos on RAM when the machine has /dev/shm. On this VM's disk the same dag import took
// 7-28 s from run to run (Kubo writes a file per block), which drowned what is being measured.
const repoDir = arg('repo-dir', existsSync('/dev/shm') ? '/dev/shm' : '')
const out = arg('out', 'kubo')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')
// startKubo makes its repos in os.tmpdir(), which follows TMPDIR.
if (repoDir !== '') process.env.TMPDIR = repoDir
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1) || !Number.isSafeInteger(gets) || gets < 0) {
  throw new Error('--sizes must be positive integers and --gets a non-negative integer')
}

const log = (message: string): void => {
  process.stderr.write(`bench/kubo: ${message}\n`)
}

/**
 * Runs `body` on a fresh daemon and stops the daemon afterwards, whatever happens. The `sync` after
 * deleting the repo writes back (and, on a disk mounted with `discard`, trims) the previous daemon's
 * ~100k block files before the next measurement starts, instead of during it.
 */
async function withDaemon<T>(body: (daemon: KuboDaemon) => Promise<T>): Promise<T> {
  const daemon = await startKubo()
  try {
    return await body(daemon)
  } finally {
    await daemon.stop()
    await run('sync')
  }
}

/** The `ipfs` CLI on a daemon's repo: with the daemon running it sends the command to its RPC API. */
function ipfsEnv(daemon: KuboDaemon): NodeJS.ProcessEnv {
  return { ...process.env, IPFS_PATH: daemon.ipfsPath, IPFS_TELEMETRY: 'off' }
}

/** A fetch that counts requests and adds up the block stats of every `dag/import` answer. */
function countingFetch() {
  const counts = { requests: 0, importedBlocks: 0, importedBytes: 0 }
  const counting: typeof fetch = async (input, init) => {
    counts.requests++
    const response = await fetch(input, init)
    if (String(input).includes('/api/v0/dag/import') && response.ok) {
      // Lines of JSON; the last is {"Stats":{"BlockCount":n,"BlockBytesCount":m}} with stats=true.
      for (const line of (await response.clone().text()).split('\n')) {
        const stats =
          line.trim() === '' ? undefined : (JSON.parse(line) as { Stats?: Record<string, number> }).Stats
        counts.importedBlocks += stats?.BlockCount ?? 0
        counts.importedBytes += stats?.BlockBytesCount ?? 0
      }
    }
    return response
  }
  return { counts, fetch: counting }
}

/** `key-<i>` for GETS random i below n (a seeded LCG, as bench/hamt-worker.ts), chosen before any clock. */
function randomKeys(n: number): string[] {
  let state = seed
  return Array.from({ length: gets }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return `key-${Math.floor((state / 2 ** 31) * n)}`
  })
}

type TsResult = {
  impl: 'ts-hamt KuboStore'
  n: number
  setSeconds: number
  flushSeconds: number
  writeRequests: number
  uploadedBlocks: number
  uploadedBytes: number
  gets: number
  getSeconds: number
  getRequests: number
  root: string
  carBytes: number
}

/** ts-hamt on its own daemon; exports what it wrote into `car` before the daemon stops. */
async function benchTsHamt(n: number, car: string): Promise<TsResult> {
  return withDaemon(async (daemon) => {
    const writer = countingFetch()
    const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, fetch: writer.fetch })
    const map = await HAMT.create<number>({ store })
    let start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await map.set(`key-${i}`, i)
    const setSeconds = seconds(start)
    start = process.hrtime.bigint()
    const root = (await map.flush()) as CID
    const flushSeconds = seconds(start)

    const reader = countingFetch()
    const readStore = new KuboStore({
      rpcUrl: daemon.rpcUrl,
      gateways: daemon.gatewayUrl,
      fetch: reader.fetch,
    })
    const keys = randomKeys(n)
    start = process.hrtime.bigint()
    const readMap = await HAMT.open<number>(root, { store: readStore, readOnly: true })
    for (const key of keys) {
      if ((await readMap.get(key)) !== Number(key.slice(4)))
        throw new Error(`ts-hamt read back a wrong ${key}`)
    }
    const getSeconds = seconds(start)

    await dagExport(daemon, root, car)
    return {
      impl: 'ts-hamt KuboStore',
      n,
      setSeconds,
      flushSeconds,
      writeRequests: writer.counts.requests,
      uploadedBlocks: writer.counts.importedBlocks,
      uploadedBytes: writer.counts.importedBytes,
      gets,
      getSeconds,
      getRequests: reader.counts.requests,
      root: root.toString(),
      carBytes: (await stat(car)).size,
    }
  })
}

/** `ipfs dag export <root> > car`: the root and every block it links to, recursively. */
async function dagExport(daemon: KuboDaemon, root: CID, car: string): Promise<void> {
  const child = spawn(await kuboBinary(), ['dag', 'export', root.toString()], {
    env: ipfsEnv(daemon),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s
  })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  // Wait for the file to be fully written too, not only for the process to end.
  const [code] = await Promise.all([exited, pipeline(child.stdout, createWriteStream(car))])
  if (code !== 0) throw new Error(`ipfs dag export ${root} exited ${code}: ${stderr.trim()}`)
}

type PyResult = {
  impl: string
  n: number
  setSeconds: number
  flushSeconds: number
  gets: number
  getSeconds: number
  peakRssBytes: number
  root: string
}

async function benchPyHamt(n: number): Promise<PyResult> {
  const python = await pyHamtPython()
  return withDaemon(async (daemon) => {
    const { stdout } = await run(
      python,
      [
        '-W',
        'ignore',
        'bench/pyhamt_kubo_bench.py',
        daemon.rpcUrl,
        daemon.gatewayUrl,
        String(n),
        String(gets),
        String(seed),
      ],
      { cwd: repo, maxBuffer: 1 << 24, timeout: 4 * 3_600_000 },
    )
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as PyResult
  })
}

type FloorResult = { seconds: number; blocks: number; bytes: number; cliOverheadSeconds: number }

/**
 * The floor: `ipfs dag import --pin-roots=false --stats <car>` of ts-hamt's blocks into a fresh daemon,
 * timed around the CLI process. `cliOverheadSeconds` is the time of `ipfs id` (CLI start plus one RPC
 * round trip) on the same daemon: the part of the floor that is not the import itself.
 */
async function benchFloor(car: string): Promise<FloorResult> {
  const bin = await kuboBinary()
  return withDaemon(async (daemon) => {
    const options = { env: ipfsEnv(daemon), maxBuffer: 1 << 20, timeout: 3_600_000 }
    let start = process.hrtime.bigint()
    await run(bin, ['id'], options)
    const cliOverheadSeconds = seconds(start)
    start = process.hrtime.bigint()
    const { stdout } = await run(bin, ['dag', 'import', '--pin-roots=false', '--stats', car], options)
    const importSeconds = seconds(start)
    const match = /Imported (\d+) blocks \((\d+) bytes\)/.exec(stdout)
    if (match === null) throw new Error(`unexpected output of ipfs dag import: ${stdout.trim()}`)
    return { seconds: importSeconds, blocks: Number(match[1]), bytes: Number(match[2]), cliOverheadSeconds }
  })
}

type Row = { n: number; ts: TsResult; py: PyResult; floor: FloorResult }
const rows: Row[] = []
const work = await mkdtemp(join(os.tmpdir(), 'ts-hamt-bench-kubo-'))
try {
  for (const n of sizes) {
    const car = join(work, `ts-hamt-${n}.car`)
    log(`ts-hamt with ${n} keys…`)
    const ts = await benchTsHamt(n, car)
    log(
      `  write ${(ts.setSeconds + ts.flushSeconds).toFixed(2)} s, ${ts.writeRequests} requests; root ${ts.root}`,
    )
    log(`py-hamt with ${n} keys…`)
    const py = await benchPyHamt(n)
    log(`  write ${(py.setSeconds + py.flushSeconds).toFixed(2)} s; root ${py.root}`)
    if (py.root !== ts.root) {
      throw new Error(`roots differ on Kubo at ${n} keys: ts-hamt ${ts.root}, py-hamt ${py.root}`)
    }
    log(`floor: dag import of ${(ts.carBytes / 2 ** 20).toFixed(1)} MiB CAR…`)
    const floor = await benchFloor(car)
    log(`  ${floor.seconds.toFixed(2)} s for ${floor.blocks} blocks`)
    if (floor.blocks !== ts.uploadedBlocks) {
      // Not fatal: ts-hamt may upload a block twice across batches, or one no longer reachable.
      log(`  note: ts-hamt uploaded ${ts.uploadedBlocks} blocks, the root reaches ${floor.blocks}`)
    }
    rows.push({ n, ts, py, floor })
  }
} finally {
  await rm(work, { recursive: true, force: true })
}

const fixed = (x: number, digits = 2): string => x.toFixed(digits)
const times = (x: number): string => `${x.toFixed(1)}×`
const micros = (secondsTotal: number, ops: number): string =>
  ops === 0 ? '–' : fixed((secondsTotal / ops) * 1e6, 0)
const tsWrite = (r: Row): number => r.ts.setSeconds + r.ts.flushSeconds
const pyWrite = (r: Row): number => r.py.setSeconds + r.py.flushSeconds

/** A markdown table of right-aligned columns, padded the way biome formats markdown. */

const table = rows.map((r) => [
  r.n.toLocaleString('en'),
  fixed(tsWrite(r)),
  fixed(pyWrite(r)),
  times(pyWrite(r) / tsWrite(r)),
  fixed(r.floor.seconds),
  times(tsWrite(r) / r.floor.seconds),
  String(r.ts.writeRequests),
  micros(r.ts.getSeconds, gets),
  micros(r.py.getSeconds, gets),
  gets === 0 ? '–' : times(r.py.getSeconds / r.ts.getSeconds),
])
const raw = rows.map((r) => [
  r.n.toLocaleString('en'),
  fixed(r.ts.setSeconds),
  fixed(r.ts.flushSeconds),
  fixed(r.py.setSeconds),
  fixed(r.py.flushSeconds),
  r.floor.blocks.toLocaleString('en'),
  r.floor.bytes < 2 ** 20
    ? `${fixed(r.floor.bytes / 2 ** 10, 0)} KiB`
    : `${fixed(r.floor.bytes / 2 ** 20, 1)} MiB`,
  fixed(r.floor.cliOverheadSeconds),
  String(r.ts.getRequests),
])

const markdown = `## On a Kubo daemon

Generated by \`node --import tsx bench/kubo.ts${repoDir === '' ? '' : ` --repo-dir ${repoDir}`}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, Kubo v0.43.0,
daemon repos in ${repoDir === '' ? `the OS temp dir (${os.tmpdir()})` : repoDir}.
Raw numbers: [bench/results/${out}.json](bench/results/${out}.json).

- Each measurement gets its own fresh Kubo daemon (offline, loopback, empty repo), on the same machine in the same run.
- **Write**: set \`key-0\`…\`key-{n-1}\` to the integers 0…n-1 and flush, with default options on both sides:
  ts-hamt \`KuboStore\` (blocks buffered, sent as CARs to \`dag/import\`) + \`flush()\`; py-hamt 3.6.0
  \`KuboCAS\` (one \`add\` request per block) + \`make_read_only()\`. Both produce the same root CID (checked).
- **Floor**: \`ipfs dag import --pin-roots=false --stats\` of a CAR holding exactly the blocks ts-hamt's root
  reaches (\`ipfs dag export\` of it), into a fresh daemon, timed around the CLI process (its start included).
- **Get**: ${gets.toLocaleString('en')} random gets, one after the other, on the map reopened read-only at its root with a fresh
  store (cold cache), every block read from the daemon's HTTP gateway.
- Ratios: py/ts is how many times faster ts-hamt is; ts/floor is how far ts-hamt's write is above the floor.

${markdownTable(
  [
    'keys',
    'ts-hamt write s',
    'py-hamt write s',
    'py/ts',
    'dag import floor s',
    'ts/floor',
    'ts-hamt HTTP requests (write)',
    'ts-hamt get µs/op',
    'py-hamt get µs/op',
    'py/ts',
  ],
  table,
)}

Raw: set and flush seconds of each, the blocks the root reaches, the CLI's own cost (\`ipfs id\` on the
same daemon) inside the floor, and ts-hamt's HTTP requests for the gets.

${markdownTable(
  [
    'keys',
    'ts set',
    'ts flush',
    'py set',
    'py flush',
    'blocks',
    'block bytes',
    'CLI overhead s',
    'ts get requests',
  ],
  raw,
)}
`

await writeFile(
  `${repo}/bench/results/${out}.json`,
  `${JSON.stringify({ date: new Date().toISOString(), kubo: 'v0.43.0', repoDir: os.tmpdir(), gets, seed, rows }, null, 2)}\n`,
)
await writeFile(`${repo}/bench/results/${out}.md`, markdown)
process.stdout.write(markdown)
log(`wrote bench/results/${out}.json and bench/results/${out}.md`)
