// A key given to the CLI is never echoed (README: a typo must not print key bytes into a terminal or a
// log), also when the command is missing or comes after the key: usage errors name options, not values.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type CliRun, ensureCliBuilt, runCli } from './helpers/cli.js'
import { mulberry32, testSeed } from './helpers/random.js'

const random = mulberry32(testSeed())
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-rev11-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)
const keyHex = Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('')
const root = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

function assertNoKey(run: CliRun, what: string): void {
  assert.equal(run.code, 2, `${what}: ${run.stderr}`)
  assert.equal(run.stdout, '', what)
  // Any 8 hex digits of it in a row: a cut or a quoted part of the key is a leak too.
  for (let i = 0; i + 8 <= 64; i += 4) {
    assert.ok(!run.stderr.includes(keyHex.slice(i, i + 8)), `${what} echoes the key: ${run.stderr}`)
  }
}

describe('a usage error with --key-hex before the command (or none)', () => {
  for (const args of [
    [`--key-hex=${keyHex}`],
    ['--key-hex', keyHex],
    ['--json', `--key-hex=${keyHex}`],
    ['--key-hex', keyHex, 'zarr', 'info', root],
    ['--json', '--key-hex', keyHex, 'zarr', 'get', root, 'temp'],
  ]) {
    const shown = args.map((arg) => arg.replace(keyHex, 'KEY')).join(' ')
    it(`ts-hamt ${shown}: refused, naming the option, never printing the key`, async () => {
      const run = await cli(...args)
      assertNoKey(run, shown)
      assert.match(run.stderr, /--key-hex/, shown)
    })
  }
})
