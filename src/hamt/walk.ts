import { formatId } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { integerOption } from '../check.js'
import { InvalidNodeError } from '../errors.js'
import type { LookupProbe } from '../telemetry/hooks.js'
import { raceAbort } from '../util/abort.js'
import type { CacheStats, HAMTNode, NodesOptions } from './interface.js'
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

/**
 * The nodes from `root` down along `hash` to the one whose slot holds the key's bucket or is empty.
 * Synchronous while the nodes are in memory, so a warm lookup costs no await; a promise once a node
 * has to be loaded.
 */
export function pathTo(
  root: Link,
  hash: Uint8Array,
  loader: NodeLoader,
  options?: AbortOptions,
  probe?: LookupProbe,
): Node[] | Promise<Node[]> {
  return descend([], root, hash, loader, options, probe)
}

function descend(
  nodes: Node[],
  from: Link,
  hash: Uint8Array,
  loader: NodeLoader,
  options: AbortOptions | undefined,
  probe: LookupProbe | undefined,
): Node[] | Promise<Node[]> {
  const stopped = walkInMemory(nodes, from, hash, loader)
  if (probe !== undefined) probe.nodes = nodes.length
  if (stopped === undefined) return nodes
  if (probe !== undefined) probe.misses++
  return loader.follow(stopped, options).then((loaded) => {
    const next = step(nodes, loaded, hash)
    if (probe !== undefined) probe.nodes = nodes.length
    return next === undefined ? nodes : descend(nodes, next, hash, loader, options, probe)
  })
}

/**
 * The bucket (or empty slot) the path as {@link pathTo} finds it ends at, if every node on it is in
 * memory or can be read at once (`NodeLoader.followNow`); else null. No path array: a warm get needs
 * only the last slot.
 */
export function slotInMemory(
  root: Link,
  hash: Uint8Array,
  loader: NodeLoader,
  probe?: LookupProbe,
): Bucket | undefined | null {
  let link = root
  for (let depth = 0; ; depth++) {
    const node = loader.followNow(link)
    if (node === undefined) return null
    // Defined: no node sits deeper than the hash reaches (assertLinkDepth below).
    const slot = node.slots[hash[depth] as number]
    if (!(slot instanceof Link)) {
      if (probe !== undefined) probe.nodes = depth + 1
      return slot
    }
    assertLinkDepth(slot, depth, hash.length)
    link = slot
  }
}

/** Adds nodes to the path while they are in memory; the link to the first one that is not, if any. */
function walkInMemory(nodes: Node[], from: Link, hash: Uint8Array, loader: NodeLoader): Link | undefined {
  for (let link: Link | undefined = from; link !== undefined; ) {
    const node = loader.inMemory(link)
    if (node === undefined) return link
    link = step(nodes, node, hash)
  }
  return undefined
}

/** Adds `node` to the path; the link its slot for `hash` holds, if any, is where the path goes on. */
function step(nodes: Node[], node: Node, hash: Uint8Array): Link | undefined {
  nodes.push(node)
  const depth = nodes.length - 1
  // Defined: no node sits deeper than the hash reaches (assertLinkDepth below).
  const slot = node.slots[hash[depth] as number]
  if (!(slot instanceof Link)) return undefined
  assertLinkDepth(slot, depth, hash.length)
  return slot
}

/** Where a subtree's root sits: its depth and the slots taken from the map's root to it. */
export interface SubtreePlace {
  readonly depth: number
  readonly path: readonly number[]
}

type Frame = { node: Node; link: Link; depth: number; next: number; keys: number }

/**
 * Every `[key, pointer]` below `root`, depth first in slot order, loading nodes as it goes. `at` places
 * a subtree's root in its map (a diff walks subtrees), so keys are checked against the whole path.
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
  at: SubtreePlace = { depth: 0, path: [] },
): AsyncGenerator<[string, StoreId]> {
  const keyless = new IdMap<true>()
  /** path[d]: the slot taken at depth d on the way to the current slot. */
  const path: number[] = at.path.slice(0, at.depth)
  const stack: Frame[] = [
    { node: await loader.follow(root, options), link: root, depth: at.depth, next: 0, keys: 0 },
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
        assertKeyPlace(slot.keyAt(0), hasher, path, frame)
      }
      for (let i = 0; i < slot.size; i++) {
        frame.keys++
        yield [slot.keyAt(i), slot.pointerAt(i)]
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
export function assertKeyPlace(
  key: string,
  hasher: KeyHasher,
  path: readonly number[],
  frame: { readonly link: Link; readonly depth: number },
): void {
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

/**
 * Every node below `root`, level by level, each distinct stored node once however many slots link to
 * it, so the walk is linear in distinct blocks; a link deeper than the hash reaches is
 * {@link InvalidNodeError}. A level's nodes load `concurrency` at a time, a group settling before
 * the next starts (a failure is thrown with no load of the walk left running), through
 * {@link NodeLoader.scan}, which leaves the node cache as it was; only the next level's links are
 * held, never a level of nodes.
 */
export async function* walkNodes(
  root: Link,
  loader: NodeLoader,
  hashLength: number,
  options: NodesOptions = {},
): AsyncGenerator<HAMTNode> {
  const concurrency = integerOption('concurrency', options.concurrency, 16)
  const seen = new IdMap<true>()
  if (root.id !== undefined) seen.set(root.id, true)
  let level: Link[] = [root]
  for (let depth = 0; level.length > 0; depth++) {
    const next: Link[] = []
    for (let start = 0; start < level.length; start += concurrency) {
      options.signal?.throwIfAborted()
      const group = level.slice(start, start + concurrency)
      // A scan reads the store directly (not through the single-flight loads), so the signal is raced
      // here: a store that ignores it must not hold the walk.
      const loads = await Promise.allSettled(
        group.map((link) => raceAbort(loader.scan(link, options), options.signal)),
      )
      for (const [i, load] of loads.entries()) {
        if (load.status === 'rejected') throw load.reason
        const link = group[i] as Link
        const buckets: number[] = []
        let links = 0
        for (const slot of load.value.node.slots) {
          if (slot instanceof Bucket) buckets.push(slot.size)
          else if (slot instanceof Link) {
            links++
            assertLinkDepth(slot, depth, hashLength)
            if (slot.id !== undefined && seen.has(slot.id)) continue
            if (slot.id !== undefined) seen.set(slot.id, true)
            next.push(slot)
          }
        }
        yield { id: link.id, depth, bytes: load.value.bytes, buckets, links }
      }
    }
    level = next
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
