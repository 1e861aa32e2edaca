// Benchmarks a single-point time series read from Kubo, from a sharded Zarr (py-hamt's ShardedZarrStore
// layout) against the same data in a HAMT, ts-hamt + zarrita against py-hamt 3.6.0 + xarray. The dataset
// (many small chunks, so the HAMT is deep) is written once by ts-hamt into a HAMT and converted to the
// sharded layout by both converters (which must agree on the root CID). Every read runs cold in a fresh
// process; one more read per reader goes through a counting proxy for requests and distinct blocks.
// Writes bench/results/NAME.json and NAME.md.
// Then the shard read modes (full, sparse, auto): a point read (one chunk), the point's time series and
// the whole array, each once per mode and reader through a proxy that counts requests and body bytes.
// Usage: node --import tsx bench/sharded.ts [--runs 3] [--lat 37] [--lon 101] [--out sharded]
// Internal: `bench/sharded.ts --worker sharded|hamt GATEWAY ROOT LAT LON` is one ts-hamt read (prints JSON),
// `--mode-worker MODE point|series|full GATEWAY ROOT LAT LON` one read in a shard read mode.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
import { HAMT, KuboStore, ShardedZarrStore, type ShardReadMode, ZarrHAMTStore } from '../src/index.js'
import { convertHamtToSharded } from '../src/layout.js'
import type { KuboDaemon } from '../test/helpers/kubo.js'
import { arg, markdownTable, seconds } from './common.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const self = fileURLToPath(import.meta.url)

type Layout = 'sharded' | 'hamt'
type Reader = 'ts' | 'py'
type ReadResult = { openSeconds: number; readSeconds: number; seconds: number; sum: number; values: number[] }

const SHAPE = [240, 64, 128] as const
const CHUNKS = [1, 8, 16] as const
const CHUNKS_PER_SHARD = 6250

/** Opens `temp` cold in either layout and reads one point's time series. */
async function tsRead(layout: Layout, gatewayUrl: string, root: string, lat: number, lon: number) {
  const start = process.hrtime.bigint()
  const store = new KuboStore({ rpcUrl: null, gateways: gatewayUrl })
  const zarrStore =
    layout === 'sharded'
      ? await ShardedZarrStore.open(root, { store })
      : new ZarrHAMTStore(
          await HAMT.open<Uint8Array>(CID.parse(root), { store, readOnly: true, valuesAreBytes: true }),
        )
  const temp = await zarr.open(zarr.root(zarrStore).resolve('temp'), { kind: 'array' })
  const openSeconds = seconds(start)
  const { data } = await zarr.get(temp, [null, lat, lon])
  const total = seconds(start)
  const values = Array.from(data as Float32Array)
  const sum = values.reduce((a, b) => a + b, 0)
  return { openSeconds, readSeconds: total - openSeconds, seconds: total, sum, values } satisfies ReadResult
}

type ModeRead = 'point' | 'series' | 'full'
type ModeResult = { seconds: number; sum: number; latched: boolean }

/** One cold read in a shard read mode: the chunk holding (0, lat, lon), the series, or all of temp. */
async function tsModeRead(
  mode: ShardReadMode,
  what: ModeRead,
  gatewayUrl: string,
  root: string,
  lat: number,
  lon: number,
) {
  const start = process.hrtime.bigint()
  const store = new KuboStore({ rpcUrl: null, gateways: gatewayUrl })
  const sharded = await ShardedZarrStore.open(root, { store, shardReadMode: mode })
  let sum = 0
  if (what === 'point') {
    const chunk = await sharded.get(`temp/c/0/${Math.floor(lat / CHUNKS[1])}/${Math.floor(lon / CHUNKS[2])}`)
    for (const byte of chunk ?? []) sum += byte
  } else {
    const temp = await zarr.open(zarr.root(sharded).resolve('temp'), { kind: 'array' })
    const { data } = await zarr.get(temp, what === 'series' ? [null, lat, lon] : null)
    for (const value of data as Float32Array) sum += value
  }
  const latched = mode === 'auto' && sharded.shardReadMode === 'full'
  return { seconds: seconds(start), sum, latched } satisfies ModeResult
}

