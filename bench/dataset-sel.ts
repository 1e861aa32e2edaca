// Benchmarks selections by label from Kubo: ts-hamt's openDataset (ts-hamt/dataset, reading through the
// gateway as a TrustlessGatewayStore, every block verified) against py-hamt 3.6.0 + xarray `open_zarr(...).sel`,
// on one dataset written by py-hamt + xarray (bench/pyhamt_dataset_bench.py) into a Kubo daemon this run starts.
// Two reads, each cold in a fresh process, in interleaved rounds: a point's whole time series (method
// nearest) and a small latitude/longitude box over a time range. One more read of each goes through a
// counting proxy; the blocks fetched are compared with the minimum, worked out here by walking the HAMT
// with dag-cbor and hash-wasm's BLAKE3 (not ts-hamt's reader). Values, coordinates and times must be
// equal between the readers (asserted). Writes bench/results/NAME.json and NAME.md.
// Run without npm: node --import tsx bench/dataset-sel.ts [--runs 5] [--out dataset-sel]
// (Node 20+, the Kubo binary and the py-hamt venv are made on first use by scripts/kubo-env.sh and
// scripts/python-env.sh). Internal: `bench/dataset-sel.ts --worker point|box GATEWAY ROOT` is one ts-hamt read.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as dagCbor from '@ipld/dag-cbor'
import { blake3 } from 'hash-wasm'
import { CID } from 'multiformats/cid'
import { openDataset } from '../src/dataset.js'
import { registerZstdCodec } from '../src/zstd/node.js'
import type { KuboDaemon } from '../test/helpers/kubo.js'
import { arg, markdownTable, seconds } from './common.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const self = fileURLToPath(import.meta.url)

type What = 'point' | 'box'
const WHATS: readonly What[] = ['point', 'box']
type Reader = 'ts' | 'py'
type ReadResult = {
  seconds: number
  cpuSeconds: number
  openSeconds: number
  shape: number[]
  values: (number | null)[]
  latitude: number[]
  longitude: number[]
  time: string[]
}

// The dataset and the selections, as bench/pyhamt_dataset_bench.py writes and selects them.
const SHAPE = [366, 181, 360] as const
const CHUNKS = [61, 30, 30] as const
const POINT = { latitude: 45.2, longitude: 5.1 }
const BOX = {
  latitude: [55, 65] as [number, number],
  longitude: [25, 35] as [number, number],
  time: ['2024-02-20', '2024-03-10'] as const,
}

/** One cold ts-hamt read: open by root from the gateway, select by labels, load. */
async function tsRead(what: What, gateway: string, root: string): Promise<ReadResult> {
  const start = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  registerZstdCodec()
  const ds = await openDataset(root, { gateways: gateway })
  const openSeconds = seconds(start)
  const t2m = ds.variable('t2m')
  const view =
    what === 'point'
      ? t2m.point(POINT)
      : t2m.box({ latitude: BOX.latitude, longitude: BOX.longitude }).timeRange(...BOX.time)
  const array = await view.load()
  const total = seconds(start)
  const { user, system } = process.cpuUsage(cpuStart)
  const list = (c: unknown): unknown[] => (Array.isArray(c) ? c : [c])
  return {
    seconds: total,
    cpuSeconds: (user + system) / 1e6,
    openSeconds,
    shape: [...array.shape],
    values: Array.from(array.values, (v) => (Number.isNaN(v) ? null : v)),
    latitude: list(array.coords.latitude) as number[],
    longitude: list(array.coords.longitude) as number[],
    time: list(array.coords.time).map((t) => String(t).slice(0, 10)),
  }
}

if (process.argv[2] === '--worker') {
  const [what, gateway, root] = process.argv.slice(3) as [What, string, string]
  process.stdout.write(`${JSON.stringify(await tsRead(what, gateway, root))}\n`)
  process.exit(0)
}

const { startKubo } = await import('../test/helpers/kubo.js')
const { startProxy } = await import('../test/helpers/proxy.js')
const { pyHamtPython } = await import('../test/helpers/python.js')

const runs = Number(arg('runs', '5'))
const out = arg('out', 'dataset-sel')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')
if (!(Number.isSafeInteger(runs) && runs >= 1)) throw new Error('--runs must be a positive integer')
const repoDir = existsSync('/dev/shm') ? '/dev/shm' : ''
if (repoDir !== '') process.env.TMPDIR = repoDir
const log = (message: string): void => {
  process.stderr.write(`bench/dataset-sel: ${message}\n`)
}
const python = await pyHamtPython()

