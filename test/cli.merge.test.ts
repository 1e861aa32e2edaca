// `ts-hamt merge`, run as the built binary (dist/), on the on-disk store.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { cliRunners, ensureCliBuilt } from './helpers/cli.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-merge-'))
after(() => rm(scratch, { recursive: true, force: true }))
/** Runs the binary in `scratch` (so its default store is scratch/.ts-hamt): `cli` never throws, `ok` wants exit 0. */
const { cli, ok } = cliRunners(scratch)

before(ensureCliBuilt)

describe('ts-hamt merge', () => {
  it('merges disjoint changes to the root one writer gets; conflicts are listed with exit code 1', async () => {
    let base = await ok('create')
    for (let i = 0; i < 6; i++) base = await ok('set', base, `key-${i}`, `${i}`, '--type', 'number')
    const a = await ok('set', await ok('delete', base, 'key-1'), 'only-a', 'x')
    const b = await ok('set', base, 'key-2', '22', '--type', 'number')
    const single = await ok(
      'set',
      await ok('set', await ok('delete', base, 'key-1'), 'only-a', 'x'),
      'key-2',
      '22',
      '--type',
      'number',
    )
    assert.equal(await ok('merge', base, a, b), single)
    assert.deepEqual(JSON.parse(await ok('merge', base, b, a, '--json')), { root: single })

    const other = await ok(
      'set',
      await ok('set', base, 'key-1', '11', '--type', 'number'),
      'key-2',
      '23',
      '--type',
      'number',
    )
    const conflict = await cli('merge', base, a, other)
    assert.equal(conflict.code, 1, conflict.stderr)
    assert.deepEqual(conflict.stdout.trim().split('\n'), ['! key-1 (A: removed, B: changed)'])
    const both = await cli('merge', base, b, other, '--json')
    assert.equal(both.code, 1)
    assert.deepEqual(JSON.parse(both.stdout), {
      conflicts: [{ key: 'key-2', a: 'changed', b: 'changed' }],
      count: 1,
    })

    const bad = await cli('merge', base, a)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /B is missing/)
  })
})
