import type { CID } from 'multiformats/cid'
import { collectable, isCollectable, type UnflushedWriter } from '../cas/collectable.js'
import type { ContentAddressedStore } from '../cas/interface.js'

/**
 * A writable shard table's view for garbage collection (`car/gc.ts`), registered weakly with a
 * collectable store: what the table's unflushed changes link to, and the chunks saved by writes not
 * in their shard yet. All of it may be written already and is in no root, so a collection keeps it.
 */
export class ShardedCollectionView implements UnflushedWriter {
  readonly #changes: () => number
  readonly #linked: () => Iterable<CID>
  /** Chunks saved by writes not in their shard yet (see {@link holdWhile}), with how many hold each. */
  readonly #inFlight = new Map<CID, number>()
  /** Holds ever: with the table's change count, the version. */
  #holds = 0

  private constructor(changes: () => number, linked: () => Iterable<CID>) {
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
    const view = new ShardedCollectionView(changes, linked)
    store[collectable]().addWriter(view)
    return view
  }

  version(): number {
    return this.#changes() + this.#holds
  }

  *unflushed(): Iterable<CID> {
    yield* this.#inFlight.keys()
    yield* this.#linked()
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
