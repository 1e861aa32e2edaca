import { ReadOnlyError } from '../errors.js'
import { RwLock } from '../util/rw-lock.js'

/**
 * Runs a map's calls in the order they were made, and owns its read-only/writable mode. Writes and
 * mode switches hold the lock alone; reads share it, and skip it on a read-only map (nothing
 * changes there) unless a switch is still queued, since until then no call may trust the mode.
 */
export class CallOrder {
  readonly #lock = new RwLock()
  #readOnly: boolean
  /** makeReadOnly/enableWrite calls not yet applied. */
  #modeChanges = 0

  constructor(readOnly: boolean) {
    this.#readOnly = readOnly
  }

  get readOnly(): boolean {
    return this.#readOnly
  }

  /** Runs `fn` alone, after every call made before it; `signal` ends the wait. */
  write<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return this.#lock.write(fn, signal)
  }

  /**
   * Starts a write at once when no call holds or waits for the lock (see `RwLock.tryWrite`); the
   * caller runs it and then calls {@link CallOrder.endWrite}. False when it must queue via `write`.
   */
  tryWrite(): boolean {
    return this.#lock.tryWrite()
  }

  endWrite(): void {
    this.#lock.endWrite()
  }

  /** Runs `fn` after the writes made before it, beside other reads. */
  read<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return this.#readOnly && this.#modeChanges === 0 ? fn() : this.#lock.read(fn, signal)
  }

  /**
   * True when a read called now would run at once: a read-only map, or no write running or waiting.
   * A read that then finishes synchronously needs no lock: nothing else runs meanwhile.
   */
  get readableNow(): boolean {
    return (this.#readOnly && this.#modeChanges === 0) || this.#lock.readableNow
  }

  /** Runs `fn` as a write, then switches the mode to `readOnly` (if `fn` succeeded). */
  async switchMode<T>(readOnly: boolean, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    this.#modeChanges++
    try {
      return await this.#lock.write(async () => {
        const result = await fn()
        this.#readOnly = readOnly
        return result
      }, signal)
    } finally {
      this.#modeChanges--
    }
  }

  /** The check inside a write: refuses it on a read-only map. */
  assertWritable(operation: string): void {
    if (this.#readOnly) throw new ReadOnlyError(operation)
  }

  /** The check at call time: fails fast on a read-only map, unless a queued switch may change that. */
  assertWritableAtCall(operation: string): void {
    if (this.#modeChanges === 0) this.assertWritable(operation)
  }
}
