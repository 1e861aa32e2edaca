// Assembles BENCHMARKS.md from the sections the runners wrote (bench/results/*.md) and the
// hand-written notes (bench/notes.md), then formats it as the linter wants.
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string): Promise<string> =>
  readFile(`${repo}/${path}`, 'utf8').then((text) => text.trim())
/** A section only some runs make (e.g. the Node 24 HAMT run): empty when it is not there. */
const readIfThere = (path: string): Promise<string> => read(path).catch(() => '')
const sections = [
  '# Benchmarks\n\nMade by `npm run bench` (each runner in `bench/`, then `bench/report.ts`). Every comparison is\nmeasured side by side in the same run on the same machine; raw numbers are in `bench/results/`.',
  await read('bench/results/hamt.md'),
  await readIfThere('bench/results/hamt-node24.md'),
  await read('bench/results/kubo.md'),
  await read('bench/results/zarr.md'),
  await read('bench/results/zarr-node24.md'),
  await read('bench/results/sharded.md'),
  await read('bench/results/dataset-sel.md'),
  await read('bench/results/diff.md'),
  await read('bench/results/merge.md'),
  await read('bench/results/gc.md'),
  await read('bench/results/zstd.md'),
  await read('bench/results/zstd-node24.md'),
  await read('bench/notes.md'),
]
await writeFile(`${repo}/BENCHMARKS.md`, `${sections.filter((s) => s !== '').join('\n\n')}\n`)
execFileSync('npx', ['biome', 'format', '--write', 'BENCHMARKS.md'], { cwd: repo, stdio: 'ignore' })
console.log('bench: wrote BENCHMARKS.md')
