import { sameId } from '../cas/id.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { describeValue, InvalidArgumentError, type MergeConflict, MergeConflictError } from '../errors.js'
import { diffTrees, type PointerChange, samePointer } from './diff.js'
import type { HAMTOptions, HashFn } from './interface.js'
import { makeKeyHasher } from './keys.js'
import { NodeLoader } from './loader.js'
import { Link } from './node.js'
import { checkOptions, DEFAULTS } from './options.js'
import { decodeValue, encodeValue } from './values.js'

/** What a merge resolver returns to delete a conflicting key from the merged map. */
export const MERGE_DELETE: unique symbol = Symbol.for('ts-hamt.merge.delete')

/** A conflicting key's values in the base and on each side; a side without the key has no property. */
export interface MergeSides<V> {
  readonly base?: V
  readonly a?: V
  readonly b?: V
}

/**
 * Settles a key both sides changed differently: returns the merged value, or {@link MERGE_DELETE}
 * to leave the key out. Values are decoded as `get` gives them (bytes when `valuesAreBytes`).
 */
export type MergeResolver<V> = (
  key: string,
  sides: MergeSides<V>,
) => V | typeof MERGE_DELETE | Promise<V | typeof MERGE_DELETE>

export interface MergeOptions<V = unknown> extends AbortOptions {
  /** Settles conflicting keys; without it a conflict is a `MergeConflictError` and nothing is written. */
  resolve?: MergeResolver<V>
}

/** One key to write onto the side the merge starts from: its new pointer, or undefined to delete it. */
type Edit = { key: string; pointer: StoreId | undefined }

/** A key both sides changed to different pointers, with each side's change from the base. */
type Conflict = { key: string; a: PointerChange; b: PointerChange }

/**
 * `HAMT.merge` once its roots are checked. Both sides are diffed against the base (shared subtrees
 * skipped by ID, so the cost follows the changes); the smaller side's changes and the resolved
 * conflicts are then written onto the other side and flushed. The tree is canonical, so the root is
 * the one a single writer making both change sets gives, whichever side is written onto.
 */
export async function mergeMaps<V>(
  base: StoreId,
  a: StoreId,
  b: StoreId,
  options: HAMTOptions & MergeOptions<V>,
  openWritable: OpenWritable,
): Promise<StoreId> {
  const hashFn = await checkOptions(options)
  const { resolve, signal } = options
  if (resolve !== undefined && typeof resolve !== 'function') {
    throw new InvalidArgumentError(`options.resolve must be a function, got ${describeValue(resolve)}`)
  }
  signal?.throwIfAborted()
  if (sameId(a, b) || sameId(b, base)) return a
  if (sameId(a, base)) return b
  const hasher = makeKeyHasher(hashFn)
  // One loader for both walks: the base's nodes are read once.
  const loader = new NodeLoader(options.store, options.cacheBytes ?? DEFAULTS.cacheBytes)
  const collect = async (side: StoreId): Promise<Map<string, PointerChange>> => {
    const changes = new Map<string, PointerChange>()
    for await (const change of diffTrees(Link.toStored(base), Link.toStored(side), loader, hasher, options))
      changes.set(change.key, change)
    return changes
  }
  const [changesA, changesB] = await Promise.all([collect(a), collect(b)])
  const { onlyA, onlyB, conflicts } = partition(changesA, changesB)
  if (conflicts.length > 0 && resolve === undefined) throw conflictError(conflicts)
  // Writing onto the side with more changes writes fewer keys; the root is the same either way.
  const ontoA = onlyB.length <= onlyA.length
  const edits = (ontoA ? onlyB : onlyA).map(({ key, after }) => ({ key, pointer: after }))
  if (resolve !== undefined) {
    for (const conflict of conflicts) {
      const edit = await resolveConflict(conflict, resolve, loader, options)
      const current = ontoA ? conflict.a.after : conflict.b.after
      if (!sameOptional(edit.pointer, current)) edits.push(edit)
    }
  }
  return writeEdits(openWritable(ontoA ? a : b, loader, hashFn), edits, options)
}

