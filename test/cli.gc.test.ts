// `ts-hamt gc` on the on-disk store, run as the built binary (dist/).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { loadBlake3 } from '../src/blocks.js'
import { DiskStore } from '../src/node/index.js'
import { cliRunners, ensureCliBuilt } from './helpers/cli.js'
import { blockFiles, reachable } from './helpers/gc-store.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-gc-'))
after(() => rm(scratch, { recursive: true, force: true }))
/** Runs the binary in `scratch` (so its default store is scratch/.ts-hamt): `cli` never throws, `ok` wants exit 0. */
const { cli, ok } = cliRunners(scratch)

before(ensureCliBuilt)

describe('ts-hamt gc', () => {
  it('keeps what --keep reaches on the default store, reports a dry run exactly, and refuses to run without --keep', async () => {
    const directory = join(scratch, '.ts-hamt')
    const roots: string[] = []
    let root = await ok('create')
    for (let version = 0; version < 3; version++) {
      for (let i = 0; i < 6; i++) root = await ok('set', root, `key-${i}`, `v${version}-${i}`)
      roots.push(root)
    }
    const [first, , last] = roots as [string, string, string]
    const before = await blockFiles(directory)

    for (const args of [[], ['--dry-run'], ['--json']]) {
      const refused = await cli('gc', ...args)
      assert.equal(refused.code, 2, args.join(' '))
      assert.match(refused.stderr, /gc without --keep would remove every block.*--all/)
    }
    assert.equal((await cli('gc', '--keep', 'nope')).code, 2)
    assert.equal((await cli('gc', last)).code, 2)
    assert.equal((await cli('gc', '--keep', last, '--all')).code, 2)
    assert.equal((await cli('gc', '--keep', last, '--kubo', 'http://127.0.0.1:1')).code, 2)
    assert.deepEqual(await blockFiles(directory), before, 'nothing was removed by the refused runs')

    const dry = JSON.parse(await ok('gc', '--keep', last, '--dry-run', '--json'))
    assert.deepEqual(await blockFiles(directory), before, 'a dry run removes nothing')
    const real = JSON.parse(await ok('gc', '--keep', last, '--json'))
    assert.equal(dry.dryRun, true)
    assert.equal(real.dryRun, false)
    assert.equal(real.removed, dry.removed)
    assert.equal(real.removedBytes, dry.removedBytes)
    const store = await DiskStore.open(directory)
    const reach = await reachable(store, [CID.parse(last)])
    const left = await blockFiles(directory)
    assert.deepEqual([...left].sort(), [...reach].sort())
    assert.equal(real.removed, before.size - left.size)
    assert.ok(real.removed > 0)
    assert.equal(await ok('get', last, 'key-4'), 'v2-4')
    assert.equal((await cli('get', first, 'key-4')).code, 1)

    assert.match(await ok('gc', '--keep', last), /^removed 0 blocks \(0 bytes\); \d+ blocks reachable/)
    assert.match(await ok('gc', '--all', '--dry-run'), new RegExp(`^would remove ${left.size} blocks`))
    await ok('gc', '--all')
    assert.equal((await blockFiles(directory)).size, 0)
    assert.match(await ok('gc', '--help'), /^Usage: ts-hamt gc --keep ROOT/)
  })

  it('does not create a missing store', async () => {
    const run = await cli('gc', '--all', '--store', 'no-such-store')
    assert.equal(run.code, 1)
    assert.match(run.stderr, /cannot open the disk store at no-such-store/)
  })
})
