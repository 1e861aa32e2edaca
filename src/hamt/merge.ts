import { sameId } from '../cas/id.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { describeValue, InvalidArgumentError, type MergeConflict, MergeConflictError } from '../errors.js'
import { diffTrees } from './diff.js'
import type { HAMTOptions, HashFn } from './interface.js'
import { makeKeyHasher } from './keys.js'
import { NodeLoader } from './loader.js'
import { Link } from './node.js'
import { checkOptions, DEFAULTS } from './options.js'
import { decodeValue, encodeValue } from './values.js'

/**
 * What a merge resolver returns to delete a conflicting key from the merged map.
 *
 * @example
 * ```ts
 * // hamtRoot: the base; root and rootCid: two versions made from it
 * const merged = await HAMT.merge<number>(hamtRoot, root, rootCid, {
 *   store,
 *   // A delete on either side wins; else the larger count.
 *   resolve: (_key, { a, b }) => (a === undefined || b === undefined ? MERGE_DELETE : Math.max(a, b)),
 * })
 * ```
 */
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
export type MergeEdit = { key: string; pointer: StoreId | undefined }

/** A key's change from the base on one side, with the block IDs before and after (as diffs give them). */
export interface KeyChange {
  readonly key: string
  readonly kind: 'added' | 'removed' | 'changed'
  readonly before?: StoreId | undefined
  readonly after?: StoreId | undefined
}

/** A key both sides changed to different pointers, with each side's change from the base. */
type Conflict = { key: string; a: KeyChange; b: KeyChange }

/** How a merge reads a conflicting key's values for the resolver, and saves what it returns. */
export interface MergeValues<V> {
  load(key: string, pointer: StoreId): Promise<V>
  save(key: string, value: V): Promise<StoreId>
}

/** A merge's plan, as a {@link MergeCheck} sees it before anything is written. */
export interface MergePlan<V> {
  readonly changesA: ReadonlyMap<string, KeyChange>
  readonly changesB: ReadonlyMap<string, KeyChange>
  /**
   * The merged pointer of a key either side changed (undefined: deleted), or the value a resolver
   * gave it, not yet saved (a refused plan saves nothing). Exact for the keys the check `reads`.
   */
  merged(key: string): { pointer: StoreId | undefined } | { value: V }
  readonly values: MergeValues<V>
}

/**
 * Looks at a plan before its writes and throws to refuse it: how a layer above the map (the Zarr
 * merge, checking chunks against their array's metadata) adds its own rule to the merge. Conflicts
 * on the keys it `reads` are resolved before it runs and saved after; the rest after it.
 */
export interface MergeCheck<V> {
  reads(key: string): boolean
  check(plan: MergePlan<V>): Promise<void>
  /**
   * Values that may mean the same in other bytes (JSON documents): for a key both sides wrote
   * differently that `keys` accepts, `pick` names the side whose value stands for both, or
   * undefined (a real conflict). It must pick by value, not side, so a merge's order does not matter.
   */
  readonly equivalent?: { keys(key: string): boolean; pick(a: V, b: V): 'a' | 'b' | undefined }
}

/** The internal option carrying a {@link MergeCheck}: a symbol key, reachable from no entry point. */
export const MERGE_CHECK: unique symbol = Symbol('ts-hamt.mergeCheck')

/** The check in `options[MERGE_CHECK]`, if any. */
export function mergeCheckOf<V>(options: object): MergeCheck<V> | undefined {
  return (options as { [MERGE_CHECK]?: MergeCheck<V> })[MERGE_CHECK]
}

/**
 * What a three-way merge writes, given each side's changes from the base (any layout): the side
 * to write onto (the one with more changes) and the edits, the other side's changes and the
 * resolved conflicts. Without a resolver a conflict is a {@link MergeConflictError}, before any
 * write; `check` sees the plan last and may refuse it. `settled` counts changes each side made that
 * the caller merges itself (whole sharded shards), for choosing the side to write onto.
 */
export async function planMerge<V>(
  changesA: ReadonlyMap<string, KeyChange>,
  changesB: ReadonlyMap<string, KeyChange>,
  resolve: MergeResolver<V> | undefined,
  values: MergeValues<V>,
  signal?: AbortSignal,
  check?: MergeCheck<V>,
  settled: { a: number; b: number } = { a: 0, b: 0 },
): Promise<{ ontoA: boolean; edits: MergeEdit[] }> {
  const { onlyA, onlyB, conflicts: differing } = partition(changesA, changesB)
  const conflicts: Conflict[] = []
  for (const conflict of differing) {
    // A side picked as meaning both is that side's change alone: written onto the other side if needed.
    const picked = await pickEquivalent(conflict, check, values)
    if (picked === 'a') onlyA.push(conflict.a)
    else if (picked === 'b') onlyB.push(conflict.b)
    else conflicts.push(conflict)
  }
  signal?.throwIfAborted()
  if (conflicts.length > 0 && resolve === undefined) throw conflictError(conflicts)
  // Writing onto the side with more changes writes fewer keys; the result is the same either way.
  const ontoA = onlyB.length + settled.b <= onlyA.length + settled.a
  const edits = (ontoA ? onlyB : onlyA).map(({ key, after }) => ({ key, pointer: after }))
  // The conflicts the check reads are settled first and held (metadata, few); the rest after it.
  const held = new Map<string, V | typeof MERGE_DELETE>()
  const settle = (conflict: Conflict) =>
    resolveConflict(conflict, resolve as MergeResolver<V>, values, signal)
  for (const conflict of resolve !== undefined && check !== undefined ? conflicts : []) {
    if (check?.reads(conflict.key)) held.set(conflict.key, await settle(conflict))
  }
  if (check !== undefined) {
    const edited = new Map(edits.map(({ key, pointer }) => [key, pointer]))
    const onto = ontoA ? changesA : changesB
    const merged = (key: string): { pointer: StoreId | undefined } | { value: V } => {
      if (held.has(key)) {
        const value = held.get(key) as V | typeof MERGE_DELETE
        return value === MERGE_DELETE ? { pointer: undefined } : { value }
      }
      return { pointer: edited.has(key) ? edited.get(key) : onto.get(key)?.after }
    }
    await check.check({ changesA, changesB, merged, values })
    signal?.throwIfAborted()
  }
  for (const conflict of resolve === undefined ? [] : conflicts) {
    const value = held.has(conflict.key)
      ? (held.get(conflict.key) as V | typeof MERGE_DELETE)
      : await settle(conflict)
    const pointer = value === MERGE_DELETE ? undefined : await values.save(conflict.key, value)
    const current = ontoA ? conflict.a.after : conflict.b.after
    if (!sameOptional(pointer, current)) edits.push({ key: conflict.key, pointer })
  }
  return { ontoA, edits }
}

