// diffZarrRoots on sharded roots written by the real py-hamt 3.6.0 ShardedZarrStore + xarray on a real
// Kubo: an appended time step (v1 and v2 manifests) shows as exactly the keys whose content py-hamt's
// own store calls changed.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { diffZarrRoots, KuboStore, type ZarrChange } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { shardedDriver } from './helpers/python.js'

type Written = { roots: string[]; logs: [string, string, string][][]; group: string | null }

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }

/** The store's content after py-hamt's logged calls, key → hex, as the calls left it. */
function apply(model: Map<string, string>, log: [string, string, string][]): void {
  for (const [op, key, hex] of log) {
    if (op === 'set') model.set(key, hex)
    else if (op === 'delete') model.delete(key)
    else if (op === 'clear') model.clear()
    else if (op === 'delete_dir') {
      for (const k of [...model.keys()])
        if (key === '' || k === key || k.startsWith(`${key}/`)) model.delete(k)
    } else assert.fail(`unknown store call ${op}`)
  }
}

function line(change: ZarrChange): string {
  if (change.type === 'chunk') return `${change.kind} ${change.path}/c/${change.coords.join('/')}`
  if (change.type === 'node') return `${change.kind} ${change.path === '' ? '' : `${change.path}/`}zarr.json`
  return `${change.kind} ${change.key}`
}

describe('diffZarrRoots on py-hamt sharded versions (real Kubo)', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`an appended time step (${version}): the new chunks and the changed metadata, nothing else`, async () => {
      const written = await shardedDriver<Written>('write', {
        ...urls,
        scenario: 'append',
        version,
        chunksPerShard: 5,
      })
      const [before, after] = [new Map<string, string>(), new Map<string, string>()]
      apply(before, written.logs[0] as [string, string, string][])
      apply(after, written.logs[0] as [string, string, string][])
      apply(after, written.logs[1] as [string, string, string][])
      const expected: string[] = []
      for (const [key, hex] of before)
        if (after.get(key) !== hex) expected.push(`${after.has(key) ? 'changed' : 'removed'} ${key}`)
      for (const key of after.keys()) if (!before.has(key)) expected.push(`added ${key}`)

      const store = new KuboStore(kuboOptions(urls))
      const changes: ZarrChange[] = []
      for await (const change of diffZarrRoots(written.roots[0] as string, written.roots[1] as string, {
        store,
      }))
        changes.push(change)
      assert.deepEqual(changes.map(line).sort(), expected.sort())
      // What an append is: chunks added (or a partly filled one rewritten), metadata changed, no node added or removed.
      assert.ok(changes.some((c) => c.type === 'chunk' && c.kind === 'added' && c.path.endsWith('temp')))
      assert.ok(
        changes.every((c) => c.type !== 'node' && c.kind !== 'removed'),
        changes.map(line).join('\n'),
      )
      const metadata = changes.filter((c) => c.type === 'metadata')
      assert.ok(metadata.some((m) => m.key.endsWith('temp/zarr.json')))
      for (const m of metadata) assert.equal(m.kind, 'changed', m.key)
    })
  }
})
