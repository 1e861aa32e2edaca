import type { AbortOptions, StoreId } from '../cas/interface.js'
import type { CacheStats } from './interface.js'
import type { NodeLoader } from './loader.js'
import { Bucket, Link, type Node } from './node.js'

/** Every `[key, pointer]` below `root`, depth first in slot order, loading nodes as it goes. */
export async function* walkEntries(
  root: Link,
  loader: NodeLoader,
  options?: AbortOptions,
): AsyncGenerator<[string, StoreId]> {
  const node = await loader.follow(root, options)
  for (const slot of node.slots) {
    if (slot instanceof Bucket) {
      for (let i = 0; i < slot.keys.length; i++) yield [slot.keys[i] as string, slot.pointers[i] as StoreId]
    } else if (slot instanceof Link) {
      yield* walkEntries(slot, loader, options)
    }
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
