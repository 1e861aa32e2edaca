// Runs the HAMT benchmark: ts-hamt (set + flush, and the bulk HAMT.fromEntries), py-hamt 3.6.0 and iamap, and the Go and Rust peers go-hamt-ipld and
// fvm_ipld_hamt (bench/peers/, built by scripts/peers-env.sh), same keys and gets, each run in its own
// process (for a clean peak RSS), interleaved over rounds; writes the medians to bench/results/hamt.md
// and hamt.json. Fails when a runner's gets disagree with the others', or fromEntries' root with set + flush's.
// Usage: tsx bench/run.ts [--sizes 10000,100000,1000000] [--gets 100000] [--seed 7] [--rounds 3] [--peers false]
//   [--iamap-max-keys 100000] [--py-max-keys N]: the slow JS and Python peers only up to that many keys
//   (py-hamt takes ~5 min a round at 1M keys), for a shorter run. [--out hamt]: the results' file name.
// The JS runners run on the Node that runs this script (e.g. Node 24 with `--out hamt-node24`).
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pyHamtPython } from '../test/helpers/python.js'
import { arg, bundleForNode } from './common.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const sizes = arg('sizes', '10000,100000,1000000').split(',').map(Number)
const gets = Number(arg('gets', '100000'))
const seed = arg('seed', '7')
const rounds = Number(arg('rounds', '3'))
const withPeers = arg('peers', 'true') !== 'false'
// iamap saves every intermediate node of every set and its store keeps them all: 2.3 GB at 100k keys,
// so 1M would not fit in this machine's memory.
const iamapMaxKeys = Number(arg('iamap-max-keys', '100000'))
const pyMaxKeys = Number(arg('py-max-keys', String(Number.POSITIVE_INFINITY)))
const out = arg('out', 'hamt')
// The JS runners run bundled, as users run the package, not as tsx transforms it (its `__name`
// wrappers around closures): builds then cost 5-25% less CPU, gets 10-20% more (bench/notes.md).
const workerBundle = await bundleForNode(fileURLToPath(new URL('hamt-worker.ts', import.meta.url)))

type Result = {
  impl: string
  n: number
  gets: number
  setSeconds: number
  flushSeconds: number
  getSeconds: number
  peakRssBytes: number
  /** CPU seconds of the build (set + flush, or fromEntries), ts-hamt only. */
  buildCpuSeconds?: number
  /** CPU seconds of all gets, and of the first `firstGets` (V8's warm-up), ts-hamt only. */
  getCpuSeconds?: number
  firstGets?: number
  firstGetsCpuSeconds?: number
  root?: string
  /** Blocks in the store after the flush (nodes, plus one per value where values are blocks). */
  blocks?: number
  /** Sum of the values the gets returned: every runner checks its own, this checks they agree. */
  getSum?: number
}

const runners = [
  'ts-hamt',
  'ts-hamt-bulk',
  'py-hamt',
  'iamap',
  'go-hamt-ipld',
  'fvm-inline',
  'fvm-blocks',
] as const
type Runner = (typeof runners)[number]
const peers: Runner[] = ['go-hamt-ipld', 'fvm-inline', 'fvm-blocks']

// The peers' binaries, built (or found cached) once: the go-hamt-ipld runner, then fvm_ipld_hamt's.
const peerBins = withPeers
  ? (await run('bash', [`${repo}/scripts/peers-env.sh`], { maxBuffer: 1 << 20, timeout: 1_800_000 })).stdout
      .trim()
      .split('\n')
      .slice(-2)
  : []

