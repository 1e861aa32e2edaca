// `--out /dev/stdout` when the shell points stdout at a regular file (`{ …; echo after; } >> log`):
// the value goes into that stream where it stands, as any command's stdout does. Replacing the file
// by rename lost what the shell had written before and everything written after (to the old file).
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const word = (): string => `w${Math.floor(random() * 1e9).toString(36)}`
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-out-rev10-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** Runs the CLI (from source) in bash: `{ before; ts-hamt ARGS; echo after; } >> file`. */
function inShell(file: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const script = '{ "$@"; echo after; } >> "$OUT"'
  const child = spawn(
    'bash',
    ['-c', script, 'bash', process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args],
    {
      env: { ...process.env, OUT: file },
    },
  )
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })))
}

function run(args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args])
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk))
  return new Promise((resolve) => child.on('close', () => resolve(out.trim())))
}

describe('--out /dev/stdout with stdout redirected to a file', {
  skip: !existsSync('/proc/self/fd') && 'no /proc/self/fd',
}, () => {
  it('get --out /dev/stdout >> file: what the file held and what follows are kept (seed printed)', async () => {
    const store = join(scratch, 's')
    const [key, value, before] = [word(), word(), word()]
    let root = await run(['--store', store, 'create'])
    root = await run(['--store', store, 'set', root, key, value])
    const file = join(scratch, 'log')
    await writeFile(file, `${before}\n`)
    const result = await inShell(file, ['--store', store, 'get', root, key, '--out', '/dev/stdout'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await readFile(file, 'utf8'), `${before}\n${value}after\n`, `seed ${seed}`)
  })
  it('export ROOT /dev/stdout >> file: the CAR lands between what the shell wrote (seed printed)', async () => {
    const store = join(scratch, 'e')
    let root = await run(['--store', store, 'create'])
    root = await run(['--store', store, 'set', root, word(), word()])
    const car = join(scratch, 'alone.car')
    await run(['--store', store, 'export', root, car])
    const file = join(scratch, 'car-log')
    const before = word()
    await writeFile(file, `${before}\n`)
    const result = await inShell(file, ['--store', store, 'export', root, '/dev/stdout'])
    assert.equal(result.code, 0, result.stderr)
    const expected = Buffer.concat([Buffer.from(`${before}\n`), await readFile(car), Buffer.from('after\n')])
    assert.ok((await readFile(file)).equals(expected), `seed ${seed}`)
  })
})

describe('a FIFO nobody reads as the output file', {
  skip: process.platform === 'win32' && 'no FIFOs',
}, () => {
  // Opening a FIFO for writing blocks a libuv thread until a reader comes, and Node's exit waits
  // for that thread: SIGINT, SIGTERM, even a second signal, left the run hanging until SIGKILL.
  for (const command of ['export', 'get'] as const) {
    it(`${command}: SIGINT stops the run (exit 130), as README promises`, async () => {
      const store = join(scratch, `f-${command}`)
      let root = await run(['--store', store, 'create'])
      const key = word()
      const setStarted = performance.now()
      root = await run(['--store', store, 'set', root, key, word()])
      // A whole run of the CLI, as long as this machine takes now (the CI's load varies).
      const oneRun = performance.now() - setStarted
      const fifo = join(scratch, `fifo-${command}-${word()}`)
      execFileSync('mkfifo', [fifo])
      const args = command === 'export' ? ['export', root, fifo] : ['get', root, key, '--out', fifo]
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--store', store, ...args])
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      // Past start-up (tsx, the store) to the open of the FIFO: it never ends on its own. A signal
      // before the CLI's handlers are in place kills it (no exit code): at least twice a whole run
      // of `set` (4 s on a quiet machine was not enough at load 14).
      await new Promise((resolve) => setTimeout(resolve, Math.max(4000, 2 * oneRun)))
      child.kill('SIGINT')
      // A liveness bound, not a speed one: a run that ignores the signal is killed at last.
      const last = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const code = await exited
      clearTimeout(last)
      assert.equal(code, 130, `seed ${seed}: ${stderr}`)
    })
  }
})
