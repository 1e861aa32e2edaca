// CPU to import the package's entries as users load them (tsc's dist/, one file per module): medians of
// separate processes, alternating entries and Node versions, plus how many modules each import resolves.
// Usage: npm run build && tsx bench/import-cost.ts [--rounds 11] [--entries index.node.js,index.js]
//        [--node24 "$(bash scripts/node-env.sh | tail -n1)"]
// Not part of bench/run.ts: import time is start-up, which the HAMT tables do not time.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { arg } from './common.js'

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
if (!existsSync(`${dist}index.js`)) throw new Error('no dist/: run `npm run build` first')
const rounds = Number(arg('rounds', '11'))
const entries = arg('entries', 'index.node.js,index.js').split(',')
const nodes: Array<[string, string]> = [['node', process.execPath]]
const node24 = arg('node24', '')
if (node24 !== '') nodes.push(['node24', node24])

// Each child times its own import: CPU (user + system, all threads) and wall, and counts the URLs a
// resolve hook saw. The hook runs off the main thread, so it is only in the counting runs.
const timed = (url: string): string => `const c = process.cpuUsage(); const t = performance.now()
await import(${JSON.stringify(url)})
const u = process.cpuUsage(c)
console.log(JSON.stringify({ cpu: (u.user + u.system) / 1e3, wall: performance.now() - t }))`
const hook = `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('R ' + r.url + '\\n'); return r }`
const counted = (url: string): string => `import { register } from 'node:module'
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})
await import(${JSON.stringify(url)})`

/** Runs `script` in `node`; its stdout and stderr. */
function run(node: string, script: string): { stdout: string; stderr: string } {
  const child = spawnSync(node, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  if (child.status !== 0) throw new Error(`${node} failed: ${child.stderr}`)
  return { stdout: child.stdout, stderr: child.stderr }
}
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1] as number
}

const cpu = new Map<string, number[]>()
for (let round = 0; round < rounds; round++) {
  for (const [name, node] of nodes) {
    for (const entry of entries) {
      const { stdout } = run(node, timed(new URL(entry, `file://${dist}`).href))
      const key = `${name} ${entry}`
      cpu.set(key, [...(cpu.get(key) ?? []), JSON.parse(stdout).cpu as number])
    }
  }
}
for (const [name, node] of nodes) {
  for (const entry of entries) {
    const url = new URL(entry, `file://${dist}`).href
    const { stderr } = run(node, counted(url))
    const modules = new Set(stderr.split('\n').filter((line) => line.startsWith('R '))).size
    const key = `${name} ${entry}`
    console.log(
      `${key}: median ${median(cpu.get(key) ?? []).toFixed(1)} ms CPU over ${rounds} processes, ${modules} modules resolved`,
    )
  }
}