async function measure(runner: Runner, n: number): Promise<Result> {
  const options = { cwd: repo, maxBuffer: 1 << 24, timeout: 3_600_000 }
  const counts = [String(n), String(gets), seed]
  const [file, args] =
    runner === 'py-hamt'
      ? [await pyHamtPython(), ['-W', 'ignore', 'bench/pyhamt_bench.py', ...counts]]
      : runner === 'go-hamt-ipld'
        ? [peerBins[0] as string, counts]
        : runner === 'fvm-inline' || runner === 'fvm-blocks'
          ? [peerBins[1] as string, [runner === 'fvm-inline' ? 'inline' : 'blocks', ...counts]]
          : [process.execPath, [workerBundle, runner, ...counts]]
  const { stdout } = await run(file, args, options)
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Result
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

// Interleaved: each round runs every implementation at every size once, so a slow spell of the
// machine falls on all of them alike.
const loadAtStart = os.loadavg()[0] as number
const runs = new Map<string, Result[]>()
for (let round = 1; round <= rounds; round++) {
  for (const n of sizes) {
    for (const runner of runners) {
      if (runner === 'iamap' && n > iamapMaxKeys) continue
      if (runner === 'py-hamt' && n > pyMaxKeys) continue
      if (!withPeers && peers.includes(runner)) continue
      process.stderr.write(`bench: round ${round}/${rounds}, ${runner} with ${n} keys… `)
      const result = await measure(runner, n)
      process.stderr.write(`${(result.setSeconds + result.flushSeconds).toFixed(2)} s to build\n`)
      const key = `${runner} ${n}`
      runs.set(key, [...(runs.get(key) ?? []), result])
    }
  }
}

// fromEntries must build the very tree set + flush builds: the same root in every round.
for (const n of sizes) {
  const roots = ['ts-hamt', 'ts-hamt-bulk'].flatMap((runner) =>
    (runs.get(`${runner} ${n}`) ?? []).map((r) => r.root),
  )
  if (new Set(roots).size !== 1)
    throw new Error(`fromEntries and set + flush give different roots at ${n} keys: ${roots.join(', ')}`)
}

// Every runner checked its own gets (key-i must hold i); equal sums show they also read the same keys.
for (const n of sizes) {
  const sums = [...runs.entries()]
    .filter(([key]) => key.endsWith(` ${n}`))
    .flatMap(([key, results]) => results.map((r) => [key, r.getSum] as const))
    .filter(([, sum]) => sum !== undefined)
  if (new Set(sums.map(([, sum]) => sum)).size > 1)
    throw new Error(`runners' gets disagree at ${n} keys: ${JSON.stringify(sums)}`)
}

const byRunner = new Map<string, Result>()
for (const [key, results] of runs) {
  const first = results[0] as Result
  byRunner.set(key, {
    ...first,
    setSeconds: median(results.map((r) => r.setSeconds)),
    flushSeconds: median(results.map((r) => r.flushSeconds)),
    getSeconds: median(results.map((r) => r.getSeconds)),
    peakRssBytes: median(results.map((r) => r.peakRssBytes)),
    ...(first.buildCpuSeconds === undefined
      ? {}
      : { buildCpuSeconds: median(results.map((r) => r.buildCpuSeconds as number)) }),
    ...(first.getCpuSeconds === undefined
      ? {}
      : {
          getCpuSeconds: median(results.map((r) => r.getCpuSeconds as number)),
          firstGetsCpuSeconds: median(results.map((r) => r.firstGetsCpuSeconds as number)),
        }),
  })
}
const results = [...byRunner.values()]

const find = (runner: Runner, n: number): Result | undefined => byRunner.get(`${runner} ${n}`)
const build = (r: Result): number => r.setSeconds + r.flushSeconds
const perOp = (seconds: number, ops: number): string => `${((seconds / ops) * 1e6).toFixed(2)} µs`
const ratio = (ours: number, theirs: number | undefined): string =>
  theirs === undefined ? 'not run' : `${(theirs / ours).toFixed(1)}×`
const mb = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`

const rows = sizes.map((n) => {
  const ts = find('ts-hamt', n) as Result
  const py = find('py-hamt', n)
  const ia = find('iamap', n)
  if (py?.root !== undefined && py.root !== ts.root)
    throw new Error(`roots differ at ${n} keys: ${ts.root} vs ${py.root}`)
  return [
    n.toLocaleString('en'),
    perOp(build(ts), n),
    ratio(build(ts), py && build(py)),
    ratio(build(ts), ia && build(ia)),
    perOp(ts.getSeconds, ts.gets),
    ratio(ts.getSeconds, py?.getSeconds),
    ratio(ts.getSeconds, ia?.getSeconds),
    mb(ts.peakRssBytes),
    py ? mb(py.peakRssBytes) : '–',
    ia ? mb(ia.peakRssBytes) : '–',
  ]
})
const bulkRows = sizes.map((n) => {
  const ts = find('ts-hamt', n) as Result
  const bulk = find('ts-hamt-bulk', n) as Result
  const py = find('py-hamt', n)
  const fvm = find('fvm-blocks', n)
  const cpu = (r: Result): number => r.buildCpuSeconds ?? build(r)
  return [
    n.toLocaleString('en'),
    perOp(build(bulk), n),
    perOp(cpu(bulk), n),
    perOp(build(ts), n),
    perOp(cpu(ts), n),
    ratio(cpu(bulk), cpu(ts)),
    ratio(build(bulk), py && build(py)),
    fvm ? `${(build(bulk) / build(fvm)).toFixed(1)}×` : '–',
    mb(bulk.peakRssBytes),
    mb(ts.peakRssBytes),
  ]
})
const raw = results.map(
  (r) =>
    `| ${r.impl} | ${r.n.toLocaleString('en')} | ${r.setSeconds.toFixed(3)} | ${r.flushSeconds.toFixed(3)} | ${r.buildCpuSeconds?.toFixed(3) ?? '–'} | ${r.getSeconds.toFixed(3)} | ${mb(r.peakRssBytes)} | ${r.blocks?.toLocaleString('en') ?? '–'} |`,
)

// Per key, every implementation side by side (build = set + flush), and ts-hamt against the peer that
// stores the same blocks as ts-hamt (fvm_ipld_hamt with each value a block).
const us = (seconds: number, ops: number): string => ((seconds / ops) * 1e6).toFixed(2)
const perKey = (runner: Runner): string[] => {
  const cells = sizes.map((n) => {
    const r = find(runner, n)
    return r ? `${us(build(r), n)} / ${us(r.getSeconds, r.gets)}` : '–'
  })
  const largest = [...sizes]
    .reverse()
    .map((n) => find(runner, n))
    .find((r) => r !== undefined)
  return [largest?.impl ?? runner, ...cells, largest ? mb(largest.peakRssBytes) : '–']
}
const vsFvm = (runner: Runner): string[] =>
  sizes.map((n) => {
    const ts = find(runner, n) as Result
    const fvm = find('fvm-blocks', n)
    return fvm
      ? `${(build(ts) / build(fvm)).toFixed(1)}× / ${(ts.getSeconds / fvm.getSeconds).toFixed(1)}×`
      : '–'
  })
const peerRows = [
  ...runners.filter((r) => sizes.some((n) => find(r, n))).map(perKey),
  ['ts-hamt ÷ fvm_ipld_hamt (values as blocks)', ...vsFvm('ts-hamt'), ''],
  ['ts-hamt fromEntries ÷ fvm_ipld_hamt (values as blocks)', ...vsFvm('ts-hamt-bulk'), ''],
]
const peerTable = `| per key, µs: build / get | ${sizes.map((n) => n.toLocaleString('en')).join(' | ')} | peak RSS at ${Math.max(...sizes).toLocaleString('en')} |
|---|${sizes.map(() => '---:|').join('')}---:|
${peerRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`
const markdown = `## In memory: ts-hamt, py-hamt and iamap${out === 'hamt' ? '' : ` (${out})`}

Generated by \`npm run bench\` (\`bench/run.ts\`) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.
Load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${(os.loadavg()[0] as number).toFixed(1)} at the end.
Every implementation runs in its own process on the same machine in the same run (ts-hamt and iamap as
plain JavaScript, bundled with esbuild, not through tsx); ratios are
ts-hamt's throughput divided by the peer's (higher is better for ts-hamt). Raw numbers: [bench/results/${out}.json](bench/results/${out}.json).

- **Build**: set keys \`key-0\`…\`key-{n-1}\` with the integer values 0…n-1 (DAG-CBOR), then flush to the
  store and take the root. In-memory store on both sides (ts-hamt \`MemoryStore\`, py-hamt \`InMemoryCAS\`),
  default bucket size 4, BLAKE3. ts-hamt and py-hamt produce the same root ID (checked by the runner).
- **Get**: ${gets.toLocaleString('en')} random gets (seeded) on the map reopened read-only by its root, starting from a cold cache.
- **iamap** 3 (rvagg), as a JS peer: same hash (BLAKE3), bucket size 4, 256-wide nodes, DAG-CBOR nodes
  named by BLAKE3 CIDs in a memory store. It keeps values inline and saves every changed node on every
  set (it has no write buffer), so its build cost includes what ts-hamt defers to \`flush()\`.
  ${sizes.some((n) => n > iamapMaxKeys) ? `Not run above ${iamapMaxKeys.toLocaleString('en')} keys: its store holds every intermediate node (2.3 GB at 100k keys, so 1M does not fit this machine).` : ''}
  ${sizes.some((n) => n > pyMaxKeys) ? `py-hamt not run above ${pyMaxKeys.toLocaleString('en')} keys in this run (\`--py-max-keys\`, to keep the run short).` : ''}
- Peak memory is the process's peak RSS, including the in-memory store holding every block.

| keys | ts-hamt build per key | vs py-hamt | vs iamap | ts-hamt get | vs py-hamt | vs iamap | peak RSS ts-hamt | py-hamt | iamap |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

### Bulk build: \`HAMT.fromEntries\` against set + flush

The same keys and values through \`HAMT.fromEntries\` (from a generator, so no input array is held),
in a process of its own, in the same rounds; its root equals set + flush's (checked by the runner in
every round). Its gets run on the map it returned, reopened by root as above. CPU is the process's
user + system time over the build, steadier than wall time on a shared machine; the speed-up is CPU
against CPU, the peer columns wall against wall (the peers report wall time only).

| keys | fromEntries per key (wall) | fromEntries (CPU) | set + flush (wall) | set + flush (CPU) | fromEntries speed-up (CPU) | fromEntries vs py-hamt | fromEntries ÷ fvm_ipld_hamt (blocks) | peak RSS fromEntries | peak RSS set + flush |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${bulkRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

### Peers: go-hamt-ipld and fvm_ipld_hamt

${withPeers ? '' : 'Not run (`--peers false`).\n\n'}The Go and Rust HAMTs of the Filecoin field, on the same workload (same keys, values, gets and seed,
256-wide nodes, BLAKE3 of the key's UTF-8 bytes, DAG-CBOR blocks named by BLAKE3 CIDs, in-memory store,
cold reopen before the gets). Our runners in \`bench/peers/\`, built from the Go module proxy and crates.io by
\`scripts/peers-env.sh\`. Both use buckets of 3 (go-hamt-ipld's is a constant; fvm_ipld_hamt's default)
where ts-hamt and py-hamt use 4.

- **go-hamt-ipld** v3.4.1 keeps values inline in the buckets; its store's \`DefaultMultihash\` is BLAKE3.
- **fvm_ipld_hamt** 0.10.6 in two layouts: values inline, and \`Hamt<String, Cid>\` with each value
  \`put_cbor\` as its own block, as ts-hamt and py-hamt store them (its gets then read the value block
  too). fvm_ipld_hamt asks for Blake2b-256 IDs at flush whatever it is configured with, so the runner's
  store names every block by its BLAKE3 multihash instead.
- Honesty checks: every runner checks that each get returns its key's value and reports the sum, which
  must agree across runners; the peers also walk the whole map afterwards (untimed) and fail unless
  every entry is there and the blocks read are exactly the blocks stored.
- ${rounds} interleaved round${rounds === 1 ? '' : 's'}, medians (here and above).

${peerTable}

Raw seconds (medians):

| implementation | keys | set | flush | build CPU | gets | peak RSS | blocks |
|---|---:|---:|---:|---:|---:|---:|---:|
${raw.join('\n')}
`
await writeFile(
  `${repo}/bench/results/${out}.json`,
  `${JSON.stringify({ date: new Date().toISOString(), gets, rounds, results, runs: [...runs.values()].flat() }, null, 2)}\n`,
)
await writeFile(`${repo}/bench/results/${out}.md`, markdown)
process.stderr.write(
  `bench: wrote bench/results/${out}.md and ${out}.json (bench/report.ts makes BENCHMARKS.md)\n`,
)