async function py<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(python, ['-W', 'ignore', `${repo}/bench/pyhamt_dataset_bench.py`, ...args], {
    cwd: repo,
    maxBuffer: 1 << 26,
    timeout: 600_000,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T
}

async function read(what: What, reader: Reader, daemon: KuboDaemon, gateway: string, root: string) {
  if (reader === 'py') return py<ReadResult>('read', what, daemon.rpcUrl, gateway, root)
  const { stdout } = await run(process.execPath, ['--import', 'tsx', self, '--worker', what, gateway, root], {
    cwd: repo,
    maxBuffer: 1 << 26,
    timeout: 600_000,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ReadResult
}

/** The block a gateway request asked for, by its multihash (readers may label a CID's codec differently). */
function blockOf(url: string): string {
  const cid = CID.parse((url.split('?')[0] as string).replace(/^\/ipfs\//, ''))
  return Buffer.from(cid.multihash.bytes).toString('hex')
}
const hashOf = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('hex')

/** The HAMT as py-hamt lays it out (docs: formats.md §2-4), walked from raw blocks fetched here. */
async function hamtWalker(gateway: string, root: CID) {
  const blocks = new Map<string, unknown[]>()
  const node = async (cid: CID): Promise<unknown[]> => {
    const key = cid.toString()
    let decoded = blocks.get(key)
    if (decoded === undefined) {
      const answer = await fetch(`${gateway}/ipfs/${key}?format=raw`)
      if (!answer.ok) throw new Error(`gateway: ${answer.status} for ${key}`)
      decoded = dagCbor.decode<unknown[]>(new Uint8Array(await answer.arrayBuffer()))
      blocks.set(key, decoded)
    }
    return decoded
  }
  return {
    /** The nodes on the key's path and its value's block. */
    async path(key: string): Promise<{ nodes: CID[]; value: CID }> {
      const hash = Buffer.from(await blake3(new TextEncoder().encode(key), 256), 'hex')
      const nodes: CID[] = []
      let at = root
      for (let depth = 0; ; depth++) {
        nodes.push(at)
        const slot = (await node(at))[hash[depth] as number]
        if (Array.isArray(slot)) at = CID.asCID(slot[0]) as CID
        else {
          const value = CID.asCID((slot as Record<string, unknown>)[key])
          if (value === null) throw new Error(`the HAMT has no key ${key}`)
          return { nodes, value }
        }
      }
    },
    /** Every node of the tree (what listing the keys reads). */
    async allNodes(): Promise<CID[]> {
      const all: CID[] = []
      const visit = async (cid: CID): Promise<void> => {
        all.push(cid)
        for (const slot of await node(cid)) if (Array.isArray(slot)) await visit(CID.asCID(slot[0]) as CID)
      }
      await visit(root)
      return all
    },
  }
}

/** The chunk keys of t2m a selection touches, from the grid and the positions it keeps. */
function chunkKeys(time: [number, number], lat: [number, number], lon: [number, number]): string[] {
  const range = ([a, b]: [number, number], c: number): number[] =>
    Array.from({ length: Math.floor(b / c) - Math.floor(a / c) + 1 }, (_, i) => Math.floor(a / c) + i)
  return range(time, CHUNKS[0]).flatMap((t) =>
    range(lat, CHUNKS[1]).flatMap((y) => range(lon, CHUNKS[2]).map((x) => `t2m/c/${t}/${y}/${x}`)),
  )
}

/** Positions on the written grid (latitude 90 → -90 by 1°, longitude 0 → 359 by 1°, daily 2024). */
const latIndex = (lat: number): number => 90 - lat
const dayIndex = (iso: string): number => (Date.parse(iso) - Date.parse('2024-01-01')) / 86_400_000
const SELECTIONS: Record<What, { time: [number, number]; lat: [number, number]; lon: [number, number] }> = {
  point: {
    time: [0, SHAPE[0] - 1],
    lat: [latIndex(Math.round(POINT.latitude)), latIndex(Math.round(POINT.latitude))],
    lon: [Math.round(POINT.longitude), Math.round(POINT.longitude)],
  },
  box: {
    time: [dayIndex(BOX.time[0]), dayIndex(BOX.time[1])],
    lat: [latIndex(BOX.latitude[1]), latIndex(BOX.latitude[0])],
    lon: BOX.longitude,
  },
}
const META_KEYS = [
  'zarr.json',
  't2m/zarr.json',
  'time/zarr.json',
  'latitude/zarr.json',
  'longitude/zarr.json',
]
const COORD_KEYS = ['time/c/0', 'latitude/c/0', 'longitude/c/0']

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

type Cell = {
  seconds: number[]
  cpuSeconds: number[]
  openSeconds: number[]
  first: ReadResult
  requests: number
  blocks: number
}
type Minimum = { blocks: number; chunks: number; withListing: number }
const cells = new Map<string, Cell>()
const minimum = new Map<What, Minimum>()
const extra = new Map<string, number>()
let written: { root: string; seconds: number; shape: number[]; chunks: number[] }

const daemon = await startKubo()
try {
  written = await py('write', daemon.rpcUrl, daemon.gatewayUrl)
  if (JSON.stringify([written.shape, written.chunks]) !== JSON.stringify([SHAPE, CHUNKS]))
    throw new Error('bench/pyhamt_dataset_bench.py wrote another grid than this bench expects')
  log(`py-hamt + xarray wrote the dataset in ${written.seconds.toFixed(1)} s: ${written.root}`)

  const walker = await hamtWalker(daemon.gatewayUrl, CID.parse(written.root))
  const allNodes = (await walker.allNodes()).map(hashOf)
  const needed = new Map<What, Set<string>>()
  for (const what of WHATS) {
    const s = SELECTIONS[what]
    const keys = [...META_KEYS, ...COORD_KEYS, ...chunkKeys(s.time, s.lat, s.lon)]
    const blocks = new Set<string>()
    const values = new Set<string>()
    for (const key of keys) {
      const { nodes, value } = await walker.path(key)
      for (const n of nodes) blocks.add(hashOf(n))
      blocks.add(hashOf(value))
      values.add(hashOf(value))
    }
    needed.set(what, blocks)
    minimum.set(what, {
      blocks: blocks.size,
      chunks: keys.length - META_KEYS.length - COORD_KEYS.length,
      withListing: new Set([...allNodes, ...values]).size,
    })
  }
  log(`minimum blocks: ${JSON.stringify(Object.fromEntries(minimum))} (HAMT nodes: ${allNodes.length})`)

  for (let r = 0; r < runs; r++) {
    for (const what of WHATS) {
      for (const reader of (r % 2 === 0 ? ['ts', 'py'] : ['py', 'ts']) as Reader[]) {
        const m = await read(what, reader, daemon, daemon.gatewayUrl, written.root)
        const key = `${what}/${reader}`
        const cell = cells.get(key) ?? {
          seconds: [],
          cpuSeconds: [],
          openSeconds: [],
          first: m,
          requests: 0,
          blocks: 0,
        }
        cell.seconds.push(m.seconds)
        cell.cpuSeconds.push(m.cpuSeconds)
        cell.openSeconds.push(m.openSeconds)
        cells.set(key, cell)
        log(
          `run ${r + 1}/${runs} ${what} ${reader}: ${m.seconds.toFixed(3)} s, CPU ${m.cpuSeconds.toFixed(3)} s`,
        )
      }
    }
  }
  for (const what of WHATS) {
    for (const reader of ['ts', 'py'] as const) {
      const proxy = await startProxy(daemon.gatewayUrl)
      try {
        await read(what, reader, daemon, proxy.url, written.root)
        const cell = cells.get(`${what}/${reader}`) as Cell
        const fetched = new Set(proxy.seen.map((s) => blockOf(s.url)))
        const need = needed.get(what) as Set<string>
        const missing = [...need].filter((b) => !fetched.has(b))
        if (missing.length > 0)
          throw new Error(`${what}/${reader} read without ${missing.length} needed blocks`)
        cell.requests = proxy.seen.length
        cell.blocks = fetched.size
        extra.set(`${what}/${reader}`, fetched.size - need.size)
        log(`counted ${what} ${reader}: ${cell.requests} requests, ${cell.blocks} blocks`)
      } finally {
        await proxy.close()
      }
    }
  }
} finally {
  await daemon.stop()
}

// Equal results: values (NaN as null), coordinates and the days of the times.
for (const what of WHATS) {
  const ts = (cells.get(`${what}/ts`) as Cell).first
  const py = (cells.get(`${what}/py`) as Cell).first
  for (const field of ['shape', 'values', 'latitude', 'longitude', 'time'] as const) {
    if (JSON.stringify(ts[field]) !== JSON.stringify(py[field]))
      throw new Error(`${what}: ts-hamt and xarray differ in ${field}`)
  }
  if (!ts.values.some((v) => v === null)) throw new Error(`${what}: the selection should hold missing values`)
}
log('checks passed: both readers selected the same values, coordinates and times')

const get = (what: What, reader: Reader): Cell => cells.get(`${what}/${reader}`) as Cell
const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}×`
const rows = WHATS.map((what) => {
  const ts = get(what, 'ts')
  const py = get(what, 'py')
  const min = minimum.get(what) as Minimum
  return [
    what === 'point' ? `point series (${ts.first.shape.join(' × ')})` : `box (${ts.first.shape.join(' × ')})`,
    median(ts.seconds).toFixed(3),
    median(py.seconds).toFixed(3),
    ratio(median(py.seconds), median(ts.seconds)),
    median(ts.cpuSeconds).toFixed(3),
    median(py.cpuSeconds).toFixed(3),
    ratio(median(py.cpuSeconds), median(ts.cpuSeconds)),
    String(min.blocks),
    String(min.withListing),
    String(ts.blocks),
    String(py.blocks),
    String(ts.requests),
    String(py.requests),
  ]
})
const s = SELECTIONS
const markdown = `## Datasets by label: a point's series and a box, ts-hamt/dataset against xarray \`.sel\`

Generated by \`node --import tsx bench/dataset-sel.ts${runs === 5 ? '' : ` --runs ${runs}`}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, Kubo v0.43.0,
daemon repo in ${repoDir || os.tmpdir()}. Raw numbers: [bench/results/${out}.json](bench/results/${out}.json).

- **Dataset**: written once by py-hamt 3.6.0 + xarray (\`to_zarr(ZarrHAMTStore(…), zarr_format=3, consolidated=False)\`
  over \`KuboCAS\`, ${written.seconds.toFixed(1)} s): \`t2m\` float32 time × latitude × longitude ${SHAPE.join(' × ')}, chunks
  ${CHUNKS.join(' × ')} (zarr's default zstd), a year of days (\`days since 2000-01-01\`, int64), latitude 90 → −90 and longitude
  0 → 359 by 1° (float32), NaN holes.
- **Reads**, each cold in a new process (seconds and CPU from opening the root to having the values; imports
  excluded), medians of ${runs} interleaved rounds. ts-hamt: \`registerZstdCodec()\`, \`openDataset(root, { gateways })\`
  (a \`TrustlessGatewayStore\`, every block verified), then **point**: \`t2m.point({ latitude: ${POINT.latitude}, longitude: ${POINT.longitude} })\`
  (nearest) and **box**: \`t2m.box({ latitude: [${BOX.latitude}], longitude: [${BOX.longitude}] }).timeRange('${BOX.time[0]}', '${BOX.time[1]}')\`, \`.load()\`.
  py-hamt: \`KuboCAS\`, a read-only \`HAMT\`, \`xr.open_zarr(ZarrHAMTStore(…), consolidated=False)\`, then
  \`.sel(latitude=${POINT.latitude}, longitude=${POINT.longitude}, method="nearest")\` and \`.sel(latitude=slice(65, 55), longitude=slice(25, 35),
  time=slice(…))\`, \`.values\`. Both readers gave the same values (NaN included), coordinates and days (asserted).
- **Blocks**: one more read of each through a counting proxy in front of the gateway; blocks are the distinct
  multihashes asked for. **min** is the least a reader that knows the variable names needs, found by walking the
  HAMT here (dag-cbor + hash-wasm BLAKE3): the HAMT nodes on the paths of the 5 \`zarr.json\`, the 3 coordinate chunks
  and the data chunks touched (point: ${(minimum.get('point') as Minimum).chunks}, time 0–365; box: ${(minimum.get('box') as Minimum).chunks}, positions time ${s.box.time.join('–')},
  latitude ${s.box.lat.join('–')}, longitude ${s.box.lon.join('–')} straddle chunk edges), and those values. **min + listing**: every HAMT node and
  the same values, what discovering the variables costs without consolidated metadata (both readers list).
  Neither reader missed a needed block (asserted).

${markdownTable(
  [
    'selection',
    'ts s',
    'py s',
    'py/ts',
    'ts CPU s',
    'py CPU s',
    'py/ts CPU',
    'min blocks',
    'min + listing',
    'ts blocks',
    'py blocks',
    'ts requests',
    'py requests',
  ],
  rows,
)}
`

const json = {
  date: new Date().toISOString(),
  shape: SHAPE,
  chunks: CHUNKS,
  point: POINT,
  box: BOX,
  write: written,
  minimum: Object.fromEntries(minimum),
  extraBlocks: Object.fromEntries(extra),
  reads: Object.fromEntries(
    [...cells].map(([key, cell]) => [
      key,
      {
        seconds: cell.seconds,
        cpuSeconds: cell.cpuSeconds,
        openSeconds: cell.openSeconds,
        requests: cell.requests,
        blocks: cell.blocks,
        shape: cell.first.shape,
      },
    ]),
  ),
}
await writeFile(`${repo}/bench/results/${out}.json`, `${JSON.stringify(json, null, 2)}\n`)
await writeFile(`${repo}/bench/results/${out}.md`, markdown)
console.log(markdown)
