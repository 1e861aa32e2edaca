// A disk store's hold on this process's writer marker (`disk-markers.ts`) for blocks its full write
// buffer wrote before a flush: in no root yet, so other processes' collections are refused until a
// flush confirms them, and what a marker lost meanwhile cost the store. Node-only.
import { StoreError } from '../errors.js'
import { STALE_MS } from './disk-lock.js'
import { type Holder, heldMarker, holdsIn, lossesIn, releaseHold, takeHold } from './disk-markers.js'

/** Holds are weak: a store dropped (its maps with it) leaves blocks no one can root, and its hold goes. */
const droppedHolds = new FinalizationRegistry<[string, WeakRef<Holder>]>(([directory, ref]) =>
  releaseHold(directory, ref),
)

/**
 * One store's blocks written and not yet confirmed by a flush's end. A full write buffer writes
 * blocks before `flush()`, in no root yet: from its first put this process's marker stays (other
 * processes' collections are refused, as while a put runs) until a flush's end finds it held. A
 * marker lost meanwhile drops every hold; a store that wrote before a flush then fails every flush,
 * until no writer or import is left to root those blocks.
 */
export class UnconfirmedWrites implements Holder {
  readonly #directory: string
  readonly #ref = new WeakRef(this)
  /** The loss count when this store's hold was taken; undefined: no hold. */
  #heldAt: number | undefined
  /**
   * Blocks left the buffer with no confirming flush (it filled) since the last confirmed one: a put
   * stored since the buffer began writing early (a refused one's block stays buffered: not lost).
   */
  #early = false
  /** The buffer wrote early since the last confirm (a confirming flush after it counts too: no signal tells). */
  #writingEarly = false
  /** Such blocks were written before a lost marker: a collection may have deleted them. */
  #lost = false
  /** Puts stored, ever, and their count when the last settled: a hold kept goes only with none since. */
  #puts = 0
  #settledAt = 0
  /** Puts under way (begun, not ended). */
  #putting = 0
  /** A put stored since the last confirm while no writer or import of the store could own it (see {@link ownerGone}). */
  #unowned = false
  /** Whether a writer of this store (or an import) has changes in no root yet (see {@link keepWhile}). */
  #unrooted: () => boolean = () => false
  /** Whether the store has a live writer or an import under way. */
  #owned: () => boolean = () => false
  /** Calls of {@link unownedPut}, ever. */
  #plainPuts = 0
  /**
   * The store's flushes under way: their tickets (see `beginWriting`) and {@link unownedPut} counts at
   * their start. A confirm can't tell which is its own: it checks from the oldest's.
   */
  readonly #flushes: { since: number; plainPuts: number }[] = []

  /**
   * A confirmed flush keeps the hold while `unrooted()` says a writer's changes are in no root yet:
   * the flush wrote blocks of theirs (buffered, or written early) that only their own flush roots.
   * `owned()`: whether a writer or import of the store is there to own a put now.
   */
  keepWhile(unrooted: () => boolean, owned: () => boolean): void {
    this.#unrooted = unrooted
    this.#owned = owned
  }

  constructor(directory: string) {
    this.#directory = directory
  }

  /** A flush of the store began writing with ticket `since` (see `beginWriting`); {@link flushEnded} ends it. */
  flushBegan(since: number): void {
    this.#flushes.push({ since, plainPuts: this.#plainPuts })
  }

