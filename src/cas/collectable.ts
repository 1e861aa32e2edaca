import type { CID } from 'multiformats/cid'
import type { AbortOptions } from './interface.js'

/**
 * The key of a store's garbage-collection access (`car/gc.ts`): a symbol, so the methods that list
 * and delete blocks are no part of the store's public surface.
 */
export const collectable: unique symbol = Symbol.for('ts-hamt.collectable')

/** What garbage collection needs from a store it may delete from (BlockstoreStore, DiskStore). */
export interface CollectableAccess {
  /** What the store is, for messages. */
  readonly description: string
  /**
   * Takes the store for one collection (a disk store: its lock file, refused while another process
   * writes or collects); resolves to the release.
   */
  begin(options: AbortOptions): Promise<() => Promise<void>>
  /**
   * Calls `onPut` with the CID of every block saved, put or written from now until the returned
   * function is called, before the block is buffered: a re-put of a block already held is seen too.
   */
  watchPuts(onPut: (cid: CID) => void): () => void
  /** Writes the buffered blocks (so blocks buffered before a collection are seen as puts). */
  flush(options: AbortOptions): Promise<void>
  /** One block's bytes, checked against its CID (buffered blocks first). */
  getBlock(cid: CID, options: AbortOptions): Promise<Uint8Array>
  /** Whether the block is buffered or held. */
  hasBlock(cid: CID, options: AbortOptions): Promise<boolean>
  /** Every held block once, named by a CID with its multihash (its codec may be raw for any block). */
  list(options: AbortOptions): AsyncIterable<CID>
  /** The bytes a held block takes; undefined when it is gone. */
  size(cid: CID, options: AbortOptions): Promise<number | undefined>
  /** Deletes one held block (gone already is not an error). Call it only inside {@link exclusive}. */
  remove(cid: CID, options: AbortOptions): Promise<void>
  /** Runs `fn` while no buffered block is written: a put recorded before a delete is written after it. */
  exclusive<T>(fn: () => Promise<T>, options: AbortOptions): Promise<T>
  /** Registers a writer whose unflushed state a collection keeps; held weakly, until it is collected. */
  addWriter(writer: UnflushedWriter): void
  /** The live writers registered. */
  writers(): Iterable<UnflushedWriter>
  /**
   * Blocks a writer or import stops holding (its flush, build or import ended): each collection under
   * way keeps them as puts, since it may have begun after they were written and before it asked for them.
   */
  released(cids: Iterable<CID>): void
  /**
   * The blocks put, or found held and relied on, by imports still under way (in no root yet; a full
   * buffer may have written them), each import's in order, those added while this is read included.
   */
  unsettled(): Iterable<CID>
}

/**
 * A writable map's view for garbage collection: the blocks its unflushed changes refer to (values
 * set, subtrees its dirty nodes link to), which no root holds until it flushes.
 */
export interface UnflushedWriter {
  /** A count that changes whenever the unflushed state may have changed. */
  version(): number
  /** The IDs the unflushed state links to (a collection walks their links too). */
  unflushed(): Iterable<CID>
}

/**
 * Whether a writer has unflushed state: blocks a store wrote for it (a full buffer, another writer's
 * flush) are in no root yet. A flush under way counts until its caller has the root: it may still fail
 * (aborted after the store's flush), and a set called meanwhile is in no root it returns.
 */
export function unrootedWriter(writers: Iterable<UnflushedWriter>): boolean {
  for (const writer of writers) {
    for (const _ of writer.unflushed()) return true
  }
  return false
}

/**
 * What a writer's flushes (or bulk builds) under way have saved, for its {@link UnflushedWriter}: in no
 * root until the flush returns it. Each run's saves are held until a macrotask after it ends (after the
 * microtasks that hand its caller the root: a collection started in them keeps the root), then handed
 * to the collections under way, each run's on their own (the next flush may start in the same tick).
 */
export class SaveHolds {
  readonly #access: CollectableAccess
  readonly #runs = new Set<CID[]>()
  /** Saves seen, ever: part of the writer's version. */
  #count = 0

  constructor(access: CollectableAccess) {
    this.#access = access
  }

  get count(): number {
    return this.#count
  }

