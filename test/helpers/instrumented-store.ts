import type { CID } from 'multiformats/cid'
import { formatId } from '../../src/cas/id.js'
import type { AbortOptions, Codec, ContentAddressedStore, LoadOptions, StoreId } from '../../src/index.js'
import { sleep } from '../../src/util/abort.js'

/** A failure the test arms: fail the Nth next save/load (1 = the next one), or every one. */
export type Fault = { op: 'save' | 'load'; after: number } | { op: 'save' | 'load'; always: true }

/**
 * Wraps a real store, counting loads and saves (as iamap's test store does), loads per ID and the
 * bytes they return, and failing or waiting on demand, so tests can assert I/O, inject store errors
 * at a chosen call and keep loads in flight (`delayMs`, cut short by the load's signal).
 */
export class InstrumentedStore implements ContentAddressedStore {
  loads = 0
  saves = 0
  /** Bytes the loads returned. */
  bytes = 0
  /** Each load waits this long first (under its signal). */
  delayMs = 0
  readonly #loadsById = new Map<string, number>()
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

  /** Loads of one ID (a CID, or a MemoryStore's bytes) since the last reset. */
  loadsOf(id: StoreId | CID | null | undefined): number {
    return id == null ? 0 : (this.#loadsById.get(keyOf(id)) ?? 0)
  }

  /** Loads per ID since the last reset. */
  loadsById(): ReadonlyMap<string, number> {
    return this.#loadsById
  }

  /** Zeroes the counts (loads, saves, bytes, per ID); faults and delay stay. */
  reset(): void {
    this.loads = 0
    this.saves = 0
    this.bytes = 0
    this.#loadsById.clear()
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
    const key = keyOf(id)
    this.#loadsById.set(key, (this.#loadsById.get(key) ?? 0) + 1)
    if (this.delayMs > 0) await sleep(this.delayMs, options?.signal)
    const bytes = await this.#inner.load(id, options)
    this.bytes += bytes.length
    return bytes
  }

  /** A CAR export's block source: a load by CID. */
  getBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    return this.load(cid, options)
  }
}

const keyOf = (id: StoreId | CID): string => formatId(id as StoreId)
