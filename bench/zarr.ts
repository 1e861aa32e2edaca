// Benchmarks reading a Zarr v3 dataset from a Kubo daemon: ts-hamt + zarrita against py-hamt 3.6.0 +
// zarr 3 + xarray, on the same dataset (written once by py-hamt, bench/pyhamt_zarr_bench.py) and the same
// daemon. Every read runs in a fresh process (cold caches: new store, map and HTTP connections). Timed
// reads go straight to the daemon's gateway; one more read of each kind goes through a fresh counting
// proxy (test/helpers/proxy.ts), so every reader's requests are counted the same way. Writes
// bench/results/NAME.json and NAME.md and prints the markdown section.
// Usage: node --import tsx bench/zarr.ts [--runs 3] [--lat 100] [--lon 500] [--repo-dir DIR] [--out NAME]
// --runs: each (reader, task) is measured that many times, readers alternating which goes first; the
// tables show medians. --repo-dir: where the daemon's repo goes (default /dev/shm when it exists).
// ts-hamt reads in three setups (see `setups`): its defaults in Node (the root's Node entry), with ts-hamt/node
// (node:http fetch; zstd and BLAKE3 where nodeWorkers puts them: native where the runtime has them, else on
// its worker threads), and that without block verification (as py-hamt reads).
// Each ts-hamt read runs bench/zarr-read.ts, bundled to plain JavaScript, in a new process.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CID } from 'multiformats/cid'
import { type ContentAddressedStore, HAMT, KuboStore, type LoadOptions, type StoreId } from '../src/index.js'
import type { KuboDaemon } from '../test/helpers/kubo.js'
import { arg, bundleForNode, markdownTable } from './common.js'
import { type ReadResult, type Setup, setups, type Task, type TsTask } from './zarr-read.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const readerScript = fileURLToPath(new URL('zarr-read.ts', import.meta.url))
// The reader runs as plain JavaScript, as users run the package: under tsx (which runs the TypeScript
// sources) every module imported during the timed read (zarrita loads its codecs on first use) went
// through tsx's resolver and transform, ~14% of the main thread's CPU samples in the read.
// Bundled here with our sources inlined and packages left to Node (so it sits inside the repo).
const readerBundle = await bundleForNode(readerScript)

// --- the benchmark -----------------------------------------------------------------------------

const { startKubo } = await import('../test/helpers/kubo.js')
const { startProxy } = await import('../test/helpers/proxy.js')
const { pyHamtPython } = await import('../test/helpers/python.js')

const runs = Number(arg('runs', '3'))
const lat = Number(arg('lat', '100'))
const lon = Number(arg('lon', '500'))
const repoDir = arg('repo-dir', existsSync('/dev/shm') ? '/dev/shm' : '')
const out = arg('out', 'zarr')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')
if (![runs, lat, lon].every((n) => Number.isSafeInteger(n) && n >= 0) || runs < 1) {
  throw new Error('--runs must be a positive integer, --lat and --lon non-negative integers')
}
// startKubo makes its repo in os.tmpdir(), which follows TMPDIR: on RAM, off the VM's noisy disk.
if (repoDir !== '') process.env.TMPDIR = repoDir
const log = (message: string): void => {
  process.stderr.write(`bench/zarr: ${message}\n`)
}

const python = await pyHamtPython()
const pyScript = `${repo}/bench/pyhamt_zarr_bench.py`
const RTOL = 1e-9

/** Runs bench/pyhamt_zarr_bench.py and parses its last line of output. */
async function py<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(python, ['-W', 'ignore', pyScript, ...args], {
    cwd: repo,
    maxBuffer: 1 << 26,
    timeout: 3_600_000,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T
}

type WriteResult = {
  root: string
  bytes: number
  seconds: number
  checksum: number
  shape: number[]
  chunks: number[]
}

/** A store that records the ID of every block loaded through it. */
class RecordingStore implements ContentAddressedStore {
  readonly loaded = new Set<string>()
  constructor(private readonly inner: ContentAddressedStore) {}
  save(): Promise<StoreId> {
    throw new Error('read only')
  }
  load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    this.loaded.add(String(id))
    return this.inner.load(id, options)
  }
}

type Blocks = { total: number; hamtNodes: number; values: number }

