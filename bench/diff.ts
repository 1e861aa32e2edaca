// HAMT.diff and exportCar with a base on a large map: nodes loaded and time for 100 changed keys in
// 1M (the figure), against the nodes that differ between the two trees and a full walk.
// Times are process CPU time (process.cpuUsage), medians over --repeats cold runs (a fresh node cache
// each): the machine is shared, so wall time would measure the neighbours.
// Usage: node --import tsx bench/diff.ts [--keys 1000000] [--changes 100] [--repeats 5] [--out diff]
// Writes bench/results/NAME.json and NAME.md.
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { MemoryBlockstore } from 'blockstore-core/memory'
import type { CID } from 'multiformats/cid'
import {
  type AbortOptions,
  BlockstoreStore,
  type Codec,
  type ContentAddressedStore,
  exportCar,
  HAMT,
  type LoadOptions,
  type StoreId,
} from '../src/index.js'
import { arg, markdownTable } from './common.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const keys = Number(arg('keys', '1000000'))
const changes = Number(arg('changes', '100'))
const repeats = Number(arg('repeats', '5'))
const out = arg('out', 'diff')
if (!/^[\w.-]+$/.test(out)) throw new Error('--out must be a plain file name')

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
const cpuMs = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

const blocks = new BlockstoreStore(new MemoryBlockstore())
console.error(`building ${keys} keys…`)
const map = await HAMT.fromEntries<number>(
  (function* () {
    for (let i = 0; i < keys; i++) yield [`key-${i}`, i] as const
  })(),
  { store: blocks, readOnly: false },
)
const before = map.rootId
// Spread over the key space: every 5th change a delete, every 5th a new key, the rest new values.
const step = Math.floor(keys / changes)
for (let n = 0; n < changes; n++) {
  const key = `key-${n * step + 7}`
  if (n % 5 === 0) await map.delete(key)
  else if (n % 5 === 1) await map.set(`new-${n}`, n)
  else await map.set(key, -n)
}
const after = await map.flush()

let depth = 0
const nodesOf = async (root: StoreId): Promise<Set<string>> => {
  const ids = new Set<string>()
  for await (const node of (await HAMT.open(root, { store: blocks })).nodes()) {
    ids.add(String(node.id))
    depth = Math.max(depth, node.depth + 1)
  }
  return ids
}
const [nodesA, nodesB] = [await nodesOf(before), await nodesOf(after)]
const differing =
  [...nodesA].filter((id) => !nodesB.has(id)).length + [...nodesB].filter((id) => !nodesA.has(id)).length

/** The blockstore store, counting block reads whether they come as loads (maps) or getBlock (CARs). */
class CountingStore implements ContentAddressedStore {
  loads = 0
  save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    return blocks.save(data, codec, options)
  }
  load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    this.loads++
    return blocks.load(id, options)
  }
  getBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    this.loads++
    return blocks.getBlock(cid, options)
  }
}

async function measure(
  run: (store: CountingStore) => Promise<number>,
): Promise<{ cpuMs: number; loads: number; items: number }> {
  const times: number[] = []
  let loads = 0
  let items = 0
  for (let r = 0; r < repeats; r++) {
    const store = new CountingStore()
    const start = process.cpuUsage()
    items = await run(store)
    times.push(cpuMs(start))
    loads = store.loads
  }
  return { cpuMs: median(times), loads, items }
}

const count = async (items: AsyncIterable<unknown>): Promise<number> => {
  let n = 0
  for await (const _ of items) n++
  return n
}
const rows = {
  'HAMT.diff, keys only': await measure((store) =>
    count(HAMT.diff(before, after, { store, keysOnly: true })),
  ),
  'HAMT.diff with values': await measure((store) => count(HAMT.diff(before, after, { store }))),
  'exportCar with base (CAR blocks)': await measure((store) =>
    count(exportCar(store, after as CID, { base: before })).then((n) => n - 1),
  ),
  'full walk of one map (keys)': await measure(async (store) =>
    count((await HAMT.open(after, { store })).keys()),
  ),
}

const json = { keys, changes, depth, nodes: nodesB.size, differingNodes: differing, repeats, rows }
console.log(JSON.stringify(json, null, 2))
const markdown = `## Diff of ${changes} changes in ${keys.toLocaleString('en')} keys

The two versions have ${nodesB.size} nodes each (depth ${depth}); ${differing} nodes differ between them
(counted from both trees' node lists). "loads" are block reads from the store by one cold run;
CPU time is the median of ${repeats} runs (process.cpuUsage, user + system).

${markdownTable(
  ['operation', 'items', 'store loads', 'CPU ms'],
  Object.entries(rows).map(([name, r]) => [name, String(r.items), String(r.loads), r.cpuMs.toFixed(1)]),
)}

Raw numbers: [bench/results/${out}.json](bench/results/${out}.json).
`
await writeFile(`${repo}/bench/results/${out}.json`, `${JSON.stringify(json, null, 2)}\n`)
await writeFile(`${repo}/bench/results/${out}.md`, markdown)
