// One ts-hamt read of the Zarr benchmark (bench/zarr.ts), in its own process so that every read is cold:
// opens the map and `temp`, then reads all of it, one point's time series, or only fetches every chunk.
// Prints one JSON line (a ReadResult).
// Usage: node --import tsx bench/zarr-read.ts all|point|fetch GATEWAY ROOT LAT LON SETUP
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
// What `import 'ts-hamt/dataset'` resolves to in Node (the exports map's `node` condition).
import { openDataset } from '../src/dataset.node.js'
// What `import 'ts-hamt'` resolves to in Node (the exports map's `node` condition): node:http, native BLAKE3.
import { HAMT, KuboStore, ZarrHAMTStore } from '../src/index.node.js'
import { nodeHttpFetch, nodeWorkers } from '../src/node/index.js'
// What `import 'ts-hamt/zstd'` resolves to in Node (the exports map's `node` condition).
import { registerZstdCodec } from '../src/zstd/node.js'
import { seconds } from './common.js'

export type Task = 'all' | 'point'
/** `fetch`: every chunk's bytes to the main thread, neither decoded nor assembled (ts-hamt only). */
export type TsTask = Task | 'fetch'
/** How ts-hamt is set up for a read. */
export type Setup = 'default' | 'dataset' | 'node' | 'nodeUnverified'
export const setups: Record<Setup, string> = {
  default: 'ts-hamt',
  dataset: 'ts-hamt/dataset',
  node: 'ts-hamt/node',
  nodeUnverified: 'ts-hamt/node, verify: false',
}
export type ReadResult = {
  openSeconds: number
  readSeconds: number
  seconds: number
  /** CPU seconds (user + system, every thread) the reading process spent on the read. */
  cpuSeconds: number
  /** CPU seconds of the main thread alone (where the runtime tells it: Node 23.9+). */
  mainCpuSeconds?: number
  /** CPU seconds of the Kubo daemon during the read (Linux only). */
  daemonCpuSeconds?: number
  /** Float64 sum of what was read: the whole of temp (all) or the series (point). */
  sum: number
  /** The point's time series (point only). */
  values?: number[]
}

type Usage = { user: number; system: number }
/** The main thread's own CPU use, where Node has `process.threadCpuUsage` (23.9+). */
const threadCpuUsage = (process as { threadCpuUsage?: (since?: Usage) => Usage }).threadCpuUsage

/** CPU seconds since the call: every thread, and the main thread alone where Node tells it. */
function cpuClock(): () => { cpuSeconds: number; mainCpuSeconds?: number } {
  const all = process.cpuUsage()
  const main = threadCpuUsage?.()
  return () => {
    const { user, system } = process.cpuUsage(all)
    const thread = main === undefined ? undefined : threadCpuUsage?.(main)
    return {
      cpuSeconds: (user + system) / 1e6,
      ...(thread === undefined ? {} : { mainCpuSeconds: (thread.user + thread.system) / 1e6 }),
    }
  }
}

/**
 * The dataset API with its defaults, as xarray is used: `openDataset(root, { gateways })` (every block
 * verified; reads the metadata and coordinates), then `temp` or one point's series loaded as doubles.
 */
async function datasetRead(task: Task, gatewayUrl: string, root: string, lat: number, lon: number) {
  registerZstdCodec()
  const start = process.hrtime.bigint()
  const cpu = cpuClock()
  const ds = await openDataset(root, { gateways: gatewayUrl })
  const openSeconds = seconds(start)
  const temp = ds.variable('temp')
  const { values } = await (task === 'all' ? temp : temp.isel({ lat, lon })).load()
  const total = seconds(start)
  const used = cpu()
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i] as number
  const result: ReadResult = {
    openSeconds,
    readSeconds: total - openSeconds,
    seconds: total,
    ...used,
    sum,
  }
  if (task === 'point') result.values = Array.from(values)
  return result
}

/** Opens the map and `temp` cold, then reads all of it or one point's time series. */
async function tsRead(
  task: TsTask,
  gatewayUrl: string,
  root: string,
  lat: number,
  lon: number,
  setup: Setup,
) {
  // ts-hamt/node's setup is part of the timed read: its worker threads start here.
  const start = process.hrtime.bigint()
  const cpu = cpuClock()
  const node = setup !== 'default'
  const workers = node ? nodeWorkers() : undefined
  // The README's set-up: the default decoder (zlib on Node 22.15+, else zstddec), or the workers'.
  registerZstdCodec(workers ? { decoder: workers.zstdDecoder } : {})
  const store = new KuboStore({
    rpcUrl: null,
    gateways: gatewayUrl,
    ...(workers ? { fetch: nodeHttpFetch(), blake3Digest: workers.blake3Digest } : {}),
    verify: setup !== 'nodeUnverified',
  })
  const map = await HAMT.open<Uint8Array>(CID.parse(root), { store, readOnly: true, valuesAreBytes: true })
  const zarrStore = new ZarrHAMTStore(map)
  const arr = await zarr.open(zarr.root(zarrStore).resolve('temp'), { kind: 'array' })
  const openSeconds = seconds(start)
  if (task === 'fetch') {
    const grid = arr.shape.map((n, i) => Math.ceil(n / (arr.chunks[i] as number)))
    const keys = Array.from({ length: grid.reduce((a, b) => a * b, 1) }, (_, i) => {
      const coords = grid.map(
        (_, d) => Math.floor(i / grid.slice(d + 1).reduce((a, b) => a * b, 1)) % (grid[d] as number),
      )
      return `/temp/c/${coords.join('/')}` as const
    })
    const values = await Promise.all(keys.map((key) => zarrStore.get(key)))
    const total = seconds(start)
    const used = cpu()
    const bytes = values.reduce((n, v) => n + (v?.length ?? 0), 0)
    return {
      openSeconds,
      readSeconds: total - openSeconds,
      seconds: total,
      ...used,
      sum: bytes,
    } satisfies ReadResult
  }
  const chunk = task === 'all' ? await zarr.get(arr) : await zarr.get(arr, [null, lat, lon])
  const total = seconds(start)
  const used = cpu()
  const data = chunk.data
  if (!(data instanceof Float32Array)) throw new Error(`temp read back as ${data?.constructor.name}`)
  let sum = 0
  for (let i = 0; i < data.length; i++) sum += data[i] as number
  const result: ReadResult = {
    openSeconds,
    readSeconds: total - openSeconds,
    seconds: total,
    ...used,
    sum,
  }
  if (task === 'point') result.values = Array.from(data)
  return result
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [task, gatewayUrl, root, lat, lon, setup] = process.argv.slice(2) as [
    TsTask,
    string,
    string,
    string,
    string,
    Setup,
  ]
  if (setup === 'dataset' && task === 'fetch') throw new Error('the fetch-only read is zarrita setups only')
  const result =
    setup === 'dataset'
      ? await datasetRead(task as Task, gatewayUrl, root, Number(lat), Number(lon))
      : await tsRead(task, gatewayUrl, root, Number(lat), Number(lon), setup)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}
