// An outsider's CLI cases (attack10): command lines a user gets slightly wrong must fail with a usage
// error (exit 2) before anything is read or written, not run with part of what was typed.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { carOf, rawBlock } from './helpers/car-blocks.js'
import { type CliRun, cliBinary, ensureCliBuilt, runCli } from './helpers/cli.js'
import { encryptedDataset } from './helpers/cli-fixtures.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-attack10-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)
const word = (): string =>
  Array.from(
    { length: 1 + Math.floor(random() * 8) },
    () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 26)],
  ).join('')

describe('CLI arguments beyond what a command takes', () => {
  it('an unquoted value with a space (`set ROOT k hello world`) is refused, not stored as "hello"', async () => {
    const created = await cli('create')
    assert.equal(created.code, 0, created.stderr)
    const root = created.stdout.trim()
    const extra = word()
    const run = await cli('set', root, 'greeting', word(), extra)
    assert.equal(run.code, 2, `exit code; stdout ${run.stdout}`)
    assert.equal(run.stdout, '', 'no new root printed')
    assert.match(run.stderr, new RegExp(`unexpected argument "${extra}"`))
    assert.match(run.stderr, /ERR_INVALID_ARGUMENT/)
  })

  it('set with both VALUE and --file is refused, not stored from the file with VALUE dropped', async () => {
    const root = (await cli('create')).stdout.trim()
    const file = join(scratch, `value-${word()}`)
    await writeFile(file, word())
    const run = await cli('set', root, 'k', word(), '--file', file)
    assert.equal(run.code, 2, `exit code; stdout ${run.stdout}`)
    assert.equal(run.stdout, '')
    assert.match(run.stderr, /VALUE or --file PATH, not both/)
  })

  it('every command with fixed arguments refuses one more, before opening any store', async () => {
    const root = 'bafyr4igb3js3dqlnsvmbi533lhghfet3l4r35vbi7mlrvxjb6f3n5wkc3m'
    const lines: string[][] = [
      ['create'],
      ['set', root, 'k', 'v'],
      ['get', root, 'k'],
      ['delete', root, 'k'],
      ['keys', root],
      ['diff', root, root],
      ['merge', root, root, root],
      ['stats', root],
      ['verify', root],
      ['export', root, 'out.car'],
      ['import', 'in.car'],
      ['convert', root],
    ]
    for (const line of lines) {
      const extra = word()
      // A --store that does not exist: a command that ran would fail on it (exit 1), or create it.
      const store = join(scratch, `never-${word()}`)
      const run = await cli('--store', store, ...line, extra)
      assert.equal(run.code, 2, `ts-hamt ${line.join(' ')} ${extra}: ${run.stderr}`)
      assert.match(run.stderr, new RegExp(`unexpected argument "${extra}"`), line[0])
    }
    assert.deepEqual(
      (await readdir(scratch)).filter((name) => name.startsWith('never-')),
      [],
      'no store created',
    )
  })
})

describe('zarr with --key-hex: a dataset py-hamt encrypts', async () => {
  await loadBlake3()
  const store = join(scratch, 'encrypted')
  const header = word()
  const { root, keyHex } = await encryptedDataset(store, random, header, 1.5)
  const zarrCli = (...args: string[]): Promise<CliRun> => cli('--store', store, 'zarr', ...args)

  it('a mistyped key is a usage error that never prints the key, or any part of it', async () => {
    const at = Math.floor(random() * 64)
    const typo = `${keyHex.slice(0, at)}g${keyHex.slice(at + 1)}`
    for (const bad of [typo, keyHex.slice(0, 62), keyHex.slice(0, 63), `${keyHex}00`]) {
      const run = await zarrCli('get', root, 'temp', '--key-hex', bad, '--header', header)
      assert.equal(run.code, 2, `--key-hex of ${bad.length} characters: ${run.stderr}`)
      assert.match(run.stderr, /--key-hex must be 64 hex digits/)
      for (let i = 0; i + 8 <= 64; i += 4) {
        assert.ok(
          !run.stderr.includes(keyHex.slice(i, i + 8)),
          `key bytes at ${i / 2} printed: ${run.stderr}`,
        )
      }
    }
  })

  it('--header without --key-hex is refused, not ignored', async () => {
    const run = await zarrCli('get', root, 'temp', '--header', header)
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /--header needs --key-hex/)
  })

  it('zarr info opens the dataset with the key it is given (it ignored it)', async () => {
    const run = await zarrCli('info', root, '--key-hex', keyHex, '--header', header, '--json')
    assert.equal(run.code, 0, run.stderr)
    const { nodes } = JSON.parse(run.stdout) as {
      nodes: Array<{ path: string; kind: string; shape?: number[] }>
    }
    assert.deepEqual(nodes.map((n) => [n.path, n.kind, n.shape ?? null]).sort(), [
      ['/', 'group', null],
      ['/temp', 'array', [4]],
    ])
    const labelled = await zarrCli('get', root, 'temp', '--key-hex', keyHex, '--header', header, '--json')
    assert.equal(labelled.code, 0, labelled.stderr)
  })

  it('zarr get --select reads raw values with the key (it was refused as a labelled read)', async () => {
    const run = await zarrCli(
      'get',
      root,
      'temp',
      '--select',
      '1:3',
      '--key-hex',
      keyHex,
      '--header',
      header,
      '--json',
    )
    assert.equal(run.code, 0, run.stderr)
    const { shape, values } = JSON.parse(run.stdout) as { shape: number[]; values: unknown }
    assert.deepEqual([shape, values], [[2], [1.5, 1.5]])
  })
})

