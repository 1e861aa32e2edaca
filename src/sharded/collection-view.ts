import type { CID } from 'multiformats/cid'
import {
  type CollectableAccess,
  collectable,
  isCollectable,
  SaveHolds,
  type UnflushedWriter,
} from '../cas/collectable.js'
import type { ContentAddressedStore } from '../cas/interface.js'

/**
 * A writable shard table's view for garbage collection (`car/gc.ts`), registered weakly with a
 * collectable store: what the table's unflushed changes link to, and the chunks saved by writes not
 * in their shard yet, and the shards and root a flush under way saved. All of it may be written already and is in no root, so a collection keeps it.
 */
export class ShardedCollectionView implements UnflushedWriter {
  readonly #changes: () => number
  readonly #linked: () => Iterable<CID>
  /** Chunks saved by writes not in their shard yet (see {@link holdWhile}), with how many hold each. */
  readonly #inFlight = new Map<CID, number>()
  /** Holds ever: with the table's change count and the flushes' saves, the version. */
  #holds = 0
  /** Shards and roots saved by the flush under way or just ended. */
  readonly #saved: SaveHolds

  private constructor(access: CollectableAccess, changes: () => number, linked: () => Iterable<CID>) {
    this.#saved = new SaveHolds(access)
    this.#changes = changes
    this.#linked = linked
  }

  /**
   * A view registered with `store`, or undefined when the store collects no garbage. `changes`
   * counts the table's changes; `linked` lists what its unflushed changes link to.
   */
  static on(
    store: ContentAddressedStore,
    changes: () => number,
    linked: () => Iterable<CID>,
  ): ShardedCollectionView | undefined {
    if (!isCollectable(store)) return undefined
    const access = store[collectable]()
    const view = new ShardedCollectionView(access, changes, linked)
    access.addWriter(view)
    return view
  }

  version(): number {
    return this.#changes() + this.#holds + this.#saved.count
  }

  *unflushed(): Iterable<CID> {
    yield* this.#saved.held()
    yield* this.#inFlight.keys()
    yield* this.#linked()
  }

  /**
   * Runs a flush, handing it `onSaved`: each shard or root it saves is kept until it ends, and then
   * until its caller has the root (see {@link SaveHolds}).
   */
  keepingSaves<T>(run: (onSaved: (cid: CID) => void) => Promise<T>): Promise<T> {
    return this.#saved.during(run)
  }

  /** Runs `write` with the chunk `cid` kept by collections meanwhile. */
  async holdWhile<T>(cid: CID, write: () => Promise<T>): Promise<T> {
    this.#inFlight.set(cid, (this.#inFlight.get(cid) ?? 0) + 1)
    this.#holds++
    try {
      return await write()
    } finally {
      const left = (this.#inFlight.get(cid) ?? 1) - 1
      if (left === 0) this.#inFlight.delete(cid)
      else this.#inFlight.set(cid, left)
    }
  }
}
