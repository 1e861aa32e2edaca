// An internal capability of the CID stores: puts that an operation which may still fail makes
// (importCar), kept only if it succeeds. Dropped, they leave the write buffer as it was, so no later
// flush writes blocks the caller never got a success for. A symbol key: no part of the public surface.
import type { CID } from 'multiformats/cid'
import type { AbortOptions } from './interface.js'

export const TENTATIVE_PUTS: unique symbol = Symbol('ts-hamt.tentativePuts')

/** One operation's puts. */
export interface TentativePuts {
  /** `putBlock`, held back from later flushes until {@link TentativePuts.keep}. */
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /**
   * `hasBlock`, and a block found buffered is held as if put here: one that another operation put
   * tentatively does not leave when that one fails while this one relies on it. Undefined when the
   * caller's `hasBlock` is not the store's own (the caller asks that one).
   */
  hasBlock: ((cid: CID, options?: AbortOptions) => Promise<boolean>) | undefined
  /** The operation succeeded: its blocks are the store's as any other put's. */
  keep(): void
  /** It failed: its blocks no flush has taken yet leave the buffer (unless someone else put them too). */
  drop(): void
}

/** A store that can put tentatively. */
interface PutsTentatively {
  /** Undefined unless `putBlock` of `via`, the object the caller holds, is the store's own (not a wrapper's). */
  [TENTATIVE_PUTS](via: object): TentativePuts | undefined
}

/** `sink`'s tentative puts when it has them and its `putBlock` is its own; else undefined (the caller uses `putBlock`). */
export function tentativePuts(sink: object): TentativePuts | undefined {
  const open = (sink as Partial<PutsTentatively>)[TENTATIVE_PUTS]
  return typeof open === 'function' ? open.call(sink, sink) : undefined
}
