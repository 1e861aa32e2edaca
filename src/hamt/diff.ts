import { equals } from 'multiformats/bytes'
import { formatId, sameId } from '../cas/id.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import type { ChangeKind, DiffOptions, HAMTOptions, MapChange } from './interface.js'
import { type KeyHasher, makeKeyHasher } from './keys.js'
import { NodeLoader } from './loader.js'
import { Bucket, Link, type Node, SLOTS } from './node.js'
import { checkOptions, DEFAULTS } from './options.js'
import { decodeValue } from './values.js'
import { assertKeyPlace, assertLinkDepth, walkEntries } from './walk.js'

/** A differing key with the value pointers of each side: what the tree walk finds. */
export interface PointerChange {
  readonly key: string
  readonly kind: ChangeKind
  readonly before?: StoreId
  readonly after?: StoreId
}

interface DiffContext {
  readonly loader: NodeLoader
  readonly hasher: KeyHasher
  readonly options: AbortOptions | undefined
  /** Pairs of node IDs already compared: a malformed tree linking one node from many slots costs it once. */
  readonly pairs: Set<string>
}

/**
 * Every key whose pointer differs between the trees at `from` and `to`, walking only where they
 * differ: a slot holding the same child ID (or the same bucket) on both sides is skipped unread, so
 * the nodes loaded follow the paths of the changes, not the size of the maps. A slot that is a bucket
 * on one side and a child node on the other (a bucket split, or children merged back on delete) is
 * settled by walking that child's keys against the bucket.
 */
export function diffTrees(
  from: Link,
  to: Link,
  loader: NodeLoader,
  hasher: KeyHasher,
  options?: AbortOptions,
): AsyncGenerator<PointerChange> {
  return diffLinks(from, to, 0, [], { loader, hasher, options, pairs: new Set() })
}

async function* diffLinks(
  a: Link,
  b: Link,
  depth: number,
  path: number[],
  ctx: DiffContext,
): AsyncGenerator<PointerChange> {
  if (a === b || (a.node !== undefined && a.node === b.node)) return
  if (a.id !== undefined && b.id !== undefined) {
    if (sameId(a.id, b.id)) return
    const pair = `${formatId(a.id)} ${formatId(b.id)}`
    if (ctx.pairs.has(pair)) return
    ctx.pairs.add(pair)
  }
  ctx.options?.signal?.throwIfAborted()
  const [nodeA, nodeB] = await Promise.all([
    ctx.loader.follow(a, ctx.options),
    ctx.loader.follow(b, ctx.options),
  ])
  assertNodePlace(nodeA, a, depth, path, ctx.hasher)
  assertNodePlace(nodeB, b, depth, path, ctx.hasher)
  prefetchChildren(nodeA, nodeB, ctx)
  for (let i = 0; i < SLOTS; i++) {
    const slotA = nodeA.slots[i]
    const slotB = nodeB.slots[i]
    if (slotA === slotB) continue
    path[depth] = i
    if (slotA instanceof Link && slotB instanceof Link) {
      assertLinkDepth(slotA, depth, ctx.hasher.length)
      assertLinkDepth(slotB, depth, ctx.hasher.length)
      yield* diffLinks(slotA, slotB, depth + 1, path, ctx)
    } else if (slotA instanceof Link) {
      assertLinkDepth(slotA, depth, ctx.hasher.length)
      yield* diffSubtreeWithBucket(slotA, slotB as Bucket | undefined, 'from', depth + 1, path, ctx)
    } else if (slotB instanceof Link) {
      assertLinkDepth(slotB, depth, ctx.hasher.length)
      yield* diffSubtreeWithBucket(slotB, slotA, 'to', depth + 1, path, ctx)
    } else if (!(slotA instanceof Bucket && slotB instanceof Bucket && sameBucket(slotA, slotB))) {
      // A plain loop: `yield*` of a sync generator inside an async one costs promises even when empty.
      for (const change of diffBuckets(slotA, slotB)) yield change
    }
  }
}

/** Children both sides must compare are loaded at once, not one round trip after another. */
const PREFETCH = 128

/**
 * Starts the loads of the differing child pairs below a pair of nodes (up to {@link PREFETCH} nodes),
 * so that a store far away (Kubo, a gateway) serves them in parallel; the walk then finds them in
 * the loader's cache or in flight. A failed load is left to the walk, which reports it when it gets there.
 */
function prefetchChildren(nodeA: Node, nodeB: Node, ctx: DiffContext): void {
  let started = 0
  for (let i = 0; i < SLOTS && started < PREFETCH; i++) {
    const slotA = nodeA.slots[i]
    const slotB = nodeB.slots[i]
    if (!(slotA instanceof Link && slotB instanceof Link)) continue
    if (slotA.id === undefined || slotB.id === undefined || sameId(slotA.id, slotB.id)) continue
    for (const id of [slotA.id, slotB.id]) {
      ctx.loader.load(id, ctx.options).catch(() => {})
      started++
    }
  }
}

/** A node holding keys belongs at one path only: its first key must hash along it (as in walks). */
function assertNodePlace(node: Node, link: Link, depth: number, path: number[], hasher: KeyHasher): void {
  const index = node.slots.findIndex((slot) => slot instanceof Bucket)
  if (index < 0) return
  const saved = path[depth]
  path[depth] = index
  assertKeyPlace((node.slots[index] as Bucket).keys[0] as string, hasher, path, { link, depth })
  path[depth] = saved as number
}

