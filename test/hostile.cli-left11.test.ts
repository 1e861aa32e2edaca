// The CLI's leftovers from session 10 (left11): a key read from a file (`--key-file`, out of `ps`),
// a CAR read from stdin (`import -`), backslashes told apart from escapes on a terminal, and indented
// --json of a value nested 50,000 deep (its indentation alone was ~5 GB of spaces).
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { INDENTED_DEPTH, toJson } from '../src/cli/output.js'
import { type CliRun, ensureCliBuilt, runCli } from './helpers/cli.js'
import { encryptedDataset, onTerminal, withStdin } from './helpers/cli-fixtures.js'
import { withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-left11-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)
await loadBlake3()

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)
const word = (): string =>
  Array.from({ length: 1 + Math.floor(random() * 8) }, () => 'abcdefghij'[Math.floor(random() * 10)]).join('')

describe('zarr --key-file: the key of a dataset py-hamt encrypts, from a file', async () => {
  const store = join(scratch, 'encrypted')
  const header = word()
  const { root, key, keyHex } = await encryptedDataset(store, random, header, 2.5)
  const zarrCli = (...args: string[]): Promise<CliRun> => cli('--store', store, 'zarr', ...args)

  it('reads the key as hex (a line end allowed) or as 32 raw bytes', async () => {
    for (const [name, content] of [
      ['hex', `${keyHex}\n`],
      ['raw', key],
    ] as const) {
      const file = join(scratch, `key-${name}`)
      await writeFile(file, content)
      const run = await zarrCli(
        'get',
        root,
        'temp',
        '--select',
        '1:3',
        '--key-file',
        file,
        '--header',
        header,
        '--json',
      )
      assert.equal(run.code, 0, `${name}: ${run.stderr}`)
      assert.deepEqual((JSON.parse(run.stdout) as { values: unknown }).values, [2.5, 2.5], name)
    }
  })

  it('a file not holding a key, or with --key-hex too, is a usage error that never prints the key', async () => {
    const short = join(scratch, 'key-short')
    await writeFile(short, keyHex.slice(0, 62))
    const good = join(scratch, 'key-good')
    await writeFile(good, keyHex)
    for (const args of [
      ['--key-file', short],
      ['--key-file', join(scratch, 'no-such-key')],
      ['--key-file', good, '--key-hex', keyHex],
    ]) {
      const run = await zarrCli('info', root, ...args, '--header', header)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
      assert.match(run.stderr, /--key-file/)
      for (let i = 0; i + 8 <= 64; i += 4) assert.ok(!run.stderr.includes(keyHex.slice(i, i + 8)), run.stderr)
    }
  })
})

describe('import -: the CAR from stdin', () => {
  it('imports what `export ROOT -` wrote, into another store', async () => {
    const value = word()
    const empty = (await cli('create')).stdout.trim()
    const root = (await cli('set', empty, 'k', value)).stdout.trim()
    const car = await cli('export', root, join(scratch, 'map.car'))
    assert.equal(car.code, 0, car.stderr)
    const other = join(scratch, 'other-store')
    const run = await withStdin(
      scratch,
      ['--store', other, 'import', '-', '--json'],
      await readFile(join(scratch, 'map.car')),
    )
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual((JSON.parse(run.stdout) as { roots: string[] }).roots, [root])
    assert.equal((await cli('--store', other, 'get', root, 'k')).stdout, `${value}\n`)
  })

  it('a truncated CAR on stdin fails the import: no root printed', async () => {
    const bytes = await readFile(join(scratch, 'map.car'))
    const run = await withStdin(
      scratch,
      ['--store', join(scratch, 'cut-store'), 'import', '-'],
      bytes.subarray(0, -7),
    )
    assert.equal(run.code, 1, run.stderr)
    assert.equal(run.stdout, '')
  })
})

describe('on a terminal, a backslash in a key', () => {
  it('is shown doubled: a literal `\\x1b` is not the escape an ESC is shown as', async () => {
    const stem = word()
    const literal = `${stem}\\x1b[2J`
    const control = `${stem}\x1b[2J`
    const empty = (await cli('create')).stdout.trim()
    const one = (await cli('set', empty, literal, 'a')).stdout.trim()
    const root = (await cli('set', one, control, 'b')).stdout.trim()
    const shown = (await onTerminal(scratch, ['keys', root])).trimEnd().split('\n').sort()
    assert.equal(new Set(shown).size, 2, `two keys shown alike: ${JSON.stringify(shown)}`)
    assert.deepEqual(shown, [`${stem}\\\\x1b[2J`, `${stem}\\x1b[2J`].sort())
    // Into a pipe, exact.
    assert.deepEqual((await cli('keys', root)).stdout.trimEnd().split('\n').sort(), [literal, control].sort())
  })
})

describe(`--json of a value nested deep (seed ${seed})`, () => {
  /** Arrays and objects alternating, `depth` deep, around a seeded leaf. */
  const nested = (depth: number): unknown => {
    let value: unknown = { leaf: word() }
    for (let d = 0; d < depth; d++) value = d % 2 === 0 ? [value] : { [word()]: value }
    return value
  }

  it('as JSON.stringify writes it where that can (shallow)', () => {
    const value = nested(INDENTED_DEPTH - 2)
    assert.equal(toJson(value, 2), JSON.stringify(value, null, 2))
  })

  it('50,000 deep: indented to a depth, then compact, the same JSON value in linear space', async () => {
    const depth = 50_000
    const value = nested(depth)
    const outcome = await withinBudget('indented JSON 50,000 deep', () => toJson(value, 2))
    assert.equal(outcome.error, undefined, String(outcome.error))
    const text = outcome.value as string
    assert.ok(text.length < depth * 40, `${text.length} characters for ${depth} levels`)
    assert.equal(toJson(JSON.parse(text)), toJson(value))
  })
})
