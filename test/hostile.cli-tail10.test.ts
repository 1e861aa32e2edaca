// A stranger's keys and values must not drive the user's terminal: text printed to a terminal shows
// control characters as escapes, while pipes, --json and --out files keep the exact text.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { cliBinary, ensureCliBuilt, runCli } from './helpers/cli.js'
import { onTerminal } from './helpers/cli-fixtures.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-tail10-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)

const cli = (...args: string[]) => runCli(scratch, args, 60_000)

// Clear the screen, set the window title, a C1 CSI (U+009B), a right-to-left override, a bell, a newline.
const attacks = ['\x1b[2J', '\x1b]0;pwned\x07', '\u009b31m', '\u202e', '\r', '\x08', '\n']
/** Whether `text` has a character a terminal acts on (tabs aside, and newlines where `lines`): C0, DEL, C1, the override. */
const harmful = (text: string, lines = false): boolean =>
  [...text].some((char) => {
    const code = char.codePointAt(0) as number
    if (code === 0x09 || (lines && code === 0x0a)) return false
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x202e
  })
const hostile = (): string =>
  Array.from(
    { length: 3 },
    () =>
      `${String.fromCharCode(97 + Math.floor(random() * 26))}${attacks[Math.floor(random() * attacks.length)]}`,
  ).join('')

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
    const listed = await onTerminal(scratch, ['keys', root])
    assert.ok(!harmful(listed.trimEnd()), JSON.stringify(listed))
    assert.ok(listed.startsWith('key'), JSON.stringify(listed))
    assert.match(listed, /\\x1b|\\u009b|\\u202e|\\r|\\x08|\\n/)
    const got = await onTerminal(scratch, ['get', root, key])
    // A value's own newlines print as lines (a multi-line value); a key's never do.
    assert.ok(!harmful(got, true), JSON.stringify(got))
  })

  it('on a terminal, an error quoting the key shows it escaped', async () => {
    const missing = `${key}${hostile()}`
    const said = await onTerminal(scratch, ['get', root, missing])
    assert.match(said, /ERR_KEY_NOT_FOUND/)
    assert.ok(!harmful(said, true), JSON.stringify(said))
  })

  it('into a pipe, and with --json, the exact text', async () => {
    assert.equal((await cli('keys', root)).stdout, `${key}\n`)
    assert.equal((await cli('get', root, key)).stdout, `${value}\n`)
    const json = JSON.parse((await cli('get', root, key, '--json')).stdout) as { value: string }
    assert.equal(json.value, value)
  })
})

describe('small CLI mistakes', () => {
  let root = ''
  before(async () => {
    const empty = (await cli('create')).stdout.trim()
    root = (await cli('set', empty, 'k', 'v')).stdout.trim()
  })

  it('get --out "" is a usage error naming --out, not an untyped rename failure', async () => {
    const run = await cli('get', root, 'k', '--out', '')
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /--out/)
    assert.match(run.stderr, /ERR_INVALID_ARGUMENT/)
  })

  it('a failed --out names the path given, not the partial file written first', async () => {
    const out = join(scratch, `no-such-dir-${Math.floor(random() * 1e6)}`, 'value.txt')
    const run = await cli('get', root, 'k', '--out', out)
    assert.equal(run.code, 1, run.stderr)
    assert.ok(run.stderr.startsWith(`ts-hamt: writing ${out} failed`), run.stderr)
    assert.match(run.stderr, /ENOENT/)
  })

  it('export ROOT - writes the CAR to stdout (the `-` convention), not a file named "-"', async () => {
    const run = await promisify(execFile)(process.execPath, [cliBinary, 'export', root, '-'], {
      cwd: scratch,
      env: { ...process.env, TS_HAMT_STORE: '' },
      encoding: 'buffer',
    })
    assert.ok(!existsSync(join(scratch, '-')), 'a file named "-" was written')
    assert.ok(run.stdout.length > 40, `stdout has ${run.stdout.length} bytes`)
    const imported = join(scratch, `from-stdout-${Math.floor(random() * 1e6)}.car`)
    await writeFile(imported, run.stdout)
    const back = await cli('--store', join(scratch, 'imported-store'), 'import', imported)
    assert.equal(back.code, 0, back.stderr)
    assert.match(back.stdout, new RegExp(`root ${root}`))
    assert.match(run.stderr.toString(), /exported \d+ blocks/)
  })

  it('zarr info ROOT with one argument more is refused (exit 2)', async () => {
    const extra = `extra${Math.floor(random() * 1e6)}`
    const run = await cli('zarr', 'info', root, extra)
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, new RegExp(`unexpected argument "${extra}"`))
  })
})

describe('set --file with --type', () => {
  it('--type json parses the file (it was dropped: the file was stored as bytes)', async () => {
    const empty = (await cli('create')).stdout.trim()
    const text = JSON.stringify({ n: Math.floor(random() * 1000), list: [1, 'two'] })
    const file = join(scratch, `value-${Math.floor(random() * 1e6)}.json`)
    await writeFile(file, text)
    const set = await cli('set', empty, 'j', '--file', file, '--type', 'json')
    assert.equal(set.code, 0, set.stderr)
    const got = await cli('get', set.stdout.trim(), 'j')
    assert.equal(got.stdout.trim(), text)
    const raw = await cli('set', empty, 'j', '--file', file, '--type', 'json', '--raw')
    assert.equal(raw.code, 2, raw.stderr)
  })
})