  flushEnded(since: number): void {
    this.#flushes.splice(
      this.#flushes.findIndex((flush) => flush.since === since),
      1,
    )
  }

  /** Blocks are leaving the write buffer without a confirming flush (called in the buffer's turn). */
  writingEarly(): void {
    this.#writingEarly = true
  }

  /** A put of the store began writing (its marker confirmed): the marker stays from now. */
  wrote(): void {
    this.#putting++
    this.#dropMoot()
    if (this.#heldAt !== undefined) return
    const directory = this.#directory
    this.#heldAt = lossesIn(directory)
    takeHold(directory, this.#ref)
    droppedHolds.register(this, [directory, this.#ref], this.#ref)
  }

  /** The caller's own put (`putBlock`): a writer or import given up does not settle it, only a flush. */
  unownedPut(): void {
    this.#plainPuts++
    this.#unowned = true
  }

  /** A put {@link wrote} began ended: its block is on disk (`stored`), or still buffered (refused, failed). */
  putEnded(stored: boolean): void {
    this.#putting--
    if (!stored) {
      this.settle() // the hold it took may go
      return
    }
    this.#puts++
    if (this.#writingEarly) this.#early = true
    if (!this.#owned()) this.#unowned = true
  }

  /**
   * A writer of the store was garbage collected, or an import failed: what it had in no root is no
   * one's now. Unless a put came with no writer or import to own it (a plain `putBlock`'s block: kept
   * until a flush) or one is under way, the puts so far are settled: the hold goes once no writer or
   * import left has changes in no root.
   */
  ownerGone(): void {
    if (!this.#unowned && this.#putting === 0) this.#settledAt = this.#puts
    this.settle()
  }

  /**
   * At a flush's end (the buffer's turn): refuses (typed) unless every block written since the last
   * is safe; then the hold goes, unless another writer's blocks are in no root yet (see {@link keepWhile}).
   */
  async confirm(): Promise<void> {
    try {
      // Its flush is one of those under way (each confirms in its turn): from the oldest's start, to be safe.
      await heldMarker(this.#directory, Math.min(...this.#flushes.map((flush) => flush.since)))
    } catch (error) {
      if (this.#early) this.#lost = true
      this.#writingEarly = false
      this.#release()
      throw error
    }
    this.#dropMoot()
    if (this.#lost) {
      this.#release()
      throw new StoreError(
        `cannot flush to the disk store at ${this.#directory}: this process's writer marker was removed (another process judged it dead: was this process paused or its event loop blocked for over ${STALE_MS / 1000} s?) after this store wrote blocks before a flush (its write buffer filled: writeBufferBytes); a collection may have deleted them, so no flush of this store can return a whole root: open the store again (DiskStore.open), open the map's last root and redo the changes made since`,
      )
    }
    this.#settledAt = this.#puts
    // A plain put since the flush began may have missed its turn (buffered after it took the buffer).
    this.#unowned = this.#plainPuts !== Math.min(...this.#flushes.map((flush) => flush.plainPuts))
    this.#writingEarly = false
    // Kept, what it wrote for them counts as written early: a loss from now on may delete it.
    this.#early = this.#heldAt !== undefined && this.#unrooted()
    if (!this.#early) this.#release()
    // A writer this flush roots may be what kept another store's hold (stores share a directory).
    settleHolds(this.#directory)
  }

  /**
   * Lets a kept hold go once no put came (or runs) since it settled and no writer's changes are in no
   * root. Then what was written early is no one's: a loss found before cost nothing a root needs.
   */
  settle(): void {
    this.#dropMoot()
    if (this.#putting > 0 || this.#puts !== this.#settledAt || this.#unrooted()) return
    this.#early = false
    this.#lost = false
    this.#release()
  }

  /** A hold a loss dropped: blocks written before a flush under it may be gone. */
  #dropMoot(): void {
    if (this.#heldAt === undefined || this.#heldAt === lossesIn(this.#directory)) return
    if (this.#early) this.#lost = true
    this.#heldAt = undefined
  }

  #release(): void {
    this.#dropMoot() // a hold a loss dropped took its count with it
    if (this.#heldAt === undefined) return
    this.#heldAt = undefined
    droppedHolds.unregister(this.#ref)
    releaseHold(this.#directory, this.#ref)
  }
}

/** Lets holds kept in `directory` go if writers are rooted now (a flush confirmed; a writer's flush ended). */
export function settleHolds(directory: string): void {
  for (const held of holdsIn(directory)) held.deref()?.settle()
}
