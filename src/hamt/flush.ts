import type { AbortOptions, StoreId } from '../cas/interface.js'
import { mapPool } from '../util/pool.js'
import type { NodeLoader } from './loader.js'
import { CLEAN, Link, type Node } from './node.js'
import { encodeNode } from './node-encoder.js'

/** Dirty nodes below (and including) `root`, grouped by height: leaves first, the root last. */
function dirtyWaves(root: Node): Node[][] {
  const waves: Node[][] = []
  const heightOf = (node: Node): number => {
    let height = 0
    const slots = node.slots
    for (let index = 0; index < slots.length; index++) {
      const slot = slots[index]
      if (slot instanceof Link && slot.node !== undefined) height = Math.max(height, heightOf(slot.node) + 1)
    }
    const wave = waves[height]
    if (wave === undefined) waves[height] = [node]
    else wave.push(node)
    return height
  }
  heightOf(root)
  return waves
}

/**
 * Saves every dirty node under `root`, children before parents, at most `concurrency` saves at a
 * time, and returns the root's ID. The tree is changed only after every save succeeded: a failed
 * flush leaves all changes in memory, and a retry starts over. `copyAtSave`: the store copies the
 * bytes at the save call, so each node is encoded into the encoder's scratch buffer. `onSaved`
 * hears each node's ID as its save returns (a collection keeps them while the flush runs).
 */
export async function flushTree(
  root: Node,
  loader: NodeLoader,
  concurrency: number,
  options: AbortOptions | undefined,
  copyAtSave = false,
  onSaved?: (id: StoreId) => void,
): Promise<StoreId> {
  const saved = new Map<Node, { id: StoreId; size: number }>()
  const idOf = (child: Node): StoreId => (saved.get(child) as { id: StoreId }).id
  for (const wave of dirtyWaves(root)) {
    await mapPool(
      wave,
      concurrency,
      async (node) => {
        // Encoded and handed to the store in one synchronous step: a scratch view is saved before
        // the next node's encode can overwrite it.
        const bytes = encodeNode(node, idOf, copyAtSave)
        const size = bytes.length
        const id = await loader.save(bytes, 'dag-cbor', options)
        saved.set(node, { id, size })
        onSaved?.(id)
      },
      options?.signal,
    )
  }
  // Buffering stores upload here; until they have, nothing below changes and a retry starts over.
  await loader.flushStore(options)
  // As for set and delete, for stores that ignore the signal: an aborted flush changes nothing.
  options?.signal?.throwIfAborted()
  // Every save succeeded: relink to stored IDs and hand the nodes to the clean cache. Relinking
  // replaces a slot by an equivalent one, so a snapshot being iterated still sees the same content.
  for (const [node, { id, size }] of saved) {
    for (let index = 0; index < node.slots.length; index++) {
      const slot = node.slots[index]
      if (slot instanceof Link && slot.node !== undefined) node.slots[index] = Link.toStored(idOf(slot.node))
    }
    node.epoch = CLEAN
    loader.cache.set(id, node, size)
  }
  return idOf(root)
}
