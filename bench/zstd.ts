// zstd decoders for zarrita, on the real chunks of the Zarr benchmark's dataset (written by zarr-python
// through bench/pyhamt_zarr_bench.py write-local: the same frames bench/zarr.ts reads from Kubo). Every
// candidate's output is checked byte for byte against zarrita's default (numcodecs' WASM build) first.
// Rows: the npm candidates in this thread; ts-hamt/node's decoder in this thread and on worker threads (all
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
  const rows: Array<{ name: string; note: string; seconds: number[] }> = []
  for (const { name, decode, note } of candidates) {
    for (const [i, frame] of frames.entries()) {
      if (!same(await decode(frame, sizes[i] as number), reference[i] as Uint8Array)) {
        throw new Error(`${name} decodes chunk ${files[i]} differently from numcodecs`)
      }
    }
    const seconds: number[] = []
    for (let r = 0; r < repeats; r++) {
      const start = performance.now()
      for (const [i, frame] of frames.entries()) await decode(frame, sizes[i] as number)
      seconds.push((performance.now() - start) / 1000)
    }
    rows.push({ name, note, seconds })
    process.stderr.write(`bench/zstd: ${name} ${median(seconds).toFixed(3)} s\n`)
  }

  // ts-hamt/node's decoder in this thread and on its default worker threads, all chunks asked at once as zarrita does.
  for (const threads of [0, Math.min(Math.max(os.availableParallelism() - 1, 1), 4)]) {
    const workers = nodeWorkers({ threads })
    const decode = (f: Uint8Array, i: number): Promise<Uint8Array> =>
      Promise.resolve(workers.zstdDecoder.decode(f, sizes[i] as number))
    try {
      const all = await Promise.all(frames.map(decode))
      for (const [i, d] of all.entries()) {
        if (!same(d, reference[i] as Uint8Array))
          throw new Error(`nodeWorkers decodes ${files[i]} differently`)
      }
      const seconds: number[] = []
      for (let r = 0; r < repeats; r++) {
        const start = performance.now()
        await Promise.all(frames.map(decode))
        seconds.push((performance.now() - start) / 1000)
      }
      const where = threads === 0 ? 'in this thread' : `on ${threads} worker thread(s)`
      rows.push({ name: `nodeWorkers, ${where}`, note: 'ts-hamt/node (@foxglove/wasm-zstd)', seconds })
    } finally {
      await workers.close()
    }
  }
  const native = await py<{ seconds: number[]; bytes: number }>('decode-local', dir, String(repeats))
  if (native.bytes !== decoded) throw new Error(`numcodecs (C) decoded ${native.bytes} bytes, not ${decoded}`)
  rows.push({
    name: 'numcodecs (C) from Python',
    note: "zarr-python's decoder, one thread",
    seconds: native.seconds,
  })

  const base = median(rows[0]?.seconds ?? [])
  const body = rows.map(({ name, note, seconds }) => {
    const s = median(seconds)
    return [
      name,
      note,
      (s * 1000).toFixed(0),
      ((s * 1000) / frames.length).toFixed(2),
      `${(base / s).toFixed(2)}×`,
      (decoded / s / 1e6).toFixed(0),
    ]
  })
  const markdown = `## zstd decoders on the Zarr benchmark's chunks

Generated by \`node --import tsx bench/zstd.ts\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.
The ${frames.length} chunks of \`temp\` (zstd level 3, ${(compressed / 1e6).toFixed(1)} MB compressed, ${(decoded / 1e6).toFixed(1)} MB decoded), written by zarr-python;
every decoder's output equals numcodecs' byte for byte. Medians of ${repeats} passes over all chunks; speed-up
against zarrita's default; MB/s of decoded bytes.

${markdownTable(['decoder', 'what', 'ms', 'ms / chunk', 'speed-up', 'MB/s'], body)}
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
