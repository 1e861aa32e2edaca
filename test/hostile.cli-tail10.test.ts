// A stranger's keys and values must not drive the user's terminal: text printed to a terminal shows
// control characters as escapes, while pipes, --json and --out files keep the exact text.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { cliBinary, ensureCliBuilt, runCli } from './helpers/cli.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-tail10-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)

const cli = (...args: string[]) => runCli(scratch, args, 60_000)

// Clear the screen, set the window title, a C1 CSI (U+009B), a right-to-left override, a bell, a newline.
const attacks = ['\x1b[2J', '\x1b]0;pwned\x07', '\u009b31m', '\u202e', '\r', '\x08', '\n']
/** Whether `text` has a character a terminal acts on (tabs aside): C0, DEL, C1 or the override. */
const harmful = (text: string): boolean =>
  [...text].some((char) => {
    const code = char.codePointAt(0) as number
    return (code < 0x20 && code !== 0x09) || (code >= 0x7f && code <= 0x9f) || code === 0x202e
  })
const hostile = (): string =>
  Array.from(
    { length: 3 },
    () =>
      `${String.fromCharCode(97 + Math.floor(random() * 26))}${attacks[Math.floor(random() * attacks.length)]}`,
  ).join('')

/** Runs the CLI with its stdout and stderr on a real pseudo-terminal (util-linux `script`). */
async function onTerminal(args: string[]): Promise<string> {
  const env = { ...process.env, TS_HAMT_STORE: '', NODE: process.execPath, CLI: cliBinary }
  const argv = args.map((_, index) => `"$A${index}"`).join(' ')
  for (const [index, arg] of args.entries()) (env as Record<string, string>)[`A${index}`] = arg
  const run = promisify(execFile)('script', ['-qec', `"$NODE" "$CLI" ${argv}`, '/dev/null'], {
    cwd: scratch,
    env,
  })
  // script exits with the command's code (-e): a failed command's output is on the error.
  const { stdout } = await run.catch((error: { stdout: string }) => error)
  return stdout.replaceAll('\r\n', '\n') // the terminal's own line endings
}

describe(`a stranger's key and value (seed ${seed})`, () => {
  const key = `key${hostile()}`
  const value = `value${hostile()}`
  let root = ''
  before(async () => {
    const empty = (await cli('create')).stdout.trim()
    const set = await cli('set', empty, key, value)
    assert.equal(set.code, 0, set.stderr)
    root = set.stdout.trim()
  })

  it('on a terminal, keys and get show control characters escaped', async () => {
    const listed = await onTerminal(['keys', root])
    assert.ok(!harmful(listed.trimEnd()), JSON.stringify(listed))
    assert.ok(listed.startsWith('key'), JSON.stringify(listed))
    assert.match(listed, /\\x1b|\\u009b|\\u202e|\\r|\\x08|\\n/)
    const got = await onTerminal(['get', root, key])
    assert.ok(!harmful(got.trimEnd()), JSON.stringify(got))
  })

  it('on a terminal, an error quoting the key shows it escaped', async () => {
    const missing = `${key}${hostile()}`
    const said = await onTerminal(['get', root, missing])
    assert.match(said, /ERR_KEY_NOT_FOUND/)
    assert.ok(!harmful(said.trimEnd()), JSON.stringify(said))
  })

  it('into a pipe, and with --json, the exact text', async () => {
    assert.equal((await cli('keys', root)).stdout, `${key}\n`)
    assert.equal((await cli('get', root, key)).stdout, `${value}\n`)
    const json = JSON.parse((await cli('get', root, key, '--json')).stdout) as { value: string }
    assert.equal(json.value, value)
  })
})
