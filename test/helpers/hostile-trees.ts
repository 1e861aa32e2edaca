// Hand-built HAMT trees for hostile-input tests: nodes saved slot by slot, links repeated at will.
import assert from 'node:assert/strict'
import { Bucket, Link, Node, type Slot } from '../../src/hamt/node.js'
import { encodeNode } from '../../src/hamt/node-encoder.js'
import type { HashFn, MemoryStore, StoreId } from '../../src/index.js'

/** Saves a node whose slots are given by index (the rest empty) and returns its ID. */
export async function saveNode(store: MemoryStore, slots: Record<number, Slot>): Promise<StoreId> {
  const node = new Node()
  for (const [index, slot] of Object.entries(slots)) node.slots[Number(index)] = slot
  return store.save(
    encodeNode(node, () => assert.fail('no dirty children')),
    'dag-cbor',
  )
}

/** A node with all 256 slots linking to `child`. */
export const everySlot = (child: StoreId): Record<number, Slot> =>
  Object.fromEntries(Array.from({ length: 256 }, (_, i) => [i, Link.toStored(child)]))

/** `levels` nodes above `leaf`, each linking to the one below from all 256 slots. */
export async function repeatedLinks(store: MemoryStore, leaf: StoreId, levels: number): Promise<StoreId> {
  let id = leaf
  for (let level = 0; level < levels; level++) id = await saveNode(store, everySlot(id))
  return id
}

/** A 2-byte hash (the key's first two bytes) and a tree that links one level below its last byte. */
export async function tooDeepForShortHash(store: MemoryStore): Promise<{ root: StoreId; hashFn: HashFn }> {
  const hashFn: HashFn = (data) => Uint8Array.of(data[0] ?? 0, data[1] ?? 0)
  const pointer = await store.save(Uint8Array.of(0xf6), 'raw')
  const bottom = await saveNode(store, { 0: new Bucket(['ab'], [pointer]) })
  const middle = await saveNode(store, { 98: Link.toStored(bottom) })
  const root = await saveNode(store, { 97: Link.toStored(middle) })
  return { root, hashFn }
}
