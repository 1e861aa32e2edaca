// An internal capability of a store that holds its blocks in this process's memory (MemoryStore):
// a block handed over without a promise, so a HAMT lookup whose nodes and value are all there runs
// without an await (a promise and its ticks were most of a warm get). A symbol key: not reachable
// from the package's entry points, and a wrapper around such a store does not inherit it.
import type { StoreId } from './interface.js'

export const READ_NOW: unique symbol = Symbol('ts-hamt.readNow')

/** A store that may hand a block over at once. */
export interface ReadsNow {
  /**
   * A fresh copy of the block `id` names, in a buffer of its own; undefined when the store cannot
   * answer at once (the block is missing, or the `load` of `via`, the store object the caller holds,
   * is not its own: a subclass, or a Proxy whose traps bind methods to the store behind it): the caller
   * then calls `load`. With `borrow`, a view of the store's own bytes instead of a copy, for a caller
   * that reads them at once, never writes them and keeps nothing that shares their memory.
   */
  [READ_NOW](id: StoreId, via: object, borrow?: boolean): Uint8Array | undefined
}

/** The store, if it can hand blocks over at once. */
export function readsNow(store: object): ReadsNow | undefined {
  return typeof (store as Partial<ReadsNow>)[READ_NOW] === 'function' ? (store as ReadsNow) : undefined
}
