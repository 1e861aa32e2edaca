import { CID } from 'multiformats/cid'
import {
  type CollectableAccess,
  collectable,
  isCollectable,
  SaveHolds,
  type UnflushedWriter,
} from '../cas/collectable.js'
import type { ContentAddressedStore, StoreId } from '../cas/interface.js'
import { Bucket, Link, type Node } from './node.js'

/**
 * A writable map's view for garbage collection (`car/gc.ts`), registered weakly with a collectable
 * store: the IDs its dirty nodes hold, what a flush or bulk build under way has saved, and the values
 * of sets not in a node yet. All of it may be written already and is in no root, so a collection keeps it.
 */
export class CollectionView implements UnflushedWriter {
  readonly #root: () => Link
  readonly #writes: () => number
  /** Saved by the flushes (or bulk builds) under way or just ended. */
  readonly #saved: SaveHolds
  /** Saved by sets and setMany not committed yet, with how many hold each. */
  readonly #values = new Map<StoreId, number>()
  /** Value saves seen, ever: with the map's write count and the flushes' saves, the version. */
  #saves = 0

  private constructor(access: CollectableAccess, root: () => Link, writes: () => number) {
    this.#saved = new SaveHolds(access)
    this.#root = root
    this.#writes = writes
  }

  /** A view registered with `store`, or undefined when the store collects no garbage. */
  static on(
    store: ContentAddressedStore,
    root: () => Link,
    writes: () => number,
  ): CollectionView | undefined {
    if (!isCollectable(store)) return undefined
    const access = store[collectable]()
    const view = new CollectionView(access, root, writes)
    access.addWriter(view)
    return view
  }

  version(): number {
    return this.#writes() + this.#saves + this.#saved.count
  }

  *unflushed(): Iterable<CID> {
    yield* this.#saved.held()
    yield* cidsOf(this.#values.keys())
    yield* unflushedIds(this.#root())
  }

  /**
   * Runs a flush or bulk build of the map `view` watches (none: a store that collects no garbage),
   * handing it `onSaved`: each node or value it saves is kept until it ends, failed or not, and then
   * until its caller has the root (see {@link SaveHolds}).
   */
  static async keepingSaves<T>(
    view: CollectionView | undefined,
    run: (onSaved: (id: StoreId) => void) => Promise<T>,
  ): Promise<T> {
    if (view === undefined) return run(() => {})
    return view.#saved.during((onSaved) =>
      run((id) => {
        const cid = CID.asCID(id)
        if (cid !== null) onSaved(cid)
      }),
    )
  }

  /**
   * Until the function returned is called, the value `saving` saves is kept (a set's value is
   * written, maybe, before its turn puts it in a node).
   */
  holdWhileSaved(saving: Promise<StoreId>): () => void {
    let done = false
    let held: StoreId | undefined
    saving.then(
      (id) => {
        if (done) return
        held = id
        this.#values.set(id, (this.#values.get(id) ?? 0) + 1)
        this.#saves++
      },
      () => {},
    )
    return () => {
      done = true
      if (held === undefined) return
      const left = (this.#values.get(held) ?? 1) - 1
      if (left === 0) this.#values.delete(held)
      else this.#values.set(held, left)
    }
  }
}

function* cidsOf(ids: Iterable<StoreId>): Iterable<CID> {
  for (const id of ids) {
    const cid = CID.asCID(id)
    if (cid !== null) yield cid
  }
}

/** The IDs a map's dirty nodes hold: values set and stored subtrees, none while the root is stored. */
function* unflushedIds(root: Link): Iterable<CID> {
  if (root.node === undefined) return
  const nodes: Node[] = [root.node]
  for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
    for (const slot of node.slots) {
      if (slot instanceof Bucket) {
        for (let i = 0; i < slot.size; i++) {
          const cid = CID.asCID(slot.pointerAt(i))
          if (cid !== null) yield cid
        }
      } else if (slot instanceof Link) {
        if (slot.node !== undefined) nodes.push(slot.node)
        else {
          const cid = CID.asCID(slot.id)
          if (cid !== null) yield cid
        }
      }
    }
  }
}
