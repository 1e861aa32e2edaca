import type { AbortOptions, StoreId } from '../cas/interface.js'
import { HashExhaustedError } from '../errors.js'
import type { NodeLoader } from './loader.js'
import { Bucket, Link, Node, type Slot } from './node.js'

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

/**
 * All entries of `node`'s subtree as one bucket, with slot `replacedIndex` read as `replacement`,
 * or `null` as soon as they are more than `limit`. Loads only what it must to decide.
 */
export async function collectEntries(
  node: Node,
  limit: number,
  loader: NodeLoader,
  options: AbortOptions | undefined,
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
  for (const link of links) {
    const child = await loader.follow(link, options)
    const childEntries = await collectEntries(child, limit - keys.length, loader, options)
    if (childEntries === null) return null
    keys.push(...childEntries.keys)
    pointers.push(...childEntries.pointers)
  }
  return new Bucket(keys, pointers)
}