/**
 * The blocks that reading `keys` must touch: the HAMT nodes from the root down to each key and the
 * value blocks themselves, counted from the CIDs a fresh map loads (nodes are dag-cbor, values raw).
 */
async function blocksFor(gatewayUrl: string, root: string, keys: string[]): Promise<Blocks> {
  const store = new RecordingStore(new KuboStore({ rpcUrl: null, gateways: gatewayUrl }))
  const map = await HAMT.open<Uint8Array>(CID.parse(root), { store, readOnly: true, valuesAreBytes: true })
  for (const key of keys) {
    if ((await map.get(key)) === undefined) throw new Error(`${key} is not in the map`)
  }
  const cids = [...store.loaded].map((s) => CID.parse(s))
  const hamtNodes = cids.filter((c) => c.code === 0x71).length
  return { total: cids.length, hamtNodes, values: cids.length - hamtNodes }
}

type Reader = Setup | 'py'
type Counted = ReadResult & { requests: number; distinctBlocks: number }

/** One cold read of `task` by `reader` against `gatewayUrl`, in a fresh process. */
async function read(reader: Reader, task: TsTask, rpcUrl: string, gatewayUrl: string, root: string) {
  if (reader !== 'py') {
    const args = [readerBundle, task, gatewayUrl, root, String(lat), String(lon), reader]
    const { stdout } = await run(process.execPath, args, {
      cwd: repo,
      maxBuffer: 1 << 26,
      timeout: 3_600_000,
    })
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ReadResult
  }
  if (task === 'fetch') throw new Error('the fetch-only read is ts-hamt only')
  if (task === 'all') {
    const r = await py<ReadResult & { checksum: number }>('read-all', rpcUrl, gatewayUrl, root)
    return { ...r, sum: r.checksum }
  }
  return py<ReadResult>('read-point', rpcUrl, gatewayUrl, root, String(lat), String(lon))
}

