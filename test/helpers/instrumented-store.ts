import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../../src/index.js'

/** A failure the test arms: fail the Nth next save/load (1 = the next one), or every one. */
export type Fault = { op: 'save' | 'load'; after: number } | { op: 'save' | 'load'; always: true }

/**
 * Wraps a real store, counting loads and saves (as iamap's test store does) and failing on demand, so
 * tests can assert I/O and inject store errors at a chosen call.
 */
export class InstrumentedStore implements ContentAddressedStore {
  loads = 0
  saves = 0
  readonly #inner: ContentAddressedStore
  #faults: Array<Fault & { seen: number }> = []

  constructor(inner: ContentAddressedStore) {
    this.#inner = inner
  }

  failOn(fault: Fault): void {
    this.#faults.push({ ...fault, seen: 0 })
  }

  heal(): void {
    this.#faults = []
  }

  #check(op: 'save' | 'load'): void {
    for (const fault of this.#faults) {
      if (fault.op !== op) continue
      fault.seen++
      if ('always' in fault || fault.seen === fault.after) throw new Error(`injected ${op} failure`)
    }
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<StoreId> {
    this.#check('save')
    this.saves++
    return this.#inner.save(data, codec, options)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    this.#check('load')
    this.loads++
    return this.#inner.load(id, options)
  }
}