/** Checks `options.resolve` at the boundary. */
export function checkResolver(resolve: unknown): void {
  if (resolve !== undefined && typeof resolve !== 'function') {
    throw new InvalidArgumentError(`options.resolve must be a function, got ${describeValue(resolve)}`)
  }
}

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
  checkResolver(resolve)
  signal?.throwIfAborted()
  if (sameId(a, b) || sameId(b, base)) return a
  if (sameId(a, base)) return b
  const hasher = makeKeyHasher(hashFn)
  // One loader for both walks: the base's nodes are read once.
  const loader = new NodeLoader(options.store, options.cacheBytes ?? DEFAULTS.cacheBytes)
  const collect = async (side: StoreId): Promise<Map<string, KeyChange>> => {
    const changes = new Map<string, KeyChange>()
    for await (const change of diffTrees(Link.toStored(base), Link.toStored(side), loader, hasher, options))
      changes.set(change.key, change)
    return changes
  }
  const [changesA, changesB] = await Promise.all([collect(a), collect(b)])
  const valuesAreBytes = options.valuesAreBytes ?? false
  const values: MergeValues<V> = {
    load: async (key, pointer) => {
      const bytes = await loader.loadValue(pointer, options)
      return (valuesAreBytes ? bytes : decodeValue(key, pointer, bytes)) as V
    },
    save: (key, value) => loader.save(encodeValue(key, value, valuesAreBytes), 'raw', options),
  }
  const { ontoA, edits } = await planMerge(changesA, changesB, resolve, values, signal, mergeCheckOf(options))
  return writeEdits(openWritable(ontoA ? a : b, loader, hashFn), edits, options)
}

/** Sorts the keys of two change sets: changed on one side only, or on both to different pointers. */
function partition(
  changesA: ReadonlyMap<string, KeyChange>,
  changesB: ReadonlyMap<string, KeyChange>,
): { onlyA: KeyChange[]; onlyB: KeyChange[]; conflicts: Conflict[] } {
  const onlyA: KeyChange[] = []
  const onlyB: KeyChange[] = []
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
  return x === undefined || y === undefined ? x === y : sameId(x, y)
}

function conflictError(conflicts: Conflict[]): MergeConflictError {
  const listed: MergeConflict[] = conflicts
    .map(({ key, a, b }) => ({ key, a: a.kind, b: b.kind }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .slice(0, MergeConflictError.LISTED)
  return new MergeConflictError(listed, conflicts.length)
}

/** The side of a conflict the check's `equivalent` picks as meaning both values, if any. */
async function pickEquivalent<V>(
  { key, a, b }: Conflict,
  check: MergeCheck<V> | undefined,
  values: MergeValues<V>,
): Promise<'a' | 'b' | undefined> {
  const equivalent = check?.equivalent
  if (equivalent === undefined || !equivalent.keys(key) || a.after === undefined || b.after === undefined)
    return undefined
  const [valueA, valueB] = await Promise.all([values.load(key, a.after), values.load(key, b.after)])
  return equivalent.pick(valueA, valueB)
}

/** Loads a conflict's three values and asks the resolver: its value (saved once the plan stands). */
async function resolveConflict<V>(
  { key, a, b }: Conflict,
  resolve: MergeResolver<V>,
  values: MergeValues<V>,
  signal: AbortSignal | undefined,
): Promise<V | typeof MERGE_DELETE> {
  const load = (pointer: StoreId | undefined): Promise<V> | undefined =>
    pointer === undefined ? undefined : values.load(key, pointer)
  const [baseValue, aValue, bValue] = await Promise.all([load(a.before), load(a.after), load(b.after)])
  const sides: { base?: V; a?: V; b?: V } = {}
  if (a.before !== undefined) sides.base = baseValue as V
  if (a.after !== undefined) sides.a = aValue as V
  if (b.after !== undefined) sides.b = bValue as V
  const merged = await resolve(key, sides)
  signal?.throwIfAborted()
  return merged
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
async function writeEdits(map: WritableMap, edits: MergeEdit[], options: AbortOptions): Promise<StoreId> {
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