/** The same read through a fresh counting proxy in front of the gateway: requests and distinct CIDs. */
async function counted(reader: Reader, task: Task, daemon: KuboDaemon, root: string): Promise<Counted> {
  const proxy = await startProxy(daemon.gatewayUrl)
  try {
    const result = await read(reader, task, daemon.rpcUrl, proxy.url, root)
    const cids = new Set(
      proxy.seen.map((r) => {
        const match = /^\/ipfs\/([^/?#]+)/.exec(r.url)
        if (match === null) throw new Error(`unexpected request ${r.method} ${r.url}`)
        return CID.parse(match[1] as string).toString()
      }),
    )
    return { ...result, requests: proxy.seen.length, distinctBlocks: cids.size }
  } finally {
    await proxy.close()
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const close = (a: number, b: number): boolean => Math.abs(a - b) <= RTOL * Math.max(Math.abs(a), Math.abs(b))

const tasks: Task[] = ['all', 'point']
const tsReaders = Object.keys(setups) as Setup[]
const readers: Reader[] = [...tsReaders, 'py']
const perReader = <T>(): Record<Reader, T[]> => ({
  default: [],
  dataset: [],
  node: [],
  nodeUnverified: [],
  py: [],
})
const results: Record<Task, Record<Reader, ReadResult[]>> = { all: perReader(), point: perReader() }
const counts: Record<Task, Record<Reader, Counted[]>> = { all: perReader(), point: perReader() }
const fetchSetups = ['node', 'nodeUnverified'] as const
const fetchOnly: Record<(typeof fetchSetups)[number], ReadResult[]> = { node: [], nodeUnverified: [] }
let write: WriteResult
let minimum: { all: Blocks; point: Blocks; pointWithCoords: Blocks; chunkKeys: string[] }

/**
 * CPU seconds the daemon has used so far, from /proc (Linux; the pid found by its gateway port with
 * ss), or undefined where that is not available: the read's other CPU bill, on the same cores.
 */
async function daemonCpuReader(gatewayUrl: string): Promise<() => Promise<number | undefined>> {
  const port = new URL(gatewayUrl).port
  const pid = await run('ss', ['-ltnpH', `sport = :${port}`]).then(
    ({ stdout }) => /pid=(\d+)/.exec(stdout)?.[1],
    () => undefined,
  )
  const ticks = await run('getconf', ['CLK_TCK']).then(
    ({ stdout }) => Number(stdout),
    () => 100,
  )
  return async () => {
    if (pid === undefined) return undefined
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / ticks // utime, stime
  }
}

const daemon = await startKubo()
try {
  const daemonCpu = await daemonCpuReader(daemon.gatewayUrl)
  log(`writing the dataset with py-hamt (daemon repo in ${os.tmpdir()})…`)
  write = await py<WriteResult>('write', daemon.rpcUrl, daemon.gatewayUrl)
  log(`  ${(write.bytes / 1e6).toFixed(1)} MB in ${write.seconds.toFixed(2)} s; root ${write.root}`)

  // The minimum of each read: temp's metadata and the chunks it needs (chunk keys in zarr v3's default
  // encoding, "c/" and "/"), with the HAMT nodes above them. A point lies in one chunk per time step of
  // chunks.
  const grid = write.shape.map((n, i) => Math.ceil(n / (write.chunks[i] as number))) as [
    number,
    number,
    number,
  ]
  const [, cy, cx] = write.chunks as [number, number, number]
  const allKeys: string[] = []
  for (let t = 0; t < grid[0]; t++) {
    for (let y = 0; y < grid[1]; y++) for (let x = 0; x < grid[2]; x++) allKeys.push(`temp/c/${t}/${y}/${x}`)
  }
  const chunkKeys = Array.from({ length: grid[0] }, (_, t) => {
    return `temp/c/${t}/${Math.floor(lat / cy)}/${Math.floor(lon / cx)}`
  })
  const all = await blocksFor(daemon.gatewayUrl, write.root, ['temp/zarr.json', ...allKeys])
  const point = await blocksFor(daemon.gatewayUrl, write.root, ['temp/zarr.json', ...chunkKeys])
  // What xarray needs on top for the same read: the group's metadata and the coordinates it indexes by.
  const coords = ['time', 'lat', 'lon'].flatMap((c) => [`${c}/zarr.json`, `${c}/c/0`])
  const pointWithCoords = await blocksFor(daemon.gatewayUrl, write.root, [
    'zarr.json',
    'temp/zarr.json',
    ...coords,
    ...chunkKeys,
  ])
  minimum = { all, point, pointWithCoords, chunkKeys }
  log(`  a point read needs ${point.total} blocks (${point.hamtNodes} HAMT nodes, ${point.values} values)`)

  for (let r = 0; r < runs; r++) {
    for (const task of tasks) {
      for (const reader of r % 2 === 0 ? readers : [...readers].reverse()) {
        const before = await daemonCpu()
        const m = await read(reader, task, daemon.rpcUrl, daemon.gatewayUrl, write.root)
        const after = await daemonCpu()
        // The whole read, process start included: an upper bound of what the timed part cost Kubo.
        if (before !== undefined && after !== undefined) m.daemonCpuSeconds = after - before
        results[task][reader].push(m)
        log(
          `run ${r + 1}/${runs} ${task} ${reader}: ${m.seconds.toFixed(3)} s (open ${m.openSeconds.toFixed(3)})`,
        )
      }
    }
  }
  // What fetching alone costs: every chunk's bytes, verified or not, with ts-hamt/node's fetch.
  for (let r = 0; r < runs; r++) {
    for (const setup of fetchSetups) {
      const m = await read(setup, 'fetch', daemon.rpcUrl, daemon.gatewayUrl, write.root)
      fetchOnly[setup].push(m)
      log(`run ${r + 1}/${runs} fetch only ${setup}: ${m.seconds.toFixed(3)} s, ${m.sum} bytes`)
    }
  }
  for (const task of tasks) {
    for (const reader of readers) {
      const m = await counted(reader, task, daemon, write.root)
      counts[task][reader].push(m)
      log(
        `counted ${task} ${reader}: ${m.seconds.toFixed(3)} s through the proxy, ` +
          `${m.requests} requests, ${m.distinctBlocks} blocks`,
      )
    }
  }
} finally {
  await daemon.stop()
}

// Every reader must agree with what was written, and with each other on the point's series.
for (const reader of readers) {
  for (const m of [...results.all[reader], ...counts.all[reader]]) {
    if (!close(m.sum, write.checksum)) {
      throw new Error(`${reader} full read sums to ${m.sum}, the writer's data to ${write.checksum}`)
    }
  }
}
const series = results.point.default[0]?.values ?? []
if (series.length !== write.shape[0]) throw new Error(`ts point series has ${series.length} values`)
for (const reader of readers) {
  for (const m of [...results.point[reader], ...counts.point[reader]]) {
    if (JSON.stringify(m.values) !== JSON.stringify(series)) {
      throw new Error(
        `${reader} point series differs: ${JSON.stringify(m.values)} vs ${JSON.stringify(series)}`,
      )
    }
  }
}
log('checks passed: every reader matches the written checksum and each other on the point series')

type Summary = {
  seconds: number
  openSeconds: number
  readSeconds: number
  cpuSeconds: number
  /** The main thread's CPU seconds (Node 23.9+; undefined elsewhere and for py-hamt). */
  mainCpuSeconds: number | undefined
  daemonCpuSeconds: number | undefined
  proxiedSeconds: number
  requests: number
  blocks: number
}
const summarize = (task: Task, reader: Reader): Summary => {
  const ms = results[task][reader]
  const c = counts[task][reader][0] as Counted
  return {
    seconds: median(ms.map((m) => m.seconds)),
    openSeconds: median(ms.map((m) => m.openSeconds)),
    readSeconds: median(ms.map((m) => m.readSeconds)),
    cpuSeconds: median(ms.map((m) => m.cpuSeconds)),
    mainCpuSeconds: ms.every((m) => m.mainCpuSeconds !== undefined)
      ? median(ms.map((m) => m.mainCpuSeconds as number))
      : undefined,
    daemonCpuSeconds: ms.every((m) => m.daemonCpuSeconds !== undefined)
      ? median(ms.map((m) => m.daemonCpuSeconds as number))
      : undefined,
    proxiedSeconds: c.seconds,
    requests: c.requests,
    blocks: c.distinctBlocks,
  }
}
const summarizeTask = (task: Task) =>
  Object.fromEntries(readers.map((reader) => [reader, summarize(task, reader)])) as Record<Reader, Summary>
const summary = { all: summarizeTask('all'), point: summarizeTask('point') }

const fixed = (x: number, digits = 2): string => x.toFixed(digits)
const times = (x: number): string => `${x.toFixed(1)}×`
const label: Record<Task, string> = {
  all: 'full read of temp',
  point: `point read (lat ${lat}, lon ${lon})`,
}
const mb = (write.bytes / 1e6).toFixed(1)
const [nt, ny, nx] = write.shape
const [ct, cy, cx] = write.chunks
const nChunks = write.shape.reduce((n, s, i) => n * Math.ceil(s / (write.chunks[i] as number)), 1)
const digits = (task: Task): number => (task === 'all' ? 2 : 3)

const readerLabel: Record<Reader, string> = { ...setups, py: 'py-hamt + xarray' }
/** One row per task and reader: seconds, ratio to py-hamt, where the time goes, requests and blocks. */
const rows = tasks.flatMap((task) =>
  readers.map((reader) => {
    const m = summary[task][reader]
    return [
      reader === readers[0] ? label[task] : '',
      readerLabel[reader],
      fixed(m.seconds, digits(task)),
      reader === 'py' ? '' : times(summary[task].py.seconds / m.seconds),
      fixed(m.openSeconds, 3),
      fixed(m.readSeconds, 3),
      fixed(m.cpuSeconds, digits(task)),
      m.mainCpuSeconds === undefined ? '' : fixed(m.mainCpuSeconds, digits(task)),
      m.daemonCpuSeconds === undefined ? '' : fixed(m.daemonCpuSeconds, 2),
      fixed(m.proxiedSeconds, digits(task)),
      String(m.requests),
      String(m.blocks),
    ]
  }),
)
const ratio = (reader: Setup): number => summary.all.py.seconds / summary.all[reader].seconds
const bestSetup = tsReaders
  .filter((r) => r !== 'nodeUnverified')
  .reduce((a, b) => (ratio(a) >= ratio(b) ? a : b))
const fullRatio = ratio(bestSetup)
const fetchSeconds = (setup: (typeof fetchSetups)[number]): number =>
  median(fetchOnly[setup].map((m) => m.seconds))
const fetchCpu = (setup: (typeof fetchSetups)[number]): number =>
  median(fetchOnly[setup].map((m) => m.cpuSeconds))
const compressedBytes = fetchOnly.node[0]?.sum ?? 0
// The dataset API reads the group and the coordinates at open, as xarray does: not held to the minimum.
const pointMinimal = tsReaders
  .filter((r) => r !== 'dataset')
  .every((r) => summary.point[r].requests <= minimum.point.total)

// What registerZstdCodec() picks on this Node (src/zstd/node.ts): zlib where it has zstd.
const zstdDefault =
  typeof ((await import('node:zlib')) as { zstdDecompress?: unknown }).zstdDecompress === 'function'
    ? "Node's `zlib` on libuv's threads"
    : "zstddec's WebAssembly build in the main thread, what a browser gets"
// What the Node entry verifies with (src/node/native-blake3.ts): the native package where it is installed.
const blake3Default =
  (await import('../src/node/native-blake3.js')).nativeBlake3Digest() === undefined
    ? 'hash-wasm in the main thread (@napi-rs/blake-hash is not installed)'
    : '@napi-rs/blake-hash (native) in the main thread'
// What nodeWorkers() picks on this Node (src/node/workers.ts): the native paths where they are, else its threads.
const workerThreads = `${Math.min(Math.max(os.availableParallelism() - 1, 1), 4)} worker thread(s)`
const workersSetup = [
  zstdDefault.startsWith("Node's")
    ? "zstd by Node's `zlib`"
    : `zstd by @foxglove/wasm-zstd on ${workerThreads}`,
  blake3Default.startsWith('@napi-rs')
    ? 'BLAKE3 by @napi-rs/blake-hash in the main thread'
    : `BLAKE3 of blocks over 64 KiB by hash-wasm on ${workerThreads}`,
].join(', ')
const markdown = `## Zarr: reading a dataset from Kubo

Generated by \`node --import tsx bench/zarr.ts${runs === 3 ? '' : ` --runs ${runs}`}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, Kubo v0.43.0,
daemon repo in ${repoDir === '' ? `the OS temp dir (${os.tmpdir()})` : repoDir}.
Raw numbers: [bench/results/${out}.json](bench/results/${out}.json).

- **Dataset**: written once by py-hamt 3.6.0 with xarray (\`ds.to_zarr(ZarrHAMTStore(…), zarr_format=3)\` over
  \`KuboCAS\`, ${fixed(write.seconds, 1)} s) into a fresh offline daemon: \`temp\`, float32, ${nt} × ${ny} × ${nx} (${mb} MB
  uncompressed), chunks ${ct} × ${cy} × ${cx} (${nChunks} chunks), zstd level 3; a smooth field plus seeded noise;
  coordinates time (int64), lat and lon (float32). Every reader reads these same blocks.
- **Readers**: ts-hamt \`KuboStore\` (gateway only; every block verified against its CID), \`HAMT.open\`,
  zarrita \`zarr.open\` of \`temp\` and \`zarr.get\`, in three setups, and the dataset API: _${setups.default}_, its defaults in Node
  (\`import 'ts-hamt'\` resolves to its Node entry: one shared \`nodeHttpFetch()\`, BLAKE3 by ${blake3Default};
  \`registerZstdCodec()\` of \`ts-hamt/zstd\`, which decodes with ${zstdDefault}); _${setups.dataset}_, the same defaults
  (its Node entry) through \`openDataset(root, { gateways })\` (a \`TrustlessGatewayStore\`; metadata and coordinates
  read at open, as xarray does) and \`variable('temp').load()\` or \`.isel({ lat, lon }).load()\` (CF-decoded doubles); _${setups.node}_, with \`nodeHttpFetch()\` and \`nodeWorkers()\` for
  \`fetch\`, \`blake3Digest\` and the zstd decoder (node:http keep-alive requests; ${workersSetup}, created inside the timed read); _${setups.nodeUnverified}_, the same
  without checking blocks against their CIDs, as py-hamt reads. py-hamt, with its defaults: \`KuboCAS\` (no content
  verification), a read-only \`HAMT\`, \`ZarrHAMTStore\`, \`xarray.open_zarr(…, zarr_format=3, consolidated=False)\`
  and \`.values\` (zarr 3.0.9 without dask: zarr's own concurrency, 10 by default).
- **Cold**: every read runs in a new process with a new store and map (ts-hamt's as plain JavaScript, bundled
  with esbuild, not through tsx). Seconds are measured inside the process,
  from opening the map to having the values (process start and imports excluded), straight against the daemon's
  gateway; medians of ${runs} runs, the readers alternating which goes first. The daemon's own caches are warm for
  every reader after the first read.
- **Requests**: one more read of each kind through a fresh counting HTTP proxy in front of the gateway
  (\`test/helpers/proxy.ts\`, the same counter for all); blocks are the distinct CIDs among the requests. The
  proxy buffers every answer and shares the CPU, so reads through it are slower; their seconds are in the proxied
  column only.
- **Checks**: every full read sums (float64) to the written data's sum within ${RTOL} relative; every point read
  gives the same ${nt} values.
- **Point read**: \`temp[:, ${lat}, ${lon}]\`, which lies in ${minimum.chunkKeys.length} chunks (one per ${ct} time steps). Its
  minimum is the blocks a fresh map loads to get \`temp/zarr.json\` and those chunks: ${minimum.point.hamtNodes} HAMT node(s) from
  the root down and ${minimum.point.values} values, ${minimum.point.total} in all. xarray also reads the group's and the coordinates'
  metadata and the coordinates' chunks (it indexes by them): with those, ${minimum.pointWithCoords.total}.
- py/this is how many times faster than py-hamt a reader is; open is the map and the array's metadata, read
  the values; CPU s the reading process's CPU time in that time, every thread, user and system (not the
  daemon's), main CPU s its main thread's alone (Node 23.9+); Kubo CPU s the daemon's, over the whole read including the reader's start (so an upper
  bound; 10 ms resolution); proxied is the read through the counting proxy. Minimum blocks: ${minimum.all.total} for the full read
  (root, HAMT nodes, \`temp/zarr.json\`, the chunks), ${minimum.point.total} for the point read (${minimum.pointWithCoords.total} with xarray's extra
  metadata and coordinates). Targets: the full read at least 2× py-hamt, with verification
  (${fullRatio >= 2 ? 'met' : 'not met'}: ${times(fullRatio)} with ${setups[bestSetup]}, ${times(ratio('default'))} with ${setups.default}, ${times(ratio('nodeUnverified'))} unverified); a point
  read that fetches no more blocks than needed (${pointMinimal ? 'met' : 'not met'}: ${summary.point.default.requests} requests for ${minimum.point.total} blocks).

${markdownTable(['task', 'reader', 'seconds', 'py/this', 'open s', 'read s', 'CPU s', 'main CPU s', 'Kubo CPU s', 'proxied s', 'requests', 'blocks'], rows)}

Fetching alone (every chunk's ${(compressedBytes / 1e6).toFixed(1)} MB of compressed bytes to the main thread through \`ZarrHAMTStore.get\`, all at once,
neither decoded nor assembled; ${setups.node}'s fetch; medians of ${runs}): ${fixed(fetchSeconds('node'))} s verified, ${fixed(fetchSeconds('nodeUnverified'))} s
unverified (CPU ${fixed(fetchCpu('node'))} s and ${fixed(fetchCpu('nodeUnverified'))} s), against ${fixed(summary.all.node.seconds)} s and ${fixed(summary.all.nodeUnverified.seconds)} s for the full reads and ${fixed(summary.all.py.seconds)} s for py-hamt + xarray.
`

await writeFile(
  `${repo}/bench/results/${out}.json`,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      kubo: 'v0.43.0',
      repoDir: os.tmpdir(),
      runs,
      lat,
      lon,
      write,
      minimum,
      summary,
      fetchOnly,
      results,
      counts,
    },
    null,
    2,
  )}\n`,
)
await writeFile(`${repo}/bench/results/${out}.md`, markdown)
// As the linter wants them (JSON arrays of numbers on one line, markdown wrapping).
await run('npx', ['biome', 'format', '--write', `bench/results/${out}.json`, `bench/results/${out}.md`], {
  cwd: repo,
})
process.stdout.write(markdown)
log(`wrote bench/results/${out}.json and bench/results/${out}.md`)