if (process.argv[2] === '--mode-worker') {
  const [mode, what, gatewayUrl, root, lat, lon] = process.argv.slice(3) as [
    ShardReadMode,
    ModeRead,
    string,
    string,
    string,
    string,
  ]
  process.stdout.write(
    `${JSON.stringify(await tsModeRead(mode, what, gatewayUrl, root, Number(lat), Number(lon)))}\n`,
  )
  process.exit(0)
}

if (process.argv[2] === '--worker') {
  const [layout, gatewayUrl, root, lat, lon] = process.argv.slice(3) as [
    Layout,
    string,
    string,
    string,
    string,
  ]
  process.stdout.write(
    `${JSON.stringify(await tsRead(layout, gatewayUrl, root, Number(lat), Number(lon)))}\n`,
  )
  process.exit(0)
}

const { startKubo } = await import('../test/helpers/kubo.js')
const { startProxy } = await import('../test/helpers/proxy.js')
const { pyHamtPython } = await import('../test/helpers/python.js')

const runs = Number(arg('runs', '3'))
const lat = Number(arg('lat', '37'))
const lon = Number(arg('lon', '101'))
const out = arg('out', 'sharded')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')
if (!(Number.isSafeInteger(runs) && runs >= 1 && lat >= 0 && lat < SHAPE[1] && lon >= 0 && lon < SHAPE[2])) {
  throw new Error(`--runs must be a positive integer, --lat below ${SHAPE[1]}, --lon below ${SHAPE[2]}`)
}
const repoDir = existsSync('/dev/shm') ? '/dev/shm' : ''
if (repoDir !== '') process.env.TMPDIR = repoDir
const log = (message: string): void => {
  process.stderr.write(`bench/sharded: ${message}\n`)
}
const python = await pyHamtPython()

async function py<T>(script: string, ...args: string[]): Promise<T> {
  const { stdout } = await run(python, ['-W', 'ignore', `${repo}/bench/${script}`, ...args], {
    cwd: repo,
    maxBuffer: 1 << 26,
    timeout: 600_000,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T
}

/** Writes the dataset with zarrita into a HAMT on Kubo (xarray-readable: dimension names, coordinates). */
async function writeDataset(daemon: KuboDaemon): Promise<{ root: string; seconds: number }> {
  const start = process.hrtime.bigint()
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), {
    attributes: { title: 'sharded bench' },
  })
  const bytesCodec = [{ name: 'bytes', configuration: { endian: 'little' } }]
  const put = async (
    name: string,
    dims: string[],
    shape: number[],
    chunks: number[],
    data: Float32Array | Int32Array,
  ) => {
    const array = await zarr.create(group.resolve(name), {
      shape,
      chunkShape: chunks,
      dtype: data instanceof Float32Array ? 'float32' : 'int32',
      dimensionNames: dims,
      fillValue: (data instanceof Float32Array ? Number.NaN : 0) as never,
      codecs: bytesCodec,
    })
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    await zarr.set(array, null, { data, shape, stride } as never)
  }
  const [nt, ny, nx] = SHAPE
  await put(
    'time',
    ['time'],
    [nt],
    [nt],
    Int32Array.from({ length: nt }, (_, i) => i),
  )
  await put(
    'lat',
    ['lat'],
    [ny],
    [ny],
    Float32Array.from({ length: ny }, (_, i) => -63 + i * 2),
  )
  await put(
    'lon',
    ['lon'],
    [nx],
    [nx],
    Float32Array.from({ length: nx }, (_, i) => i * 2.8125),
  )
  const temp = Float32Array.from({ length: nt * ny * nx }, (_, i) => 250 + ((i * 2654435761) % 6007) / 100)
  await put('temp', ['time', 'lat', 'lon'], [...SHAPE], [...CHUNKS], temp)
  const root = await map.flush()
  return { root: root.toString(), seconds: seconds(start) }
}

async function read(layout: Layout, reader: Reader, daemon: KuboDaemon, gatewayUrl: string, root: string) {
  if (reader === 'ts') {
    const args = ['--import', 'tsx', self, '--worker', layout, gatewayUrl, root, String(lat), String(lon)]
    const { stdout } = await run(process.execPath, args, { cwd: repo, maxBuffer: 1 << 26, timeout: 600_000 })
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ReadResult
  }
  const script = layout === 'sharded' ? 'pyhamt_sharded_bench.py' : 'pyhamt_zarr_bench.py'
  return py<ReadResult>(script, 'read-point', daemon.rpcUrl, gatewayUrl, root, String(lat), String(lon))
}