/** `cat` reading the FIFO at `path` (made here): what reaches it, or undefined if nothing ever opens it. */
async function fifoReader(path: string): Promise<{ done: () => Promise<Buffer | undefined> }> {
  await new Promise<void>((resolve, reject) =>
    spawn('mkfifo', [path]).on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`mkfifo ${code}`)),
    ),
  )
  const cat = spawn('cat', [path])
  const chunks: Buffer[] = []
  cat.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  const exited = new Promise<void>((resolve) => cat.on('exit', () => resolve()))
  return {
    // A writer that never opened the FIFO (it replaced it instead) leaves cat waiting: end it.
    done: async () => {
      if (!(await lstat(path)).isFIFO()) {
        cat.kill()
        await exited
        return undefined
      }
      await exited
      return Buffer.concat(chunks)
    },
  }
}

describe('writing to a device or a pipe (export ROOT /dev/stdout, get --out /dev/stdout)', {
  skip: process.platform === 'win32' && 'no FIFOs or /dev/null',
}, () => {
  it('export writes into a FIFO and a symlink to a device, and never replaces them with a file', async () => {
    const dir = await mkdtemp(join(scratch, 'pipes-'))
    const created = await cli('--store', join(dir, 's'), 'create')
    assert.equal(created.code, 0, created.stderr)
    const root = created.stdout.trim()
    const file = join(dir, 'file.car')
    assert.equal((await cli('--store', join(dir, 's'), 'export', root, file)).code, 0)
    // A symlink in scratch to /dev/null, as /dev/stdout is one to /proc/self/fd/1: the test never
    // names a real device, so a writer that replaces what it is given replaces only scratch's link.
    const link = join(dir, `null-${word()}`)
    await symlink('/dev/null', link)
    const toLink = await cli('--store', join(dir, 's'), 'export', root, link)
    assert.equal(toLink.code, 0, toLink.stderr)
    assert.ok((await lstat(link)).isSymbolicLink(), 'the symlink was replaced by a file')
    assert.ok((await stat('/dev/null')).isCharacterDevice())
    // A symlink to a file (as /dev/stdout is when stdout is a file): the file gets the CAR, the link stays.
    const real = join(dir, 'real.car')
    await writeFile(real, word())
    const fileLink = join(dir, `link-${word()}`)
    await symlink(real, fileLink)
    const toFileLink = await cli('--store', join(dir, 's'), 'export', root, fileLink)
    assert.equal(toFileLink.code, 0, toFileLink.stderr)
    assert.ok((await lstat(fileLink)).isSymbolicLink(), 'the symlink to a file was replaced by a file')
    assert.deepEqual(await readFile(real), await readFile(file))
    const fifo = join(dir, `pipe-${word()}`)
    const reader = await fifoReader(fifo)
    const toFifo = await cli('--store', join(dir, 's'), 'export', root, fifo)
    const got = await reader.done()
    assert.equal(toFifo.code, 0, toFifo.stderr)
    assert.ok(got !== undefined, 'the FIFO was replaced by a file, nothing was written into it')
    assert.deepEqual(got, await readFile(file))
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.includes('.partial-')),
      [],
    )
  })

  it('get --out writes into a FIFO, and never replaces it with a file', async () => {
    const dir = await mkdtemp(join(scratch, 'pipes-'))
    const store = join(dir, 's')
    const root = (await cli('--store', store, 'create')).stdout.trim()
    const value = word()
    const next = (await cli('--store', store, 'set', root, 'k', value)).stdout.trim()
    const fifo = join(dir, `pipe-${word()}`)
    const reader = await fifoReader(fifo)
    const run = await cli('--store', store, 'get', next, 'k', '--out', fifo)
    const got = await reader.done()
    assert.equal(run.code, 0, run.stderr)
    assert.equal(got?.toString(), value, 'the FIFO was replaced by a file, nothing was written into it')
  })
})

