// `ts-hamt diff`, `export --base` and `pin update`, run as the built binary (dist/).
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import { cliRunners, ensureCliBuilt } from './helpers/cli.js'
import { startKubo } from './helpers/kubo.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-diff-'))
after(() => rm(scratch, { recursive: true, force: true }))
/** Runs the binary in `scratch` (so its default store is scratch/.ts-hamt): `cli` never throws, `ok` wants exit 0. */
const { cli, ok } = cliRunners(scratch)

before(ensureCliBuilt)

describe('ts-hamt diff and export --base on the on-disk store', () => {
  it('lists the keys added, removed and changed between two roots, as text and as JSON', async () => {
    let root = await ok('create')
    for (let i = 0; i < 12; i++) root = await ok('set', root, `key-${i}`, `${i}`, '--type', 'number')
    const first = root
    root = await ok('set', root, 'key-3', '33', '--type', 'number')
    root = await ok('delete', root, 'key-5')
    root = await ok('set', root, 'fresh', 'x')
    assert.deepEqual((await ok('diff', first, root)).split('\n').sort(), ['+ fresh', '- key-5', '~ key-3'])
    const json = JSON.parse(await ok('diff', first, root, '--json')) as { changes: unknown[] }
    assert.deepEqual(
      json.changes.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      [
        { key: 'fresh', kind: 'added' },
        { key: 'key-3', kind: 'changed' },
        { key: 'key-5', kind: 'removed' },
      ],
    )
    assert.equal(await ok('diff', root, root), '')
    const bad = await cli('diff', first, 'nope')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /B is not a CID/)

    // export --base: the CAR holds the new root and only blocks the old root does not reach.
    const whole = join(scratch, 'whole.car')
    const change = join(scratch, 'change.car')
    await ok('export', root, whole)
    const exported = JSON.parse(await ok('export', root, change, '--base', first, '--json'))
    assert.equal(exported.base, first)
    const blocksOf = async (file: string): Promise<string[]> =>
      CarBufferReader.fromBytes(new Uint8Array(await readFile(file)))
        .blocks()
        .map((block) => String(block.cid))
    const [all, part] = [await blocksOf(whole), await blocksOf(change)]
    assert.ok(part.length > 0 && part.length < all.length, `${part.length} of ${all.length}`)
    assert.equal(part[0], root)
    for (const cid of part) assert.ok(all.includes(cid))
  })

  it('diffs a Zarr dataset with --zarr: nodes, metadata and chunk coordinates', async () => {
    const file = async (name: string, text: string): Promise<string> => {
      const path = join(scratch, name)
      await writeFile(path, text)
      return path
    }
    const group = await file('group.json', '{"zarr_format":3,"node_type":"group"}')
    const small = await file('a1.json', '{"zarr_format":3,"node_type":"array","shape":[2]}')
    const large = await file('a2.json', '{"zarr_format":3,"node_type":"array","shape":[3]}')
    const chunk = await file('chunk.bin', 'abc')
    let root = await ok('create')
    root = await ok('set', root, 'zarr.json', '--file', group, '--raw')
    root = await ok('set', root, 'a/zarr.json', '--file', small, '--raw')
    root = await ok('set', root, 'a/c/0', '--file', chunk, '--raw')
    const first = root
    root = await ok('set', root, 'a/zarr.json', '--file', large, '--raw')
    root = await ok('set', root, 'a/c/2', '--file', chunk, '--raw')
    root = await ok('set', root, 'b/zarr.json', '--file', small, '--raw')
    assert.deepEqual((await ok('diff', first, root, '--zarr')).split('\n').sort(), [
      '+ array b',
      '+ chunk a [2]',
      '~ metadata a/zarr.json',
    ])
    const json = JSON.parse(await ok('diff', first, root, '--zarr', '--json')) as {
      changes: Array<{ type: string; after?: unknown }>
    }
    const metadata = json.changes.find((c) => c.type === 'metadata')
    assert.deepEqual(metadata?.after, { zarr_format: 3, node_type: 'array', shape: [3] })
  })
})

describe('ts-hamt diff across layouts', () => {
  it('a HAMT root against a sharded one, either way round, is the clear mixed-layout error (exit 1)', async () => {
    const file = async (name: string, text: string): Promise<string> => {
      const path = join(scratch, name)
      await writeFile(path, text)
      return path
    }
    const group = await file('mixed-group.json', '{"zarr_format":3,"node_type":"group"}')
    const array = await file(
      'mixed-array.json',
      JSON.stringify({
        zarr_format: 3,
        node_type: 'array',
        shape: [4],
        data_type: 'uint8',
        chunk_grid: { name: 'regular', configuration: { chunk_shape: [2] } },
        chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
        fill_value: 0,
        codecs: [{ name: 'bytes' }],
        dimension_names: ['x'],
      }),
    )
    const chunk = await file('mixed-chunk.bin', 'ab')
    let hamt = await ok('create')
    hamt = await ok('set', hamt, 'zarr.json', '--file', group, '--raw')
    hamt = await ok('set', hamt, 'a/zarr.json', '--file', array, '--raw')
    hamt = await ok('set', hamt, 'a/c/0', '--file', chunk, '--raw')
    const sharded = await ok('convert', hamt)
    for (const [a, b, kinds] of [
      [hamt, sharded, 'a hamt root and to a sharded one'],
      [sharded, hamt, 'a sharded root and to a hamt one'],
    ] as const) {
      const run = await cli('diff', a, b)
      assert.equal(run.code, 1, run.stderr)
      assert.match(
        run.stderr,
        new RegExp(`from is ${kinds}: a diff needs one layout \\(ERR_INVALID_ARGUMENT\\)`),
      )
    }
  })
})

describe('ts-hamt pin update with a real Kubo daemon', () => {
  const daemon = startKubo()
  after(async () => (await daemon).stop())

  it('moves the recursive pin from the old root to the new one', async () => {
    const { rpcUrl, gatewayUrl } = await daemon
    const kubo = ['--kubo', rpcUrl, '--gateway', gatewayUrl]
    let root = await ok('create', ...kubo)
    root = await ok('set', root, 'a', '1', ...kubo)
    const first = root
    await ok('pin', 'add', first, ...kubo)
    root = await ok('set', root, 'b', '2', ...kubo)
    assert.match(await ok('pin', 'update', first, root, ...kubo), new RegExp(`moved pin ${first} -> ${root}`))
    const pins = (JSON.parse(await ok('pin', 'ls', ...kubo, '--json')) as Array<{ cid: string }>).map(
      (p) => p.cid,
    )
    assert.ok(pins.includes(root) && !pins.includes(first), pins.join(' '))
    const missing = await cli('pin', 'update', root, ...kubo)
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /TO is missing/)
  })
})
