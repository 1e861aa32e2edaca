import { setMaxListeners } from 'node:events'
import { rmSync } from 'node:fs'

/** The exit code of a run ended by a signal: 128 + its number, as shells report it. */
const EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const

export type StopSignal = keyof typeof EXIT_CODES

/** How long a command that honours its AbortSignal gets to stop and clean up after a signal. */
export const GRACE_MS = 3_000

/**
 * SIGINT, SIGTERM and SIGHUP (a closed terminal) for one CLI run: the first one aborts `signal`, so
 * the command stops and removes what it was writing; a second one, or a command that does not stop
 * in time, ends the process at once after removing the files registered with
 * {@link Interrupt.removeOnStop}.
 */
export class Interrupt {
  readonly #controller = new AbortController()
  readonly #files = new Set<string>()
  readonly #handlers: Array<[StopSignal, () => void]> = []
  #received: StopSignal | undefined
  /** Resolves when the first signal arrives. */
  readonly stopped: Promise<StopSignal>

  constructor() {
    // The run's one signal goes to all its concurrent work (each block write listens while it runs):
    // Node's warning at 11 listeners would call that a leak on any CAR import. A real leak still shows.
    setMaxListeners(1024, this.#controller.signal)
    let resolve: (signal: StopSignal) => void = () => {}
    this.stopped = new Promise((r) => {
      resolve = r
    })
    for (const name of Object.keys(EXIT_CODES) as StopSignal[]) {
      const handler = (): void => {
        if (this.#received !== undefined) this.exitNow()
        this.#received = name
        this.#controller.abort(new DOMException(`stopped by ${name}`, 'AbortError'))
        resolve(name)
      }
      process.on(name, handler)
      this.#handlers.push([name, handler])
    }
  }

  /** Aborted by the first signal: commands pass it to the work they start. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** The signal received, if any. */
  get received(): StopSignal | undefined {
    return this.#received
  }

  /** The exit code for the signal received (130 for SIGINT, 143 for SIGTERM), else undefined. */
  get exitCode(): number | undefined {
    return this.#received === undefined ? undefined : EXIT_CODES[this.#received]
  }

  /** Registers a file that must not survive an interrupted run; returns the unregistering function. */
  removeOnStop(path: string): () => void {
    this.#files.add(path)
    return () => this.#files.delete(path)
  }

  /** Removes every registered file (synchronously: the process may be about to exit). */
  removeFiles(): void {
    for (const path of this.#files) {
      try {
        rmSync(path, { force: true })
      } catch {
        // Best effort on the way out: the next export removes it as stale.
      }
    }
    this.#files.clear()
  }

  /** Cleans up and ends the process with the signal's exit code (or `code`), without waiting for anything. */
  exitNow(code = this.exitCode ?? 1): never {
    this.removeFiles()
    process.exit(code)
  }

  dispose(): void {
    for (const [name, handler] of this.#handlers) process.off(name, handler)
  }
}

/**
 * Waits for `work`; once a signal arrives, waits at most `graceMs` more (0 for work that ignores
 * the signal), then rejects with the abort reason. The work, if still running, is abandoned.
 */
export async function untilStopped<T>(work: Promise<T>, interrupt: Interrupt, graceMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let settled = false
  const givenUp = interrupt.stopped.then(
    () =>
      new Promise<never>((_, reject) => {
        if (!settled) timer = setTimeout(() => reject(interrupt.signal.reason), graceMs)
      }),
  )
  try {
    return await Promise.race([work, givenUp])
  } finally {
    settled = true
    clearTimeout(timer)
  }
}
