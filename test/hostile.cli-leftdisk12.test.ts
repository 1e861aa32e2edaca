// The CLI's leftovers from session 11 (leftdisk12): error messages escaped only on a terminal (a
// Windows path on a pipe keeps its single backslashes), `import -` failures that name stdin, the
// refusal of `import -` when stdin is a terminal (a real pty), and `--key-file` from a FIFO.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { type CliRun, ensureCliBuilt, runCli } from './helpers/cli.js'
import { encryptedDataset, onTerminal, withStdin } from './helpers/cli-fixtures.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-leftdisk12-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)
await loadBlake3()

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)
const word = (): string =>
  Array.from({ length: 1 + Math.floor(random() * 8) }, () => 'abcdefghij'[Math.floor(random() * 10)]).join('')

describe(`an error naming a Windows path (seed ${seed})`, () => {
  it('keeps its backslashes single on a pipe, doubled (told from escapes) on a terminal', async () => {
    const path = `C:\\maps\\${word()}.car`
    const piped = await cli('import', path)
    assert.equal(piped.code, 1)
    assert.ok(piped.stderr.includes(path), `the path as given: ${piped.stderr}`)
    const shown = await onTerminal(scratch, ['import', path])
    assert.ok(shown.includes(path.replaceAll('\\', '\\\\')), `doubled on a terminal: ${shown}`)
  })

  it('a control character in it is escaped on a terminal, exact on a pipe', async () => {
    const path = `${word()}\x1b[2J.car`
    assert.ok((await cli('import', path)).stderr.includes(path))
    const shown = await onTerminal(scratch, ['import', path])
    assert.ok(!shown.includes('\x1b'), `an ESC reached the terminal: ${JSON.stringify(shown)}`)
    assert.ok(shown.includes(path.replace('\x1b', '\\x1b')))
  })
})

describe('import -', () => {
  it('a corrupt CAR on stdin: the error names stdin, not a file', async () => {
    const empty = (await cli('create')).stdout.trim()
    const root = (await cli('set', empty, 'k', word())).stdout.trim()
    const file = join(scratch, 'map.car')
    assert.equal((await cli('export', root, file)).code, 0)
    const bytes = await readFile(file)
    const run = await withStdin(
      scratch,
      ['--store', join(scratch, 'cut'), 'import', '-'],
      bytes.subarray(0, -7),
    )
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /the CAR on stdin/)
    assert.doesNotMatch(run.stderr, /CAR file/)
  })

  it('refuses a terminal for stdin (a real pty): a usage error, nothing imported', async () => {
    const shown = await onTerminal(scratch, ['--store', join(scratch, 'tty'), 'import', '-'])
    assert.match(shown, /import - reads the CAR from stdin, which is a terminal: pipe the CAR into it/)
  })
})

describe('zarr --key-file from a FIFO (`--key-file <(pass show key)`)', async () => {
  const store = join(scratch, 'encrypted')
  const header = word()
  const { root, keyHex } = await encryptedDataset(store, random, header, 1.5)

  it('reads the key as it comes through the pipe', async () => {
    const fifo = join(scratch, 'key-fifo')
    execFileSync('mkfifo', [fifo])
    // The writer blocks until the CLI opens the FIFO for reading.
    const writing = writeFile(fifo, `${keyHex}\n`)
    const run = await cli(
      '--store',
      store,
      'zarr',
      'get',
      root,
      'temp',
      '--select',
      '0:2',
      '--key-file',
      fifo,
      '--header',
      header,
      '--json',
    )
    await writing
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual((JSON.parse(run.stdout) as { values: unknown }).values, [1.5, 1.5])
    assert.ok(!run.stdout.includes(keyHex) && !run.stderr.includes(keyHex))
  })
})
