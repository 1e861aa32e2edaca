import { formatId } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { InvalidNodeError } from '../errors.js'
import type { CacheStats } from './interface.js'
import type { KeyHasher } from './keys.js'
import type { NodeLoader } from './loader.js'
import { Bucket, Link, type Node } from './node.js'

/**
 * Refuses a link out of a node at `depth` when the node it leads to would sit deeper than a hash of
 * `hashLength` bytes can address: no key can be there, so the tree is malformed (not merely full).
 */
export function assertLinkDepth(link: Link, depth: number, hashLength: number): void {
  if (depth + 1 < hashLength) return
  throw new InvalidNodeError(
    `a node at depth ${depth} links to ${describeLink(link)} at depth ${depth + 1}, ` +
      `but a ${hashLength}-byte hash addresses depths 0 to ${hashLength - 1} only`,
  )
}

export function describeLink(link: Link): string {
  return link.id === undefined ? 'a dirty node' : `node ${formatId(link.id)}`
}

type Frame = { node: Node; link: Link; depth: number; next: number; keys: number }

/**
 * Every `[key, pointer]` below `root`, depth first in slot order, loading nodes as it goes.
 *
 * Linear in distinct blocks whatever the tree. A node's first key must hash to the slots that led
 * to it (else {@link InvalidNodeError}): a key's hash selects one path, so a node holding keys can
 * be reached once only. Hashing one key per node, not every key, keeps walks fast; `verify()` checks
 * them all. A keyless subtree (old py-hamt versions left empty nodes, linked from many slots) is
 * skipped when its ID comes again, and no node may sit deeper than the hash reaches.
 */
export async function* walkEntries(
  root: Link,
  loader: NodeLoader,
  hasher: KeyHasher,
  options?: AbortOptions,
): AsyncGenerator<[string, StoreId]> {
  const keyless = new IdMap<true>()
  /** path[d]: the slot taken at depth d on the way to the current slot. */
  const path: number[] = []
  const stack: Frame[] = [
    { node: await loader.follow(root, options), link: root, depth: 0, next: 0, keys: 0 },
  ]
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame
    const index = frame.next++
    if (index >= frame.node.slots.length) {
      stack.pop()
      if (frame.keys === 0 && frame.link.id !== undefined) keyless.set(frame.link.id, true)
      const parent = stack[stack.length - 1]
      if (parent !== undefined) parent.keys += frame.keys
      continue
    }
    const slot = frame.node.slots[index]
    if (slot instanceof Bucket) {
      if (frame.keys === 0 && slot.size > 0) {
        path[frame.depth] = index
        assertKeyPlace(slot.keys[0] as string, hasher, path, frame)
      }
      for (let i = 0; i < slot.keys.length; i++) {
        frame.keys++
        yield [slot.keys[i] as string, slot.pointers[i] as StoreId]
      }
    } else if (slot instanceof Link) {
      if (slot.id !== undefined && keyless.has(slot.id)) continue
      assertLinkDepth(slot, frame.depth, hasher.length)
      const node = await loader.follow(slot, options)
      path[frame.depth] = index
      stack.push({ node, link: slot, depth: frame.depth + 1, next: 0, keys: 0 })
    }
  }
}

/** The key's hash must begin with the slots that lead to it, `path[0..depth]`. */
function assertKeyPlace(key: string, hasher: KeyHasher, path: number[], frame: Frame): void {
  const hash = hasher.hash(key)
  for (let d = frame.depth; d >= 0; d--) {
    if (hash[d] === path[d]) continue
    throw new InvalidNodeError(
      `${describeLink(frame.link)} at depth ${frame.depth}, slot ${path[frame.depth]}: key ${JSON.stringify(key)} ` +
        `does not belong there (byte ${d} of its hash is ${hash[d]}, the path took slot ${path[d]}; ` +
        'a malformed tree, or one written with another hashFn)',
    )
  }
}

/** Count and estimated encoded size of the dirty nodes reachable from `root`. */
export function dirtyStats(root: Link): Pick<CacheStats, 'dirtyNodes' | 'dirtyBytes'> {
  let dirtyNodes = 0
  let dirtyBytes = 0
  const visit = (node: Node): void => {
    dirtyNodes++
    dirtyBytes += 3
    for (const slot of node.slots) {
      if (slot === undefined) dirtyBytes += 1
      else if (slot instanceof Link) {
        dirtyBytes += 1 + 40
        if (slot.node !== undefined) visit(slot.node)
      } else {
        dirtyBytes += 1
        for (const key of slot.keys) dirtyBytes += key.length + 2 + 40
      }
    }
  }
  if (root.node !== undefined) visit(root.node)
  return { dirtyNodes, dirtyBytes }
}