async function modeRead(
  mode: ShardReadMode,
  what: ModeRead,
  reader: Reader,
  daemon: KuboDaemon,
  gatewayUrl: string,
  root: string,
) {
  const where = [gatewayUrl, root, String(lat), String(lon)]
  if (reader === 'ts') {
    const args = ['--import', 'tsx', self, '--mode-worker', mode, what, ...where]
    const { stdout } = await run(process.execPath, args, {
      cwd: repo,
      maxBuffer: 1 << 26,
      timeout: 1_200_000,
    })
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ModeResult
  }
  return py<ModeResult>('pyhamt_sharded_bench.py', 'read-mode', mode, what, daemon.rpcUrl, ...where)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

type Cell = { seconds: number[]; requests: number; blocks: number; values: number[] }
const cells = new Map<string, Cell>()
const cellKey = (layout: Layout, reader: Reader): string => `${layout}/${reader}`
let written: { root: string; seconds: number }
let converted: { ts: number; py: number; root: string }
type ModeCell = ModeResult & { requests: number; bytes: number }
const modeCells = new Map<string, ModeCell>()
const modeKey = (what: ModeRead, mode: ShardReadMode, reader: Reader): string => `${what}/${mode}/${reader}`
const MODES: readonly ShardReadMode[] = ['full', 'sparse', 'auto']
const MODE_READS: readonly ModeRead[] = ['point', 'series', 'full']

const daemon = await startKubo()
try {
  written = await writeDataset(daemon)
  log(`wrote the HAMT dataset in ${written.seconds.toFixed(1)} s: ${written.root}`)
  const start = process.hrtime.bigint()
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
  const hamt = await HAMT.open<Uint8Array>(CID.parse(written.root), {
    store,
    valuesAreBytes: true,
    readOnly: true,
  })
  const shardedRoot = (
    await convertHamtToSharded(hamt, store, { chunksPerShard: CHUNKS_PER_SHARD })
  ).toString()
  const tsConvert = seconds(start)
  const pyConverted = await py<{ root: string; seconds: number }>(
    'pyhamt_sharded_bench.py',
    'convert',
    daemon.rpcUrl,
    daemon.gatewayUrl,
    written.root,
    String(CHUNKS_PER_SHARD),
  )
  if (pyConverted.root !== shardedRoot)
    throw new Error(`converters disagree: ${shardedRoot} vs ${pyConverted.root}`)
  converted = { ts: tsConvert, py: pyConverted.seconds, root: shardedRoot }
  log(
    `converted in ${tsConvert.toFixed(2)} s (py-hamt ${pyConverted.seconds.toFixed(2)} s), same root ${shardedRoot}`,
  )
  const roots: Record<Layout, string> = { sharded: shardedRoot, hamt: written.root }

  for (let r = 0; r < runs; r++) {
    for (const layout of ['sharded', 'hamt'] as const) {
      for (const reader of (r % 2 === 0 ? ['ts', 'py'] : ['py', 'ts']) as Reader[]) {
        const m = await read(layout, reader, daemon, daemon.gatewayUrl, roots[layout])
        const cell = cells.get(cellKey(layout, reader)) ?? {
          seconds: [],
          requests: 0,
          blocks: 0,
          values: m.values,
        }
        cell.seconds.push(m.seconds)
        if (JSON.stringify(cell.values) !== JSON.stringify(m.values))
          throw new Error(`${layout}/${reader} series changed`)
        cells.set(cellKey(layout, reader), cell)
        log(`run ${r + 1}/${runs} ${layout} ${reader}: ${m.seconds.toFixed(3)} s`)
      }
    }
  }
  for (const layout of ['sharded', 'hamt'] as const) {
    for (const reader of ['ts', 'py'] as const) {
      const proxy = await startProxy(daemon.gatewayUrl)
      try {
        await read(layout, reader, daemon, proxy.url, roots[layout])
        const cell = cells.get(cellKey(layout, reader)) as Cell
        cell.requests = proxy.seen.length
        cell.blocks = new Set(proxy.seen.map((s) => s.url.split('?')[0])).size
        log(`counted ${layout} ${reader}: ${cell.requests} requests, ${cell.blocks} blocks`)
      } finally {
        await proxy.close()
      }
    }
  }
  for (const what of MODE_READS) {
    for (const mode of MODES) {
      for (const reader of ['ts', 'py'] as const) {
        let bytes = 0
        const proxy = await startProxy(daemon.gatewayUrl, {
          rewriteBody: (body) => {
            bytes += body.length
            return body
          },
        })
        try {
          const m = await modeRead(mode, what, reader, daemon, proxy.url, shardedRoot)
          modeCells.set(modeKey(what, mode, reader), { ...m, requests: proxy.seen.length, bytes })
          log(
            `${what} ${mode} ${reader}: ${proxy.seen.length} requests, ${bytes} bytes, ${m.seconds.toFixed(2)} s`,
          )
        } finally {
          await proxy.close()
        }
      }
    }
  }
} finally {
  await daemon.stop()
}

for (const what of MODE_READS) {
  const sums = MODES.flatMap((mode) =>
    (['ts', 'py'] as const).map((r) => modeCells.get(modeKey(what, mode, r))?.sum),
  )
  const sum = sums[0] as number
  if (!sums.every((s) => s !== undefined && Math.abs(s - sum) <= 1e-6 * Math.abs(sum)))
    throw new Error(`${what}: the readers' sums differ: ${sums.join(', ')}`)
}
log('checks passed: every mode and reader read the same sums')

const series = cells.get('sharded/ts')?.values ?? []
for (const [key, cell] of cells) {
  if (JSON.stringify(cell.values) !== JSON.stringify(series))
    throw new Error(`${key} read a different series`)
}
if (series.length !== SHAPE[0]) throw new Error(`the series has ${series.length} values, not ${SHAPE[0]}`)
log('checks passed: all four readers read the same series')

const nChunks = SHAPE.reduce((n, s, i) => n * Math.ceil(s / (CHUNKS[i] as number)), 1)
const chunksPerDim = SHAPE.map((s, i) => Math.ceil(s / (CHUNKS[i] as number)))
const shardsTouched = new Set(
  Array.from({ length: SHAPE[0] }, (_, t) => {
    const linear =
      (t * (chunksPerDim[1] as number) + Math.floor(lat / CHUNKS[1])) * (chunksPerDim[2] as number) +
      Math.floor(lon / CHUNKS[2])
    return Math.floor(linear / CHUNKS_PER_SHARD)
  }),
).size
const minimumSharded = 1 + 1 + shardsTouched + SHAPE[0]
const get = (layout: Layout, reader: Reader): Cell => cells.get(cellKey(layout, reader)) as Cell
const s = (layout: Layout, reader: Reader): number => median(get(layout, reader).seconds)
const rows = (['sharded', 'hamt'] as const).map((layout) => [
  layout === 'sharded' ? `sharded (${CHUNKS_PER_SHARD} chunks/shard)` : 'HAMT',
  s(layout, 'ts').toFixed(3),
  s(layout, 'py').toFixed(3),
  `${(s(layout, 'py') / s(layout, 'ts')).toFixed(1)}×`,
  String(get(layout, 'ts').requests),
  String(get(layout, 'py').requests),
  String(get(layout, 'ts').blocks),
  String(get(layout, 'py').blocks),
])

const markdown = `## Sharded Zarr: a point's time series from Kubo, sharded against HAMT

Generated by \`node --import tsx bench/sharded.ts${runs === 3 ? '' : ` --runs ${runs}`}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, Kubo v0.43.0,
daemon repo in ${repoDir || os.tmpdir()}. Raw numbers: [bench/results/${out}.json](bench/results/${out}.json).

- **Dataset**: \`temp\`, float32, ${SHAPE.join(' × ')}, chunks ${CHUNKS.join(' × ')} (${nChunks} chunks of ${CHUNKS.reduce((a, b) => a * b, 4)} bytes, no
  compression), with time/lat/lon coordinates; written once by ts-hamt (zarrita over \`ZarrHAMTStore\`, ${written.seconds.toFixed(1)} s),
  then converted to the sharded layout (v2, ${CHUNKS_PER_SHARD} chunks a shard) by ts-hamt's \`convertHamtToSharded\`
  (${converted.ts.toFixed(2)} s) and by py-hamt's \`convert_hamt_to_sharded\` (${converted.py.toFixed(2)} s): the same root CID. Chunk blocks are shared.
- **Read**: \`temp[:, ${lat}, ${lon}]\`, one chunk per time step (${SHAPE[0]} chunks). ts-hamt: \`KuboStore\` (gateway, every block verified),
  \`ShardedZarrStore.open\` or \`HAMT.open\` + \`ZarrHAMTStore\`, zarrita \`zarr.get\`. py-hamt 3.6.0: \`KuboCAS\`,
  \`ShardedZarrStore.open(read_only=True)\` (default \`shard_read_mode="auto"\`) or \`HAMT\` + \`ZarrHAMTStore\`, xarray
  \`open_zarr\` and \`.values\`. Cold: a new process per read; seconds measured inside it, medians of ${runs} runs.
- **Requests / blocks**: one more read each through a counting proxy in front of the gateway. The sharded minimum is
  the root, \`temp/zarr.json\`, the ${shardsTouched} shard(s) the series falls in and the ${SHAPE[0]} chunks: ${minimumSharded}
  (xarray also reads the group and the coordinates). py-hamt's "auto" mode fetches a shard again for each entry it
  needs (sparse reads are not cached) until 256 reads of one shard latch it to full reads.

${markdownTable(['layout', 'ts-hamt s', 'py-hamt s', 'py/ts', 'ts requests', 'py requests', 'ts blocks', 'py blocks'], rows)}

MODES_TABLE

Sharded against HAMT, same reader: ts-hamt ${(s('hamt', 'ts') / s('sharded', 'ts')).toFixed(1)}× faster sharded (${get('sharded', 'ts').blocks} blocks
instead of ${get('hamt', 'ts').blocks}); py-hamt ${(s('hamt', 'py') / s('sharded', 'py')).toFixed(1)}× (${get('sharded', 'py').requests} requests instead of ${get('hamt', 'py').requests}).
`

const mb = (bytes: number): string => (bytes / 1e6).toFixed(bytes < 1e5 ? 3 : 1)
const modeRows = MODE_READS.flatMap((what) =>
  MODES.map((mode) => {
    const ts = modeCells.get(modeKey(what, mode, 'ts')) as ModeCell
    const py = modeCells.get(modeKey(what, mode, 'py')) as ModeCell
    const auto =
      mode === 'auto' ? ` (switched: ts ${ts.latched ? 'yes' : 'no'}, py ${py.latched ? 'yes' : 'no'})` : ''
    return [
      `${what} ${mode}${auto}`,
      String(ts.requests),
      String(py.requests),
      mb(ts.bytes),
      mb(py.bytes),
      ts.seconds.toFixed(2),
      py.seconds.toFixed(2),
    ]
  }),
)
const modesMarkdown = `### Shard read modes: requests and bytes

Each read once, cold (a new process), through a proxy counting the gateway's requests and answer bytes (the
root and metadata included); seconds include the proxy. **point**: \`store.get\` of the one chunk holding
(0, ${lat}, ${lon}) (ts-hamt \`ShardedZarrStore.get\`, py-hamt \`ShardedZarrStore.get\`); **series**: \`temp[:, ${lat}, ${lon}]\`
(zarrita / xarray, ${SHAPE[0]} chunks); **full**: all of \`temp\` (${nChunks} chunks). Shards: ${CHUNKS_PER_SHARD} entries, one
block each. Every sparse read fetches its whole shard block (a range of it cannot be verified, nor located without
the whole block); ts-hamt shares one block load among concurrent reads of a shard, py-hamt loads it once per entry.

${markdownTable(['read / mode', 'ts requests', 'py requests', 'ts MB', 'py MB', 'ts s', 'py s'], modeRows)}
`

const json = {
  date: new Date().toISOString(),
  shape: SHAPE,
  chunks: CHUNKS,
  chunksPerShard: CHUNKS_PER_SHARD,
  point: { lat, lon },
  write: written,
  convert: converted,
  minimumSharded,
  reads: Object.fromEntries(cells),
  modes: Object.fromEntries(modeCells),
}
await writeFile(`${repo}/bench/results/${out}.json`, `${JSON.stringify(json, null, 2)}\n`)
const full = markdown.replace('MODES_TABLE', modesMarkdown)
await writeFile(`${repo}/bench/results/${out}.md`, full)
console.log(full)
