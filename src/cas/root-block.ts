// An internal option of the openers (HAMT.open, ShardedZarrStore.open): the root block, already
// loaded by a caller that had to read it first (openZarrRoot tells the layout from it), so the
// opener does not fetch it again. A symbol key: not reachable from the package's entry points.
import { sameId } from './id.js'
import type { StoreId } from './interface.js'

export const ROOT_BLOCK: unique symbol = Symbol('ts-hamt.rootBlock')

/** Options carrying the root block loaded for `id`. */
export interface WithRootBlock {
  [ROOT_BLOCK]?: { id: StoreId; bytes: Uint8Array }
}

/** The root block handed over for `id`, if any (one handed over for another ID is ignored). */
export function givenRootBlock(options: object, id: StoreId): Uint8Array | undefined {
  const given = (options as WithRootBlock)[ROOT_BLOCK]
  return given !== undefined && sameId(given.id, id) ? given.bytes : undefined
}
