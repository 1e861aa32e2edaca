import type { ContentAddressedStore, StoreId } from '../cas/interface.js'
import type { CallOrder } from './call-order.js'
import { CollectionView } from './collection-view.js'
import type { KeyHasher } from './keys.js'
import type { NodeLoader } from './loader.js'
import { Link, type Node, type Slot } from './node.js'

/** The nodes from the root down to the one whose slot holds the key's bucket (or is empty). */
export type Path = { nodes: Node[]; hash: Uint8Array }

/** What {@link MapState.mark} saves and {@link MapState.restore} puts back. */
export type StateMark = { readonly root: Link; readonly size: number | undefined; readonly writes: number }

/**
 * A map's state (its root, key count, epoch and write count) and the only code that changes it.
 * `HAMT` holds one; the operations (`map-writes.ts`, `map-reads.ts`) change it through these methods,
 * each in its call's turn of the map's `CallOrder`.
 */
export class MapState {
  #root: Link
  /** Key count when known (a new map, or after a full walk); kept up to date by writes. */
  #size: number | undefined
  /** Writes may change a dirty node in place only if it was made in the current epoch. */
  #epoch = 0
  /** Count of committed writes (and undos), to tell whether the map changed during a long read. */
  #writes = 0
  /** A collectable store's view of the unflushed changes; held here, weakly by the store. */
  #writer: CollectionView | undefined

  constructor(root: Link, size: number | undefined) {
    this.#root = root
    this.#size = size
  }

  get root(): Link {
    return this.#root
  }

  get size(): number | undefined {
    return this.#size
  }

  get epoch(): number {
    return this.#epoch
  }

  get writes(): number {
    return this.#writes
  }

  get writer(): CollectionView | undefined {
    return this.#writer
  }

  /** Once writable, on a collectable store: a collection keeps what this map has not flushed yet. */
  registerWriter(store: ContentAddressedStore): void {
    this.#writer ??= CollectionView.on(
      store,
      () => this.#root,
      () => this.#writes,
    )
  }

  /**
   * Puts `replacement` into the path's slot at `depth`, relinks every node above it and counts the
   * write (`added`: the keys it adds, -1 for a delete). Synchronous: no reader or writer can see the
   * tree between the first change and the last.
   */
  commit(path: Path, depth: number, replacement: Slot, added: number): void {
    if (added !== 0 && this.#size !== undefined) this.#size += added
    this.#writes++
    let child = replacement
    for (let d = depth; d >= 0; d--) {
      const original = path.nodes[d] as Node
      const node = original.epoch === this.#epoch ? original : original.copy(this.#epoch)
      node.slots[path.hash[d] as number] = child
      // Changed in place and already linked from its parent (or the root): nothing above changes.
      if (
        node === original &&
        (d === 0 ? this.#root.node === node : isLinkTo(path.nodes[d - 1], path.hash[d - 1], node))
      ) {
        return
      }
      child = Link.toDirty(node)
    }
    this.#root = child as Link
  }

  /**
   * The state now, for a long reader or a write that may have to undo itself. `freeze`: later writes
   * copy the nodes they change instead of changing them in place, so the mark's root stays intact.
   */
  mark(freeze: boolean): StateMark {
    if (freeze) this.#epoch++
    return { root: this.#root, size: this.#size, writes: this.#writes }
  }

  /**
   * Back to a mark taken with `freeze` (a failed write of several keys changes nothing). The write
   * count still moves on: a collection may have seen the undone changes under the mark's count + n.
   */
  restore(mark: StateMark): void {
    this.#root = mark.root
    this.#size = mark.size
    this.#writes++
  }

  /** The tree is saved and `rootId` is its root (after a flush, or a build that knows its `size`). */
  stored(rootId: StoreId, size?: number): void {
    this.#root = Link.toStored(rootId)
    if (size !== undefined) this.#size = size
  }

  /** A count a walk of the mark's tree found: the key count if no write came in between. */
  counted(count: number, mark: StateMark): void {
    if (this.#writes === mark.writes) this.#size = count
  }
}

function isLinkTo(parent: Node | undefined, index: number | undefined, node: Node): boolean {
  const slot = parent?.slots[index as number]
  return slot instanceof Link && slot.node === node
}

/** What a map's operations work on: its parts, fixed at construction, and its {@link MapState}. */
export interface MapCore {
  readonly store: ContentAddressedStore
  readonly loader: NodeLoader
  readonly hasher: KeyHasher
  readonly calls: CallOrder
  readonly state: MapState
  readonly maxBucketSize: number
  readonly valuesAreBytes: boolean
  readonly flushConcurrency: number
}