/** Sorts the keys of two change sets: changed on one side only, or on both to different pointers. */
function partition(
  changesA: Map<string, PointerChange>,
  changesB: Map<string, PointerChange>,
): { onlyA: PointerChange[]; onlyB: PointerChange[]; conflicts: Conflict[] } {
  const onlyA: PointerChange[] = []
  const onlyB: PointerChange[] = []
  const conflicts: Conflict[] = []
  for (const [key, changeB] of changesB) {
    const changeA = changesA.get(key)
    if (changeA === undefined) onlyB.push(changeB)
    // The same change on both sides (same value, or both deleted) is no conflict.
    else if (!sameOptional(changeA.after, changeB.after)) conflicts.push({ key, a: changeA, b: changeB })
  }
  for (const [key, changeA] of changesA) if (!changesB.has(key)) onlyA.push(changeA)
  return { onlyA, onlyB, conflicts }
}

function sameOptional(x: StoreId | undefined, y: StoreId | undefined): boolean {
  return x === undefined || y === undefined ? x === y : samePointer(x, y)
}

function conflictError(conflicts: Conflict[]): MergeConflictError {
  const listed: MergeConflict[] = conflicts
    .map(({ key, a, b }) => ({ key, a: a.kind, b: b.kind }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .slice(0, MergeConflictError.LISTED)
  return new MergeConflictError(listed, conflicts.length)
}

/** Loads a conflict's three values, asks the resolver, and saves what it returns as a value block. */
async function resolveConflict<V>(
  { key, a, b }: Conflict,
  resolve: MergeResolver<V>,
  loader: NodeLoader,
  options: HAMTOptions & AbortOptions,
): Promise<Edit> {
  const valuesAreBytes = options.valuesAreBytes ?? false
  const load = async (pointer: StoreId | undefined): Promise<V | undefined> => {
    if (pointer === undefined) return undefined
    const bytes = await loader.loadValue(pointer, options)
    return (valuesAreBytes ? bytes : decodeValue(key, pointer, bytes)) as V
  }
  const [baseValue, aValue, bValue] = await Promise.all([load(a.before), load(a.after), load(b.after)])
  const sides: { base?: V; a?: V; b?: V } = {}
  if (a.before !== undefined) sides.base = baseValue
  if (a.after !== undefined) sides.a = aValue
  if (b.after !== undefined) sides.b = bValue
  const merged = await resolve(key, sides)
  options.signal?.throwIfAborted()
  if (merged === MERGE_DELETE) return { key, pointer: undefined }
  const pointer = await loader.save(encodeValue(key, merged, valuesAreBytes), 'raw', options)
  return { key, pointer }
}

/** The part of a writable map the merge writes through (made by `HAMT.merge`, so no import cycle). */
export interface WritableMap {
  readonly rootId: StoreId
  setPointer(key: string, pointer: StoreId, options?: AbortOptions): Promise<void>
  delete(key: string, options?: AbortOptions): Promise<void>
  flush(options?: AbortOptions): Promise<StoreId>
}

/**
 * Opens a root for writing on the merge's loader, whose cache holds the nodes both diffs read: the
 * paths the edits change, so the writes mostly find them in memory. Given by `HAMT.merge`.
 */
export type OpenWritable = (root: StoreId, loader: NodeLoader, hashFn: HashFn) => WritableMap

/** Applies the edits to the map in one batch and flushes: the merged root. */
async function writeEdits(map: WritableMap, edits: Edit[], options: AbortOptions): Promise<StoreId> {
  if (edits.length === 0) return map.rootId
  // Deletes first: every state on the way holds a subset of the merged keys, so a set never runs
  // out of hash bits where the merged map itself would not.
  const deletes = edits.filter((edit) => edit.pointer === undefined)
  const sets = edits.filter((edit) => edit.pointer !== undefined)
  const writes = [
    ...deletes.map(({ key }) => map.delete(key, options)),
    ...sets.map(({ key, pointer }) => map.setPointer(key, pointer as StoreId, options)),
  ]
  await Promise.all(writes)
  return map.flush(options)
}
