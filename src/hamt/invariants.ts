import { formatId } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions } from '../cas/interface.js'
import type { KeyHasher } from './keys.js'
import type { NodeLoader } from './loader.js'
import { Bucket, Link, type Node } from './node.js'
import { describeLink } from './walk.js'

/** What {@link checkTree} needs to know about the map. */
export type TreeShape = { maxBucketSize: number; hasher: KeyHasher }

/**
 * Checks the structural rules of a canonical tree (spec §3) and returns every violation found:
 * each key sits in the slot its hash names at its depth; buckets are non-empty and at most
 * `maxBucketSize`; every linked subtree holds more than `maxBucketSize` keys (so no empty or
 * collapsible node hangs below the root); no key appears twice; no node is linked twice (its keys
 * could belong to one slot only) or sits deeper than the hash reaches. Each node is visited once,
 * so the check is linear in distinct blocks. Returns the key count too.
 */
export async function checkTree(
  root: Link,
  loader: NodeLoader,
  shape: TreeShape,
  options?: AbortOptions,
): Promise<{ problems: string[]; keyCount: number }> {
  const problems: string[] = []
  const seen = new Set<string>()
  /** Where each stored node was first linked from. */
  const linkedAt = new IdMap<string>()

  const checkBucket = (bucket: Bucket, where: string, path: number[]): void => {
    if (bucket.size === 0) problems.push(`${where}: empty bucket kept as a bucket`)
    if (bucket.size > shape.maxBucketSize) {
      problems.push(`${where}: bucket of ${bucket.size} keys exceeds maxBucketSize ${shape.maxBucketSize}`)
    }
    for (const key of bucket.keys) {
      if (seen.has(key)) problems.push(`${where}: key ${JSON.stringify(key)} appears twice`)
      seen.add(key)
      const hash = shape.hasher.hash(key)
      if (path.some((byte, d) => hash[d] !== byte)) {
        problems.push(`${where}: key ${JSON.stringify(key)} does not belong here (hash prefix mismatch)`)
      }
    }
  }

  const visit = async (node: Node, depth: number, prefix: number[], name: string): Promise<number> => {
    let count = 0
    for (let index = 0; index < node.slots.length; index++) {
      const slot = node.slots[index]
      const where = `${name} depth ${depth} slot ${index}`
      if (slot instanceof Bucket) {
        checkBucket(slot, where, [...prefix, index])
        count += slot.size
      } else if (slot instanceof Link) {
        const childName = describeLink(slot)
        if (depth + 1 >= shape.hasher.length) {
          problems.push(
            `${where}: links to ${childName} at depth ${depth + 1}, deeper than a ${shape.hasher.length}-byte hash reaches`,
          )
          continue
        }
        if (slot.id !== undefined) {
          const first = linkedAt.get(slot.id)
          if (first !== undefined) {
            problems.push(
              `${where}: links to ${childName} again (first linked at ${first}); a node belongs to one slot`,
            )
            continue
          }
          linkedAt.set(slot.id, where)
        }
        const child = await loader.follow(slot, options)
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
  if (root.id !== undefined) linkedAt.set(root.id, 'the root')
  const keyCount = await visit(
    rootNode,
    0,
    [],
    root.id === undefined ? 'root (dirty)' : `root ${formatId(root.id)}`,
  )
  return { problems, keyCount }
}