  /** The saves held. */
  *held(): Iterable<CID> {
    for (const saves of this.#runs) yield* saves
  }

  /** Runs `run`, holding each CID it passes to `onSaved` (see the class). */
  async during<T>(run: (onSaved: (cid: CID) => void) => Promise<T>): Promise<T> {
    const saves: CID[] = []
    this.#runs.add(saves)
    try {
      return await run((cid) => {
        saves.push(cid)
        this.#count++
      })
    } finally {
      afterMicrotasks(() => {
        this.#runs.delete(saves)
        // A collection that began while the run went on, before it asked the writer, keeps them still.
        this.#access.released(saves)
      })
    }
  }
}

/** Runs `fn` in a macrotask: after the microtasks that hand a run's result to its caller. */
export function afterMicrotasks(fn: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(fn)
  else setTimeout(fn, 0)
}

/**
 * A writer's view for garbage collection, registered weakly with a collectable store ({@link WriterView.on}):
 * what its unflushed state links to, the blocks its writes hold until that state links them
 * ({@link WriterView.hold}), and what its flushes saved ({@link WriterView.keepingSaves}). All of it may be
 * written already and is in no root, so a collection keeps it. The HAMT's and the shard table's view.
 */
export class WriterView implements UnflushedWriter {
  readonly #changes: () => number
  readonly #linked: () => Iterable<CID>
  readonly #saved: SaveHolds
  /** Blocks held by writes not in the unflushed state yet, with how many hold each. */
  readonly #held = new Map<CID, number>()
  /** Holds ever: with the writer's change count and its flushes' saves, the version. */
  #holds = 0

  private constructor(access: CollectableAccess, changes: () => number, linked: () => Iterable<CID>) {
    this.#saved = new SaveHolds(access)
    this.#changes = changes
    this.#linked = linked
  }

  /**
   * A view registered with `store`, or undefined when the store collects no garbage. `changes` counts
   * the writer's changes; `linked` lists what its unflushed state links to.
   */
  static on(store: unknown, changes: () => number, linked: () => Iterable<CID>): WriterView | undefined {
    if (!isCollectable(store)) return undefined
    const access = store[collectable]()
    const view = new WriterView(access, changes, linked)
    access.addWriter(view)
    return view
  }

  version(): number {
    return this.#changes() + this.#holds + this.#saved.count
  }

  *unflushed(): Iterable<CID> {
    yield* this.#saved.held()
    yield* this.#held.keys()
    yield* this.#linked()
  }

  /** Runs a flush or build, handing it `onSaved`: what it saves is kept as {@link SaveHolds} says. */
  keepingSaves<T>(run: (onSaved: (cid: CID) => void) => Promise<T>): Promise<T> {
    return this.#saved.during(run)
  }

  /** Keeps `cid` until the function returned is called (once; later calls do nothing). */
  hold(cid: CID): () => void {
    this.#held.set(cid, (this.#held.get(cid) ?? 0) + 1)
    this.#holds++
    let held = true
    return () => {
      if (!held) return
      held = false
      const left = (this.#held.get(cid) ?? 1) - 1
      if (left === 0) this.#held.delete(cid)
      else this.#held.set(cid, left)
    }
  }
}

/** Writers by weak reference, dropped once their map is garbage collected (`onCollected` is told then). */
export class WriterRegistry {
  readonly #refs = new Set<WeakRef<UnflushedWriter>>()
  readonly #finalizer: FinalizationRegistry<WeakRef<UnflushedWriter>>

  constructor(onCollected?: () => void) {
    this.#finalizer = new FinalizationRegistry((ref) => {
      this.#refs.delete(ref)
      onCollected?.()
    })
  }

  add(writer: UnflushedWriter): void {
    const ref = new WeakRef(writer)
    this.#refs.add(ref)
    this.#finalizer.register(writer, ref)
  }

  *live(): Iterable<UnflushedWriter> {
    for (const ref of this.#refs) {
      const writer = ref.deref()
      if (writer !== undefined) yield writer
    }
  }
}

/** A store whose unreachable blocks {@link collectGarbage} can remove. */
export interface Collectable {
  [collectable](): CollectableAccess
}

export function isCollectable(store: unknown): store is Collectable {
  return typeof (store as Partial<Collectable> | null)?.[collectable] === 'function'
}
