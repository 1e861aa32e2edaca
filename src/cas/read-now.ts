// Internal capabilities of a store that holds its blocks in this process's memory (MemoryStore):
// a block handed over, or saved, without a promise, so a HAMT lookup whose nodes and value are all
// there runs without an await (a promise and its ticks were most of a warm get), and a set or bulk
// build saves a value without one. Symbol keys: not reachable from the package's entry points, and a
// wrapper around such a store does not inherit them.
import type { StoreId } from './interface.js'

export const READ_NOW: unique symbol = Symbol('ts-hamt.readNow')

/** A store that may hand a block over at once. */
export interface ReadsNow {
  /**
   * A fresh copy of the block `id` names, in a buffer of its own; undefined when the store cannot
   * answer at once (the block is missing, or the `load` of `via`, the store object the caller holds,
   * is not its own: a subclass, or a Proxy whose traps bind methods to the store behind it): the caller
   * then calls `load`. With `borrow`, a view of the store's own bytes instead of a copy, for a caller
   * that reads them at once, never writes them and keeps nothing that shares their memory. With
   * `start` and `length`, the ID is the bytes `id[start..start + length)` (a pointer read where it
   * sits in its node block, so a get makes no view of it).
   */
  [READ_NOW](
    id: StoreId,
    via: object,
    borrow?: boolean,
    start?: number,
    length?: number,
  ): Uint8Array | undefined
}

/** The store, if it can hand blocks over at once. */
export function readsNow(store: object): ReadsNow | undefined {
  return typeof (store as Partial<ReadsNow>)[READ_NOW] === 'function' ? (store as ReadsNow) : undefined
}

export const SAVE_NOW: unique symbol = Symbol('ts-hamt.saveNow')
export const SAVE_INTO: unique symbol = Symbol('ts-hamt.saveInto')

/** A store that may save a block at once. */
export interface SavesNow {
  /**
   * Saves `data` as `save` would (copied before the call returns) and returns its ID; undefined when
   * the store cannot save at once (`via`'s `save`, the store object the caller holds, is not its
   * own, see {@link ReadsNow}; or `data` is not bytes): the caller then calls `save`.
   */
  [SAVE_NOW](data: Uint8Array, via: object): StoreId | undefined
  /**
   * {@link SavesNow[SAVE_NOW]}, but the ID (bytes) is written into `into` from `at` instead of
   * returned as an array of its own; its length, or 0 when nothing was saved (as SAVE_NOW's
   * undefined, or `into` has no room for it from `at`).
   */
  [SAVE_INTO](data: Uint8Array, via: object, into: Uint8Array, at: number): number
}

/** The store, if it can save blocks at once. */
export function savesNow(store: object): SavesNow | undefined {
  return typeof (store as Partial<SavesNow>)[SAVE_NOW] === 'function' ? (store as SavesNow) : undefined
}
