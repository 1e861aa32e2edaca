// zstd decoders for zarrita, on the real chunks of the Zarr benchmark's dataset (written by zarr-python
// through bench/pyhamt_zarr_bench.py write-local: the same frames bench/zarr.ts reads from Kubo). Every
// candidate's output is checked byte for byte against zarrita's default (numcodecs' WASM build) first.
// Rows: the npm candidates in this thread; Node's zlib (22.15+: the default of ts-hamt/zstd in Node), one
// chunk at a time and all at once (libuv's threads); ts-hamt/node's decoder in this thread and on worker threads (all
// chunks at once, as zarrita asks); numcodecs' C library from Python in one thread (zarr-python's decoder), the native floor.
// Usage: node --import tsx bench/zstd.ts [--repeats 5] [--out zstd]
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import NumcodecsZstd from 'numcodecs/zstd'
import { ZSTDDecoder } from 'zstddec'
import { nodeWorkers } from '../src/node/index.js'
import { zstdFrameContentSize } from '../src/zarr/zstd.js'
import { zlibDecoder } from '../src/zstd/zlib.js'
import { pyHamtPython } from '../test/helpers/python.js'
import { arg, markdownTable } from './common.js'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const repo = fileURLToPath(new URL('..', import.meta.url))
const repeats = Number(arg('repeats', '5'))
const out = arg('out', 'zstd')
if (!Number.isSafeInteger(repeats) || repeats < 1) throw new Error('--repeats must be a positive integer')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')

type Decode = (frame: Uint8Array, size: number) => Uint8Array | Promise<Uint8Array>

