import type { ContentAddressedStore } from './interface.js'
import { callsOwnMethod } from './own-method.js'

/**
 * The key a store sets to its own `save` when that save copies the bytes during the call and keeps
 * no reference to them: a writer may then hand it a view into a scratch buffer it reuses at once
 * (a node flush then allocates no array per node). A symbol: no part of the public surface.
 */
export const copyAtSave: unique symbol = Symbol.for('ts-hamt.copyAtSave')

/**
 * Whether `store.save` copies at the call. Checked against the store's actual `save`, so a subclass
 * or wrapper that overrides it (and might hold the bytes across an await) does not inherit the mark.
 */
export function copiesAtSave(store: ContentAddressedStore): boolean {
  return callsOwnMethod(store, 'save', (store as { [copyAtSave]?: unknown })[copyAtSave])
}
