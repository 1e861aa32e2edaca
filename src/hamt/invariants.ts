import { formatId } from '../cas/id.js'
import type { AbortOptions } from '../cas/interface.js'
import type { NodeLoader } from './loader.js'
import { Bucket, Link, type Node } from './node.js'

/** What {@link checkTree} needs to know about the map. */
export type TreeShape = { maxBucketSize: number; hashKey: (key: string) => Uint8Array }

/**
 * Checks the structural rules of a canonical tree (spec §3) and returns every violation found:
 * each key sits in the slot its hash names at its depth; buckets are non-empty and at most
 * `maxBucketSize`; every linked subtree holds more than `maxBucketSize` keys (so no empty or
 * collapsible node hangs below the root); no key appears twice. Returns the key count too.
 */
export async function checkTree(
  root: Link,
  loader: NodeLoader,
  shape: TreeShape,
  options?: AbortOptions,
): Promise<{ problems: string[]; keyCount: number }> {
  const problems: string[] = []
  const seen = new Set<string>()

  const visit = async (node: Node, depth: number, prefix: number[], name: string): Promise<number> => {
    let count = 0
    for (let index = 0; index < node.slots.length; index++) {
      const slot = node.slots[index]
      const where = `${name} depth ${depth} slot ${index}`
      if (slot instanceof Bucket) {
        if (slot.size === 0) problems.push(`${where}: empty bucket kept as a bucket`)
        if (slot.size > shape.maxBucketSize) {
          problems.push(`${where}: bucket of ${slot.size} keys exceeds maxBucketSize ${shape.maxBucketSize}`)
        }
        for (const key of slot.keys) {
          if (seen.has(key)) problems.push(`${where}: key ${JSON.stringify(key)} appears twice`)
          seen.add(key)
          const hash = shape.hashKey(key)
          const expected = [...prefix, index]
          if (expected.some((byte, d) => hash[d] !== byte)) {
            problems.push(`${where}: key ${JSON.stringify(key)} does not belong here (hash prefix mismatch)`)
          }
        }
        count += slot.size
      } else if (slot instanceof Link) {
        const child = await loader.follow(slot, options)
        const childName = slot.id === undefined ? 'dirty node' : `node ${formatId(slot.id)}`
        const childCount = await visit(child, depth + 1, [...prefix, index], childName)
        if (childCount <= shape.maxBucketSize) {
          problems.push(
            `${where}: linked subtree holds ${childCount} keys, which fit in one bucket (not canonical)`,
          )
        }
        count += childCount
      }
    }
    return count
  }

  const rootNode = await loader.follow(root, options)
  const keyCount = await visit(
    rootNode,
    0,
    [],
    root.id === undefined ? 'root (dirty)' : `root ${formatId(root.id)}`,
  )
  return { problems, keyCount }
}