const python = await pyHamtPython()
const py = async <T>(...args: string[]): Promise<T> => {
  const { stdout } = await run(python, ['-W', 'ignore', `${repo}/bench/pyhamt_zarr_bench.py`, ...args], {
    maxBuffer: 1 << 24,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T
}

const dir = await mkdtemp(join(os.tmpdir(), 'ts-hamt-zstd-'))
try {
  await py('write-local', dir)
  const files: string[] = []
  for (const t of await readdir(`${dir}/temp/c`)) {
    for (const y of await readdir(`${dir}/temp/c/${t}`)) {
      for (const x of await readdir(`${dir}/temp/c/${t}/${y}`)) files.push(`${dir}/temp/c/${t}/${y}/${x}`)
    }
  }
  const frames = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))))
  const sizes = frames.map((frame) => zstdFrameContentSize(frame) as number)
  const compressed = frames.reduce((n, f) => n + f.length, 0)
  const decoded = sizes.reduce((n, s) => n + s, 0)

  const numcodecs = new NumcodecsZstd(3)
  const zstddec = new ZSTDDecoder()
  await zstddec.init()
  const fzstd = await import('fzstd')
  const bokuweb = require('@bokuweb/zstd-wasm') as typeof import('@bokuweb/zstd-wasm')
  await bokuweb.init()
  const foxglove = require('@foxglove/wasm-zstd') as {
    isLoaded: Promise<void>
    decompress(src: Uint8Array, size: number): Uint8Array
  }
  await foxglove.isLoaded
  const candidates: Array<{ name: string; decode: Decode; note: string }> = [
    { name: 'numcodecs 0.3.2', decode: (f) => numcodecs.decode(f), note: "zarrita's default (WASM)" },
    {
      name: 'zstddec 0.3.4',
      decode: (f, size) => zstddec.decode(f, size),
      note: "ts-hamt's (WASM, ESM, embedded)",
    },
    {
      name: '@foxglove/wasm-zstd 1.0.1',
      decode: (f, size) => foxglove.decompress(f, size),
      note: 'WASM; CJS, .wasm file, fs',
    },
    { name: '@bokuweb/zstd-wasm 0.0.27', decode: (f) => bokuweb.decompress(f), note: 'WASM; .wasm file' },
    { name: 'fzstd 0.1.1', decode: (f) => fzstd.decompress(f), note: 'pure JS' },
  ]

  const reference = await Promise.all(frames.map((f) => numcodecs.decode(f)))
  const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0 && a.length === b.length
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number

  /** One pass over every chunk: one at a time, or all asked at once as zarrita asks. */
  type Pass = { name: string; note: string; decode: Decode; allAtOnce: boolean }
  const passes: Pass[] = candidates.map((c) => ({ ...c, allAtOnce: false }))
  // Node's zlib (absent on Node 20), ts-hamt/zstd's default there.
  if (zlibDecoder !== undefined) {
    const zlib = zlibDecoder
    const note = "ts-hamt/zstd's default in Node 22.15+"
    const name = `node:zlib (zstd ${process.versions.zstd ?? '?'})`
    passes.push({ name: `${name}, one chunk at a time`, note, decode: zlib.decode, allAtOnce: false })
    passes.push({
      name: `${name}, all at once (libuv's threads)`,
      note,
      decode: zlib.decode,
      allAtOnce: true,
    })
  }
  // ts-hamt/node's decoder in this thread and on its default worker threads, all chunks asked at once.
  const pools = [0, Math.min(Math.max(os.availableParallelism() - 1, 1), 4)].map((threads) => {
    const workers = nodeWorkers({ threads })
    const where = threads === 0 ? 'in this thread' : `on ${threads} worker thread(s)`
    passes.push({
      name: `nodeWorkers, ${where}`,
      note: 'ts-hamt/node (@foxglove/wasm-zstd)',
      decode: workers.zstdDecoder.decode,
      allAtOnce: true,
    })
    return workers
  })
  const decodeAll = async ({ decode, allAtOnce }: Pass): Promise<Uint8Array[]> => {
    if (allAtOnce) return Promise.all(frames.map((f, i) => decode(f, sizes[i] as number)))
    const out: Uint8Array[] = []
    for (const [i, frame] of frames.entries()) out.push(await decode(frame, sizes[i] as number))
    return out
  }

  const rows: Array<{ name: string; note: string; seconds: number[]; cpuSeconds: number[] }> = passes.map(
    ({ name, note }) => ({ name, note, seconds: [], cpuSeconds: [] }),
  )
  try {
    for (const pass of passes) {
      for (const [i, out] of (await decodeAll(pass)).entries()) {
        if (!same(out, reference[i] as Uint8Array)) {
          throw new Error(`${pass.name} decodes chunk ${files[i]} differently from numcodecs`)
        }
      }
    }
    // Rounds alternate the decoders, so that load from elsewhere on the machine spreads over all of them.
    for (let r = 0; r < repeats; r++) {
      for (const [p, pass] of passes.entries()) {
        const cpu = process.cpuUsage()
        const start = performance.now()
        await decodeAll(pass)
        const row = rows[p] as (typeof rows)[number]
        row.seconds.push((performance.now() - start) / 1000)
        const { user, system } = process.cpuUsage(cpu)
        row.cpuSeconds.push((user + system) / 1e6)
      }
      process.stderr.write(`bench/zstd: round ${r + 1} of ${repeats}\n`)
    }
  } finally {
    await Promise.all(pools.map((workers) => workers.close()))
  }
  const native = await py<{ seconds: number[]; bytes: number }>('decode-local', dir, String(repeats))
  if (native.bytes !== decoded) throw new Error(`numcodecs (C) decoded ${native.bytes} bytes, not ${decoded}`)
  rows.push({
    name: 'numcodecs (C) from Python',
    note: "zarr-python's decoder, one thread",
    seconds: native.seconds,
    cpuSeconds: native.seconds, // one thread, timed in Python: wall time is its CPU time
  })

  const base = median(rows[0]?.seconds ?? [])
  const body = rows.map(({ name, note, seconds, cpuSeconds }) => {
    const s = median(seconds)
    return [
      name,
      note,
      (s * 1000).toFixed(0),
      (median(cpuSeconds) * 1000).toFixed(0),
      ((s * 1000) / frames.length).toFixed(2),
      `${(base / s).toFixed(2)}×`,
      (decoded / s / 1e6).toFixed(0),
    ]
  })
  const markdown = `## zstd decoders on the Zarr benchmark's chunks

Generated by \`node --import tsx bench/zstd.ts\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.
The ${frames.length} chunks of \`temp\` (zstd level 3, ${(compressed / 1e6).toFixed(1)} MB compressed, ${(decoded / 1e6).toFixed(1)} MB decoded), written by zarr-python;
every decoder's output equals numcodecs' byte for byte. Medians of ${repeats} passes over all chunks, the decoders
alternating pass by pass (wall ms, and CPU ms of every thread of the process); speed-up (wall) against zarrita's
default; MB/s of decoded bytes.

${markdownTable(['decoder', 'what', 'ms', 'CPU ms', 'ms / chunk', 'speed-up', 'MB/s'], body)}
`
  await writeFile(`${repo}/bench/results/${out}.md`, markdown)
  await writeFile(
    `${repo}/bench/results/${out}.json`,
    `${JSON.stringify({ date: new Date().toISOString(), chunks: frames.length, compressed, decoded, rows }, null, 2)}\n`,
  )
  await run('npx', ['biome', 'format', '--write', `bench/results/${out}.json`, `bench/results/${out}.md`], {
    cwd: repo,
  })
  process.stdout.write(markdown)
} finally {
  await rm(dir, { recursive: true, force: true })
}
