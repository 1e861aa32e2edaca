// `ts-hamt pin` without --kubo, run as the built binary (dist/): the message names the missing flag,
// whether or not the default disk store exists. With a daemon: test/cli.diff.test.ts.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ensureCliBuilt, runCli } from './helpers/cli.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-pin-'))
before(ensureCliBuilt)
after(() => rm(scratch, { recursive: true, force: true }))

describe('ts-hamt pin without --kubo', () => {
  it('asks for --kubo, not for a disk store it would never use', async () => {
    for (const args of [
      ['pin', 'ls'],
      ['pin', 'add', 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'],
    ]) {
      const run = await runCli(scratch, args)
      assert.notEqual(run.code, 0)
      assert.match(run.stderr, /pins live in Kubo: give --kubo URL/, run.stderr)
      assert.doesNotMatch(run.stderr, /does not exist/)
    }
  })
})
