// collectGarbage on a DiskStore of about --blocks blocks: two maps of small raw values, one kept.
// Each collection runs in a child process of its own, so its peak RSS is the collection's
// (against a child that only opens the store). Times are wall time and process CPU time; the
// machine is shared, so CPU time is the steadier figure.
// Usage: node --import tsx bench/gc.ts [--blocks 1000000] [--dir DIR] [--out gc]
// Writes bench/results/NAME.json and NAME.md. The store is built once in DIR and kept for reruns.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { arg, markdownTable } from './common.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const blocks = Number(arg('blocks', '1000000'))
const dir = arg('dir', join(tmpdir(), `ts-hamt-gc-bench-${blocks}`))
const out = arg('out', 'gc')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')
await loadBlake3()

interface Run {
  wallMs: number
  cpuMs: number
  maxRssMiB: number
  result?: unknown
}

// In a child: `--child open|dry|real ROOT`.
const mode = process.argv[process.argv.indexOf('--child') + 1]
if (process.argv.includes('--child')) {
  const keep = process.argv[process.argv.indexOf('--child') + 2] as string
  const start = performance.now()
  const cpu = process.cpuUsage()
  const store = await DiskStore.open(dir, { createIfMissing: false })
  const result =
    mode === 'open' ? undefined : await collectGarbage(store, { keep: [keep], dryRun: mode === 'dry' })
  const used = process.cpuUsage(cpu)
  const run: Run = {
    wallMs: performance.now() - start,
    cpuMs: (used.user + used.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    result,
  }
  process.stdout.write(JSON.stringify(run))
  process.exit(0)
}

/** Two maps of `blocks / 2` values each (a value a raw block); returns the root to keep. */
async function build(): Promise<string> {
  const rootFile = join(dir, 'bench-roots.json')
  if (existsSync(rootFile)) return (await import(rootFile, { with: { type: 'json' } })).default.keep
  const store = await DiskStore.open(dir)
  const roots: string[] = []
  for (const version of [0, 1]) {
    const start = performance.now()
    const map = await HAMT.fromEntries<Uint8Array>(
      (function* () {
        for (let i = 0; i < blocks / 2; i++) {
          const value = new Uint8Array(64)
          new DataView(value.buffer).setUint32(0, i)
          value[4] = version
          yield [`key-${i}`, value] as const
        }
      })(),
      { store, valuesAreBytes: true },
    )
    roots.push(String(await map.flush()))
    console.error(`built version ${version} in ${((performance.now() - start) / 1000).toFixed(0)} s`)
  }
  await writeFile(rootFile, JSON.stringify({ keep: roots[1], drop: roots[0] }))
  return roots[1] as string
}

async function child(which: string, keep: string): Promise<Run> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bench/gc.ts', '--blocks', String(blocks), '--dir', dir, '--child', which, keep],
    { cwd: repo, maxBuffer: 1 << 20 },
  )
  return JSON.parse(stdout) as Run
}

const NOTE = `dry: mark and list, nothing removed; real: the collection; again: a second one (mark and list only).
Linux carries a parent's peak RSS into a child it spawns, so a row's peak is at least the
baseline row's (a child that only opens the store): the bench process that built the store is large.`

const keep = await build()
const baseline = await child('open', keep)
const dry = await child('dry', keep)
const real = await child('real', keep)
const again = await child('real', keep)
const rows = { baseline, dry, real, again }
console.log(JSON.stringify({ blocks, rows }, null, 2))
const table = markdownTable(
  ['run', 'wall s', 'CPU s', 'peak RSS MiB', 'marked', 'removed'],
  Object.entries(rows).map(([name, run]) => {
    const result = run.result as { marked?: number; removed?: number } | undefined
    return [
      name,
      (run.wallMs / 1000).toFixed(1),
      (run.cpuMs / 1000).toFixed(1),
      run.maxRssMiB.toFixed(0),
      String(result?.marked ?? ''),
      String(result?.removed ?? ''),
    ]
  }),
)
const cpus = os.cpus()
const machine = `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(1)} at the end`
await writeFile(join(repo, `bench/results/${out}.json`), `${JSON.stringify({ blocks, rows }, null, 2)}\n`)
await writeFile(
  join(repo, `bench/results/${out}.md`),
  `## Garbage collection: collectGarbage on a DiskStore of ${blocks} blocks (two maps, one kept)\n\nMachine: ${machine}. No peer collects a DiskStore: absolute times, indicative only.\n\n${table}\n\n${NOTE}\n`,
)
if (arg('clean', 'false') === 'true') await rm(dir, { recursive: true, force: true })
