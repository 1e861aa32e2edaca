import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { HashExhaustedError, InvalidNodeError } from '../errors.js'
import type { KeyHasher } from './keys.js'
import type { NodeLoader } from './loader.js'
import { Bucket, Link, Node, type Slot } from './node.js'
import { assertLinkDepth, describeLink } from './walk.js'

/** A key with its pointer and hash, on its way into a new subtree. */
export type Entry = { key: string; pointer: StoreId; hash: Uint8Array }

/** The slot index at `depth`: byte `depth` of the hash (py-hamt's `extract_bits(hash, depth, 8)`). */
export function slotIndex(hash: Uint8Array, depth: number, key: string): number {
  const index = hash[depth]
  if (index === undefined) {
    throw new HashExhaustedError(
      `key ${JSON.stringify(key)} needs hash byte ${depth} but its hash has only ${hash.length} bytes: ` +
        'too many keys share one hash prefix for this bucket size (nothing was changed)',
    )
  }
  return index
}

/**
 * Builds the canonical subtree for `entries` below `depth`: a slot keeps a bucket while at most
 * `maxBucketSize` keys share its prefix, else links to a deeper node. New nodes only, so a
 * {@link HashExhaustedError} here leaves the existing tree untouched.
 */
export function buildSubtree(entries: Entry[], depth: number, maxBucketSize: number, epoch: number): Node {
  const groups = new Map<number, Entry[]>()
  for (const entry of entries) {
    const index = slotIndex(entry.hash, depth, entry.key)
    const group = groups.get(index)
    if (group === undefined) groups.set(index, [entry])
    else group.push(entry)
  }
  const node = new Node(undefined, epoch)
  for (const [index, group] of groups) {
    node.slots[index] =
      group.length <= maxBucketSize
        ? new Bucket(
            group.map((e) => e.key),
            group.map((e) => e.pointer),
          )
        : Link.toDirty(buildSubtree(group, depth + 1, maxBucketSize, epoch))
  }
  return node
}

/** The subtree that replaces a full bucket when `added` joins it (the bucket's keys are hashed again). */
export function splitBucket(
  bucket: Bucket,
  added: Entry,
  depth: number,
  maxBucketSize: number,
  epoch: number,
  hasher: KeyHasher,
): Node {
  const entries: Entry[] = bucket.keys.map((key, i) => ({
    key,
    pointer: bucket.pointerAt(i),
    hash: hasher.hash(key),
  }))
  entries.push(added)
  return buildSubtree(entries, depth, maxBucketSize, epoch)
}

/** Where a collapse looks: the node's depth, the hash length, and the stored nodes seen so far. */
export type CollectScope = {
  depth: number
  hashLength: number
  /** Key counts of the stored subtrees already collected, so a repeated link costs nothing. */
  seen?: IdMap<number>
}

/**
 * All entries of `node`'s subtree as one bucket, with slot `replacedIndex` read as `replacement`,
 * or `null` as soon as they are more than `limit`. Loads only what it must to decide. A subtree
 * linked twice counts once when it is keyless (old py-hamt left empty nodes) and is an
 * {@link InvalidNodeError} when it holds keys, so hostile trees cost one visit per block.
 */
export async function collectEntries(
  node: Node,
  limit: number,
  loader: NodeLoader,
  options: AbortOptions | undefined,
  scope: CollectScope,
  replacedIndex = -1,
  replacement: Slot = undefined,
): Promise<Bucket | null> {
  const keys: string[] = []
  const pointers: StoreId[] = []
  const links: Link[] = []
  for (let index = 0; index < node.slots.length; index++) {
    const slot = index === replacedIndex ? replacement : node.slots[index]
    if (slot instanceof Bucket) {
      if (keys.length + slot.size > limit) return null
      keys.push(...slot.keys)
      pointers.push(...slot.pointers)
    } else if (slot instanceof Link) {
      links.push(slot)
    }
  }
  // Buckets first: in a canonical tree a node with a link has more than `limit` entries, and
  // counting its buckets often proves that without loading the child.
  const seen = scope.seen ?? new IdMap<number>()
  for (const link of links) {
    if (link.id !== undefined) {
      const count = seen.get(link.id)
      if (count === 0) continue
      if (count !== undefined)
        throw new InvalidNodeError(
          `${describeLink(link)} is linked from two slots; its keys can belong to one only`,
        )
    }
    assertLinkDepth(link, scope.depth, scope.hashLength)
    const child = await loader.follow(link, options)
    const childScope = { depth: scope.depth + 1, hashLength: scope.hashLength, seen }
    const childEntries = await collectEntries(child, limit - keys.length, loader, options, childScope)
    if (childEntries === null) return null
    if (link.id !== undefined) seen.set(link.id, childEntries.size)
    keys.push(...childEntries.keys)
    pointers.push(...childEntries.pointers)
  }
  return new Bucket(keys, pointers)
}

/**
 * Where a delete lands: slot `hash[depth]` of the deepest node on the path gets `replacement`, then
 * every node on the path whose whole subtree now fits in one bucket collapses into it, bottom-up, so
 * the tree stays the canonical one for its key set. Loads only; changes nothing.
 */
export async function collapsePath(
  nodes: Node[],
  hash: Uint8Array,
  key: string,
  replacement: Slot,
  context: { maxBucketSize: number; loader: NodeLoader; options: AbortOptions | undefined },
): Promise<{ depth: number; replacement: Slot }> {
  let depth = nodes.length - 1
  while (depth > 0) {
    const merged = await collectEntries(
      nodes[depth] as Node,
      context.maxBucketSize,
      context.loader,
      context.options,
      { depth, hashLength: hash.length },
      slotIndex(hash, depth, key),
      replacement,
    )
    if (merged === null) break
    replacement = merged.size === 0 ? undefined : merged
    depth--
  }
  return { depth, replacement }
}
