import { StoreError } from '../errors.js'
import { watchAbort } from '../util/abort.js'

/**
 * A read stopped because the store's shared budget of unverified bytes was held by other reads, each
 * waiting for more: the youngest gives its bytes back so that the older ones can finish.
 */
export class ReadBudgetError extends StoreError {}

/** One read's part of a {@link ReadBudget}: what it holds, and what it waits for. */
export interface BudgetShare {
  /** Bytes this read holds. */
  readonly held: number
  /**
   * Holds `bytes` in all (at most the budget's total), waiting while other reads hold the rest. A read
   * that would wait for ever (every holder waiting) is refused: `refused` gives its error.
   */
  hold(bytes: number, signal: AbortSignal | undefined, refused: (held: number) => Error): Promise<void>
  /** True while a {@link BudgetShare.hold} waits (it was not granted at once). */
  waits(): boolean
  /** Gives every byte back (the read is over, or its attempt): the share keeps its age for a retry. */
  release(): void
  /**
   * Waits until no read older than this one is under way (a refused read, before it starts again:
   * the oldest read is never refused, so it starts at most once more).
   */
  turn(signal: AbortSignal | undefined): Promise<void>
  /** The read is over: younger refused reads may take their turn. */
  end(): void
}

interface Share extends BudgetShare {
  held: number
  readonly age: number
  waiting?: { bytes: number; grant: () => void; refuse: (held: number) => void }
}

/**
 * Bytes that concurrent reads of unknown length hold together, at most `total`: each read takes more
 * as its body streams and waits, oldest read first, while others hold the rest. When every read
 * holding bytes waits (none can finish), the youngest is refused and gives its bytes back, so the
 * oldest always goes on: only a read whose own size exceeds `total` fails for its size.
 */
export class ReadBudget {
  readonly total: number
  #used = 0
  #ages = 0
  /** Shares holding bytes. */
  readonly #holders = new Set<Share>()
  /** Shares waiting for more, oldest first. */
  #queue: Share[] = []
  /** Reads under way (from `share()` to `end()`), oldest first. */
  readonly #live = new Set<Share>()
  /** Refused reads waiting for their turn to start again. */
  readonly #turnWaiters = new Map<Share, () => void>()

  constructor(total: number) {
    this.total = total
  }

  /** A new read's share, younger than every share taken before. */
  share(): BudgetShare {
    const share: Share = {
      held: 0,
      age: this.#ages++,
      hold: (bytes, signal, refused) => this.#hold(share, bytes, signal, refused),
      waits: () => share.waiting !== undefined,
      release: () => this.#release(share),
      turn: (signal) => this.#turn(share, signal),
      end: () => {
        this.#release(share)
        this.#live.delete(share)
        this.#turnWaiters.delete(share)
        this.#wakeTurns()
      },
    }
    this.#live.add(share)
    return share
  }

  #hold(
    share: Share,
    bytes: number,
    signal: AbortSignal | undefined,
    refused: (held: number) => Error,
  ): Promise<void> {
    // Rejected, never thrown: a reader's `hold(n).catch(...)` that cancels its body must run.
    if (bytes > this.total)
      return Promise.reject(new RangeError(`a read may hold ${this.total} bytes, asked for ${bytes}`))
    if (bytes <= share.held) return Promise.resolve()
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#queue.length === 0 && this.#used - share.held + bytes <= this.total) {
      this.#take(share, bytes)
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const unwatch =
        signal === undefined
          ? () => {}
          : watchAbort(signal, () => {
              this.#leaveQueue(share)
              reject(signal.reason)
              this.#settle()
            })
      share.waiting = {
        bytes,
        grant: () => {
          unwatch()
          resolve()
        },
        refuse: (held) => {
          unwatch()
          reject(refused(held))
        },
      }
      const at = this.#queue.findIndex((other) => other.age > share.age)
      this.#queue.splice(at < 0 ? this.#queue.length : at, 0, share)
      this.#settle()
    })
  }

  #turn(share: Share, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted()
    if (this.#oldest() === share) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const unwatch =
        signal === undefined
          ? () => {}
          : watchAbort(signal, () => {
              this.#turnWaiters.delete(share)
              reject(signal.reason)
            })
      this.#turnWaiters.set(share, () => {
        unwatch()
        resolve()
      })
    })
  }

  #oldest(): Share | undefined {
    for (const share of this.#live) return share
    return undefined
  }

  /** The oldest read under way, if it waits for its turn, has it. */
  #wakeTurns(): void {
    const oldest = this.#oldest()
    const wake = oldest === undefined ? undefined : this.#turnWaiters.get(oldest)
    if (oldest === undefined || wake === undefined) return
    this.#turnWaiters.delete(oldest)
    wake()
  }

  #take(share: Share, bytes: number): void {
    this.#used += bytes - share.held
    share.held = bytes
    this.#holders.add(share)
  }

  #release(share: Share): void {
    this.#giveBack(share)
    this.#settle()
  }

  #giveBack(share: Share): void {
    this.#leaveQueue(share)
    this.#used -= share.held
    share.held = 0
    this.#holders.delete(share)
  }

  #leaveQueue(share: Share): void {
    if (share.waiting === undefined) return
    share.waiting = undefined
    this.#queue = this.#queue.filter((other) => other !== share)
  }

  /** Grants waiting shares in age order while they fit; refuses the youngest holder when none can go on. */
  #settle(): void {
    for (;;) {
      while (this.#queue.length > 0) {
        const head = this.#queue[0] as Share
        const waiting = head.waiting as NonNullable<Share['waiting']>
        if (this.#used - head.held + waiting.bytes > this.total) break
        this.#queue.shift()
        head.waiting = undefined
        this.#take(head, waiting.bytes)
        waiting.grant()
      }
      if (this.#queue.length === 0) return
      // Some holder still reading will give bytes back: wait for it.
      for (const holder of this.#holders) if (holder.waiting === undefined) return
      const youngest = this.#queue.findLast((share) => share.held > 0)
      if (youngest === undefined) return // unreachable: nothing held, so the head fits
      const { refuse } = youngest.waiting as NonNullable<Share['waiting']>
      const held = youngest.held
      this.#giveBack(youngest)
      refuse(held)
    }
  }
}
