// Parallel writers against one: an ingest of --chunks Zarr chunks into one Kubo, written by one
// process, or split over --workers processes (each writing its share from the same base) whose
// roots are then merged with mergeZarrRoots. The merged root must equal the one-writer root.
// The work is in Kubo: the processes put their chunk and node blocks to one shared daemon (RPC on
// loopback); the daemon uses the same 2 cores. Wall times are medians of --repeats alternating runs
// (each with its own values, so no run finds its blocks already stored); CPU is per process.
// Usage: node --import tsx bench/merge-ingest.ts [--chunks 2000] [--side 64] [--workers 2] [--repeats 3]
// Writes bench/results/merge.json and merge.md.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as zarr from 'zarrita'
import { HAMT, KuboStore, mergeZarrRoots, type StoreId, ZarrHAMTStore } from '../src/index.js'
import { startKubo } from '../test/helpers/kubo.js'
import { arg, markdownTable, seconds } from './common.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const workerScript = fileURLToPath(new URL('merge-worker.ts', import.meta.url))
const chunks = Number(arg('chunks', '2000'))
const side = Number(arg('side', '64'))
const workers = Number(arg('workers', '2'))
const repeats = Number(arg('repeats', '3'))
const run = promisify(execFile)

type WorkerResult = { root: string; cpuMs: number; wallS: number }
type Measurement = { wallS: number; writeS: number; cpuMs: number; mergeS: number; root: string }

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

const daemon = await startKubo()
try {
  const urls = [daemon.rpcUrl, daemon.gatewayUrl]
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const root = zarr.root(new ZarrHAMTStore(map))
  await zarr.create(root)
  await zarr.create(root.resolve('data'), {
    shape: [chunks, side, side],
    chunkShape: [1, side, side],
    dtype: 'float32',
    fillValue: 0,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    dimensionNames: ['time', 'y', 'x'],
  })
  const base = await map.flush()

  const writer = async (from: number, to: number, seed: number): Promise<WorkerResult> => {
    const args = [
      '--import',
      'tsx',
      workerScript,
      ...urls,
      String(base),
      String(from),
      String(to),
      String(seed),
    ]
    const { stdout } = await run(process.execPath, args, { cwd: repo, timeout: 900_000 })
    return JSON.parse(stdout.trim().split('\n').at(-1) as string)
  }
  const single = async (seed: number): Promise<Measurement> => {
    const start = process.hrtime.bigint()
    const result = await writer(0, chunks, seed)
    return { wallS: seconds(start), writeS: result.wallS, cpuMs: result.cpuMs, mergeS: 0, root: result.root }
  }
  const split = async (seed: number): Promise<Measurement> => {
    const start = process.hrtime.bigint()
    const share = Math.ceil(chunks / workers)
    const results = await Promise.all(
      Array.from({ length: workers }, (_, w) => writer(w * share, Math.min(chunks, (w + 1) * share), seed)),
    )
    const mergeStart = process.hrtime.bigint()
    let merged: StoreId | string = (results[0] as WorkerResult).root
    for (const result of results.slice(1)) merged = await mergeZarrRoots(base, merged, result.root, { store })
    const mergeS = seconds(mergeStart)
    const cpuMs = results.reduce((sum, r) => sum + r.cpuMs, 0)
    const writeS = Math.max(...results.map((r) => r.wallS))
    return { wallS: seconds(start), writeS, cpuMs, mergeS, root: String(merged) }
  }

  const measured: { single: Measurement[]; split: Measurement[] } = { single: [], split: [] }
  for (let r = 0; r < repeats; r++) {
    console.error(`run ${r + 1}/${repeats}…`)
    // Alternating, each with its own values (seed), so neither finds its blocks stored already.
    measured.single.push(await single(2 * r))
    measured.split.push(await split(2 * r + 1))
  }
  // The check: one writer writing the values of the last split run gives its merged root.
  const check = await single(2 * repeats - 1)
  const equal = check.root === (measured.split.at(-1) as Measurement).root
  if (!equal)
    throw new Error(`merged root ${measured.split.at(-1)?.root} differs from one writer's ${check.root}`)

  const row = (name: string, ms: Measurement[]): string[] => [
    name,
    median(ms.map((m) => m.wallS)).toFixed(2),
    median(ms.map((m) => m.writeS)).toFixed(2),
    (median(ms.map((m) => m.cpuMs)) / 1000).toFixed(2),
    median(ms.map((m) => m.mergeS)).toFixed(3),
  ]
  const cpus = os.cpus()
  const machine = `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
  const speedup = median(measured.single.map((m) => m.wallS)) / median(measured.split.map((m) => m.wallS))
  const md = `## Parallel writers: an ingest split over ${workers} processes, then merged

${chunks} chunks of ${side} × ${side} float32 (${((chunks * side * side * 4) / 2 ** 20).toFixed(1)} MiB, uncompressed) of one Zarr array
on a HAMT root, written into one Kubo daemon (loopback RPC) from a base holding only the metadata: by one
process, or by ${workers} processes each writing its share from the base, their roots then merged with
\`mergeZarrRoots\`. The merged root equals the one-writer root (checked). Wall time from spawning the
processes to the merged root, median of ${repeats} alternating runs; "writing" is the slowest writer's
time from its start to its root (without Node and tsx starting up); CPU is the writer processes' own
(user + system, summed), not Kubo's, which shares the same cores. Machine: ${machine}; other work was
running on it, so wall times are indicative.

${markdownTable(['writers', 'wall s', 'writing s', 'writer CPU s', 'merge s'], [row('1 process', measured.single), row(`${workers} processes + merge`, measured.split)])}

Split over ${workers} processes: ${speedup.toFixed(2)}× the one-process speed.
Raw numbers: [bench/results/merge.json](bench/results/merge.json).`
  await writeFile(
    `${repo}/bench/results/merge.json`,
    `${JSON.stringify({ chunks, side, workers, repeats, machine, measured, speedup }, null, 2)}\n`,
  )
  await writeFile(`${repo}/bench/results/merge.md`, `${md}\n`)
  console.log(md)
} finally {
  await daemon.stop()
}
