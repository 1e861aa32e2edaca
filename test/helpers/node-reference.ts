// The reference encoding of a HAMT node: the same node as plain IPLD data, encoded by @ipld/dag-cbor.
import * as dagCbor from '@ipld/dag-cbor'
import { Link, type Node } from '../../src/hamt/node.js'
import type { StoreId } from '../../src/index.js'

/** `node` encoded by @ipld/dag-cbor (empty slot `{}`, link `[id]`, bucket a map of key → ID). */
export function referenceEncode(node: Node): Uint8Array {
  return dagCbor.encode(
    node.slots.map((slot) => {
      if (slot === undefined) return {}
      if (slot instanceof Link) return [slot.id]
      const bucket: Record<string, StoreId> = Object.create(null)
      for (let i = 0; i < slot.size; i++) bucket[slot.keyAt(i)] = slot.pointerAt(i)
      return bucket
    }),
  )
}