/**
 * The CLI's stdout as bytes (runCli decodes it as text), with its exit code and stderr. Its stdout is
 * a shell pipe, as in `ts-hamt export ROOT /dev/stdout | ipfs dag import`: Node's own are sockets.
 */
function runForBytes(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const line = ['bash', '-o', 'pipefail', '-c', '"$@" | cat', 'bash', process.execPath, cliBinary, ...args]
  const child = spawn(line[0] as string, line.slice(1), { cwd: scratch })
  const out: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr })),
  )
}

describe('writing the output file to stdout itself', {
  skip: !existsSync('/proc/self/fd') && 'no /proc/self/fd',
}, () => {
  it('`export ROOT /dev/stdout | …` is the CAR alone: the summary goes to stderr, not after the CAR', async () => {
    const dir = await mkdtemp(join(scratch, 'stdout-'))
    const store = join(dir, 's')
    let root = (await cli('--store', store, 'create')).stdout.trim()
    root = (await cli('--store', store, 'set', root, word(), word())).stdout.trim()
    const file = join(dir, 'file.car')
    assert.equal((await cli('--store', store, 'export', root, file)).code, 0)
    // /dev/stdout is a link to /proc/self/fd/1: one in scratch, so the test never names the real one.
    const stdout = join(dir, 'stdout')
    await symlink('/proc/self/fd/1', stdout)
    const run = await runForBytes(['--store', store, 'export', root, stdout])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(run.stdout, await readFile(file), 'stdout is exactly the CAR')
    assert.match(run.stderr, /exported \d+ blocks/)
    const value = word()
    root = (await cli('--store', store, 'set', root, 'k', value)).stdout.trim()
    const got = await runForBytes(['--store', store, 'get', root, 'k', '--out', stdout])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(got.stdout.toString(), value)
  })
})

describe('warnings a user should not see', () => {
  it('import of a CAR of many blocks prints no MaxListenersExceededWarning (a "possible memory leak")', async () => {
    const blocks = await Promise.all(
      Array.from({ length: 64 + Math.floor(random() * 64) }, () => rawBlock(word())),
    )
    const unique = [...new Map(blocks.map((b) => [String(b.cid), b])).values()]
    const car = join(scratch, `many-${word()}.car`)
    await writeFile(car, await carOf([unique[0]?.cid as never], unique))
    const run = await cli('--store', join(scratch, `many-${word()}`), 'import', car)
    assert.equal(run.code, 0, run.stderr)
    assert.doesNotMatch(run.stderr, /MaxListenersExceeded|memory leak/)
  })
})

describe('values the CLI stores, it prints', () => {
  it('a JSON value nested thousands deep: `set --type json` stores it, `get` prints it back', async () => {
    const depth = 2000 + Math.floor(random() * 1000)
    const text = `${'['.repeat(depth)}${JSON.stringify(word())}${']'.repeat(depth)}`
    const store = join(scratch, `deep-${word()}`)
    const root = (await cli('--store', store, 'create')).stdout.trim()
    const set = await cli('--store', store, 'set', root, 'deep', text, '--type', 'json')
    assert.equal(set.code, 0, set.stderr)
    for (const flags of [[], ['--json']]) {
      // Indented JSON of it is megabytes: more than runCli's buffer holds.
      const run = await runForBytes(['--store', store, 'get', set.stdout.trim(), 'deep', ...flags])
      const got = { ...run, stdout: run.stdout.toString() }
      assert.equal(got.code, 0, `depth ${depth} ${flags.join(' ')}: ${got.stderr}`)
      const printed =
        flags.length === 0 ? got.stdout : JSON.stringify((JSON.parse(got.stdout) as { value: unknown }).value)
      assert.equal(printed.trim(), text)
    }
  })
})