/**
 * Two pointers from decoded nodes are the same block's: the decoder gives CIDs or bytes, compared by
 * their bytes (what `sameId` does, without its `CID.asCID` per call, which was most of a diff's CPU).
 */
function samePointer(a: StoreId, b: StoreId): boolean {
  const bytesA = a instanceof Uint8Array ? a : a.bytes
  const bytesB = b instanceof Uint8Array ? b : b.bytes
  return a instanceof Uint8Array === b instanceof Uint8Array && equals(bytesA, bytesB)
}

/** True when two buckets hold the same keys in the same order with the same pointers. */
function sameBucket(a: Bucket, b: Bucket): boolean {
  if (a.size !== b.size) return false
  for (let i = 0; i < a.size; i++) {
    if (a.keys[i] !== b.keys[i] || !samePointer(a.pointerAt(i), b.pointerAt(i))) return false
  }
  return true
}

/** Keys of two buckets (either may be absent) that differ. */
function* diffBuckets(a: Bucket | undefined, b: Bucket | undefined): Generator<PointerChange> {
  const inB = indexer(b)
  for (let i = 0; i < (a?.size ?? 0); i++) {
    const key = (a as Bucket).keys[i] as string
    const before = (a as Bucket).pointerAt(i)
    const j = inB(key)
    if (j < 0) yield { key, kind: 'removed', before }
    else {
      const after = (b as Bucket).pointerAt(j)
      if (!samePointer(before, after)) yield { key, kind: 'changed', before, after }
    }
  }
  const inA = indexer(a)
  for (let j = 0; j < (b?.size ?? 0); j++) {
    const key = (b as Bucket).keys[j] as string
    if (inA(key) < 0) yield { key, kind: 'added', after: (b as Bucket).pointerAt(j) }
  }
}

/** A key's index in a bucket (-1 if absent): a scan for the usual handful, a map for a stranger's big one. */
function indexer(bucket: Bucket | undefined): (key: string) => number {
  if (bucket === undefined) return () => -1
  if (bucket.size <= 16) return (key) => bucket.indexOf(key)
  const index = new Map(bucket.keys.map((key, i) => [key, i]))
  return (key) => index.get(key) ?? -1
}

/**
 * A child node on one side (`side`) against a bucket, or nothing, on the other: every key under the
 * child differs unless the bucket holds it with the same pointer. Costs the child's keys, which in a
 * canonical tree are all but at most a bucket's worth changed.
 */
async function* diffSubtreeWithBucket(
  child: Link,
  bucket: Bucket | undefined,
  side: 'from' | 'to',
  depth: number,
  path: number[],
  ctx: DiffContext,
): AsyncGenerator<PointerChange> {
  const inBucket = indexer(bucket)
  const matched = new Set<number>()
  const entries = walkEntries(child, ctx.loader, ctx.hasher, ctx.options, { depth, path })
  for await (const [key, pointer] of entries) {
    const j = inBucket(key)
    if (j < 0) {
      yield side === 'from'
        ? { key, kind: 'removed', before: pointer }
        : { key, kind: 'added', after: pointer }
      continue
    }
    matched.add(j)
    const other = (bucket as Bucket).pointerAt(j)
    if (samePointer(pointer, other)) continue
    const [before, after] = side === 'from' ? [pointer, other] : [other, pointer]
    yield { key, kind: 'changed', before, after }
  }
  for (let j = 0; j < (bucket?.size ?? 0); j++) {
    if (matched.has(j)) continue
    const key = (bucket as Bucket).keys[j] as string
    const pointer = (bucket as Bucket).pointerAt(j)
    yield side === 'from' ? { key, kind: 'added', after: pointer } : { key, kind: 'removed', before: pointer }
  }
}

/** `HAMT.diff` once its roots are checked: the tree walk, with the values loaded unless `keysOnly`. */
export async function* diffMaps<V>(
  from: StoreId,
  to: StoreId,
  options: HAMTOptions & DiffOptions,
): AsyncGenerator<MapChange<V>> {
  const hasher = makeKeyHasher(await checkOptions(options))
  const loader = new NodeLoader(options.store, options.cacheBytes ?? DEFAULTS.cacheBytes)
  const changes = diffTrees(Link.toStored(from), Link.toStored(to), loader, hasher, options)
  const loadValue = async (key: string, pointer: StoreId | undefined): Promise<V | undefined> => {
    if (pointer === undefined) return undefined
    const bytes = await loader.loadValue(pointer, { signal: options.signal })
    return (options.valuesAreBytes ? bytes : decodeValue(key, pointer, bytes)) as V
  }
  for await (const { key, kind, before, after } of changes) {
    if (options.keysOnly) {
      yield { key, kind }
      continue
    }
    const [beforeValue, afterValue] = await Promise.all([loadValue(key, before), loadValue(key, after)])
    const change: { key: string; kind: ChangeKind; before?: V; after?: V } = { key, kind }
    if (before !== undefined) change.before = beforeValue
    if (after !== undefined) change.after = afterValue
    yield change
  }
}
