// HAMT.nodes() on tiny hostile trees: each distinct block once, depth bounded by the map's own hash.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Link } from '../src/hamt/node.js'
import { HAMT, type HAMTNode, MemoryStore, type StoreId } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { repeatedLinks, saveNode, tooDeepForShortHash } from './helpers/hostile-trees.js'

async function walk(map: HAMT<unknown>, signal: AbortSignal): Promise<HAMTNode[]> {
  const out: HAMTNode[] = []
  for await (const node of map.nodes({ signal })) out.push(node)
  return out
}

describe('hostile trees: HAMT.nodes stays linear in distinct blocks', () => {
  it('256 links to one child at each of 8 levels (256^8 paths): 9 nodes', async () => {
    const store = await MemoryStore.create()
    const id = await repeatedLinks(store, await saveNode(store, {}), 8)
    const map = await HAMT.open(id, { store, readOnly: false })
    const { value } = await withinBudget('fan-out: nodes', (signal) => walk(map, signal))
    assert.equal(value?.length, 9)
    assert.deepEqual(
      value?.map((node) => node.links),
      [...Array(8).fill(256), 0],
    )
  })

  it('a link below the last level of a 2-byte hash is ERR_INVALID_NODE (the bound is the map’s hash)', async () => {
    const store = await MemoryStore.create()
    const { root, hashFn } = await tooDeepForShortHash(store)
    const short = await HAMT.open(root, { store, hashFn, readOnly: false })
    const outcome = await withinBudget('short: nodes', (signal) => walk(short, signal))
    assertTypedError(outcome, 'ERR_INVALID_NODE')
    assert.match((outcome.error as Error).message, /a 2-byte hash addresses depths 0 to 1 only/)
    // The same tree under a 32-byte hash is three sound levels.
    const long = await HAMT.open(root, { store, readOnly: false })
    assert.deepEqual(
      (await withinBudget('long: nodes', (signal) => walk(long, signal))).value?.map((n) => n.depth),
      [0, 1, 2],
    )
  })

  it('a store that never answers: the walk ends with the signal, as get() does', async () => {
    const store = await MemoryStore.create()
    const child = await saveNode(store, {})
    const root = await saveNode(store, {
      0: Link.toStored(child),
      1: Link.toStored(await saveNode(store, { 5: Link.toStored(child) })),
    })
    let answering = true
    const silent = {
      save: store.save.bind(store),
      load: (id: StoreId, options?: { signal?: AbortSignal }) =>
        answering ? store.load(id, options) : new Promise<Uint8Array>(() => {}),
    }
    const map = await HAMT.open(root, { store: silent, readOnly: false })
    answering = false
    const controller = new AbortController()
    const reason = new Error('gave up')
    setTimeout(() => controller.abort(reason), 50)
    const outcome = await withinBudget('silent store: nodes', () => walk(map, controller.signal))
    assert.equal(outcome.error, reason)
  })
})
