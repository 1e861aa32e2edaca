// The CLI reads zarr.json as zarr-python does (json.loads on the bytes: strict UTF-8, a leading BOM
// skipped as Python's utf-8-sig detection does), through the codec's one exact decoder, and finds
// zarr.json keys with the shared key rules.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { loadBlake3 } from '../src/blocks.js'
import { HAMT } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { type CliRun, ensureCliBuilt, runCli } from './helpers/cli.js'
import { pyHamtPython } from './helpers/python.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-utf8-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(ensureCliBuilt)
await loadBlake3()

const cli = (...args: string[]): Promise<CliRun> => runCli(scratch, args, 60_000)

/** A Zarr on a HAMT in a disk store whose root group's zarr.json is `bytes`. */
async function datasetWith(bytes: Uint8Array): Promise<{ store: string; root: string }> {
  const store = await mkdtemp(join(scratch, 'store-'))
  const disk = await DiskStore.open(store)
  const map = await HAMT.create<Uint8Array>({ store: disk, valuesAreBytes: true })
  await map.set('zarr.json', bytes)
  await map.set('azarr.json', bytes) // not a zarr.json key: ignored by `zarr info`
  return { store, root: String(await map.flush()) }
}

const group = new TextEncoder().encode('{"zarr_format": 3, "node_type": "group", "attributes": {"a": 1}}')

describe('ts-hamt zarr info reads zarr.json as Python does', () => {
  it('a sound zarr.json is listed', async () => {
    const { store, root } = await datasetWith(group)
    const run = await cli('zarr', 'info', root, '--store', store, '--json')
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(JSON.parse(run.stdout).nodes, [{ path: '/', kind: 'group', attributes: { a: 1 } }])
  })

  it('a zarr.json with invalid UTF-8 is a data error naming the key, not read leniently', async () => {
    const { store, root } = await datasetWith(Uint8Array.of(...group.slice(0, -2), 0xff, 0x7d))
    const run = await cli('zarr', 'info', root, '--store', store)
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /zarr\.json is not UTF-8 JSON/)
  })

  it('a zarr.json that starts with a BOM reads, as json.loads reads such bytes in Python', async () => {
    const python = await pyHamtPython()
    const { stdout } = await promisify(execFile)(python, [
      '-c',
      'import json,sys; print(json.dumps(json.loads(bytes.fromhex(sys.argv[1]))))',
      Buffer.from([0xef, 0xbb, 0xbf, ...group]).toString('hex'),
    ])
    const { store, root } = await datasetWith(Uint8Array.of(0xef, 0xbb, 0xbf, ...group))
    const info = await cli('zarr', 'info', root, '--store', store, '--json')
    assert.equal(info.code, 0, info.stderr)
    assert.deepEqual(JSON.parse(info.stdout).nodes[0].attributes, JSON.parse(stdout).attributes)
  })

  it('a zarr.json that is JSON but not an object is a data error too', async () => {
    const { store, root } = await datasetWith(new TextEncoder().encode('null'))
    const run = await cli('zarr', 'info', root, '--store', store)
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /zarr\.json is not a JSON object/)
  })
})
