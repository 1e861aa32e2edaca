import { CID } from 'multiformats/cid'
import { WriterView } from '../cas/collectable.js'
import type { ContentAddressedStore, StoreId } from '../cas/interface.js'
import { Bucket, Link, type Node } from './node.js'

/**
 * A writable map's view for garbage collection (`car/gc.ts`; a {@link WriterView}): the IDs its dirty
 * nodes hold, what a flush or bulk build under way has saved, and the values of sets not in a node
 * yet. All of it may be written already and is in no root, so a collection keeps it.
 */
export class CollectionView {
  readonly #view: WriterView

  private constructor(view: WriterView) {
    this.#view = view
  }

  /** A view registered with `store`, or undefined when the store collects no garbage. */
  static on(
    store: ContentAddressedStore,
    root: () => Link,
    writes: () => number,
  ): CollectionView | undefined {
    const view = WriterView.on(store, writes, () => unflushedIds(root()))
    return view === undefined ? undefined : new CollectionView(view)
  }

  /**
   * Runs a flush or bulk build of the map `view` watches (none: a store that collects no garbage),
   * handing it `onSaved`: each node or value it saves is kept until it ends, failed or not, and then
   * until its caller has the root (see `SaveHolds`).
   */
  static async keepingSaves<T>(
    view: CollectionView | undefined,
    run: (onSaved: (id: StoreId) => void) => Promise<T>,
  ): Promise<T> {
    if (view === undefined) return run(() => {})
    return view.#view.keepingSaves((onSaved) =>
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
    let release: (() => void) | undefined
    saving.then(
      (id) => {
        const cid = CID.asCID(id)
        if (!done && cid !== null) release = this.#view.hold(cid)
      },
      () => {},
    )
    return () => {
      done = true
      release?.()
    }
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
