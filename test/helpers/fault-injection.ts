// Failing a store at each of its calls in turn: every way an operation can be cut short.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../../src/index.js'
import { CidMemoryStore } from './cid-store.js'

/**
 * A real in-memory CID store whose Nth call from now (load, save or flush; 1 = the next) fails, or
 * aborts the signal `arm` returned, and which can run a hook at every call (to issue writes mid-flush).
 */
export class FaultStore implements ContentAddressedStore {
  readonly inner: CidMemoryStore
  calls = 0
  failAt = 0
  mode: 'fail' | 'abort' = 'fail'
  controller = new AbortController()
  onCall: (call: number) => void = () => {}

  constructor(inner: CidMemoryStore) {
    this.inner = inner
  }

  /** Counts calls from zero again and fails call `failAt` (0: none); abort mode aborts the signal returned. */
  arm(failAt: number, mode: 'fail' | 'abort' = 'fail'): AbortSignal {
    this.calls = 0
    this.failAt = failAt
    this.mode = mode
    this.controller = new AbortController()
    return this.controller.signal
  }

  async #call(): Promise<void> {
    const call = ++this.calls
    this.onCall(call)
    await sleep(1)
    if (call !== this.failAt) return
    if (this.mode === 'fail') throw new Error(`injected failure at call ${call}`)
    this.controller.abort(new DOMException(`aborted at call ${call}`, 'AbortError'))
    this.controller.signal.throwIfAborted()
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    await this.#call()
    return this.inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    await this.#call()
    return this.inner.load(id, options)
  }

  async flush(options?: AbortOptions): Promise<void> {
    await this.#call()
    options?.signal?.throwIfAborted()
  }
}

export interface EveryStoreCall<T, R> {
  /** Makes the subject over a fresh store (its setup calls are not counted). */
  build(cas: FaultStore): Promise<T>
  /** The operation under test; in abort mode `signal` is aborted at the armed call. */
  run(subject: T, signal: AbortSignal): Promise<R>
  /** All a user can observe of the subject: a cut-short run must leave it as it was. */
  observe(subject: T): Promise<string>
  /** What that assertion says, after `failure at call n: ` (or `abort at call n: `). */
  unchanged: string
  /** Checks a cut-short run's error and retries; runs after the unchanged check. */
  afterFailure(subject: T, error: unknown, call: number): Promise<void>
  mode?: 'fail' | 'abort'
}

/**
 * Runs the operation once for each store call it makes, each time on a fresh subject with that call
 * (1, 2, …) failed, until a run makes no more calls than were failed and succeeds. Returns how many
 * runs were cut short and the result of the one that was not.
 */
export async function atEveryStoreCall<T, R>(
  test: EveryStoreCall<T, R>,
): Promise<{ failures: number; result: R }> {
  const mode = test.mode ?? 'fail'
  for (let n = 1; ; n++) {
    const cas = new FaultStore(await CidMemoryStore.create())
    const subject = await test.build(cas)
    const before = await test.observe(subject)
    const signal = cas.arm(n, mode)
    const outcome = await test.run(subject, signal).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    )
    cas.arm(0)
    if ('result' in outcome) return { failures: n - 1, result: outcome.result }
    const at = `${mode === 'fail' ? 'failure' : 'abort'} at call ${n}`
    assert.equal(await test.observe(subject), before, `${at}: ${test.unchanged}`)
    await test.afterFailure(subject, outcome.error, n)
  }
}
