import { isStoreId } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { describeValue, InvalidNodeError } from '../errors.js'
import { Bucket, CLEAN, Link, Node, SLOTS, type Slot } from './node.js'
import { decodeCanonicalNode } from './node-fast-decoder.js'

/**
 * Decodes and validates a node block; anything that is not a valid py-hamt node is an InvalidNodeError.
 * `name` names the block in errors; a function is only called on the validating path.
 */
export function decodeNode(bytes: Uint8Array, name: string | (() => string)): Node {
  return decodeCanonicalNode(bytes) ?? decodeAnyNode(bytes, typeof name === 'string' ? name : name())
}

/** The validating path: any DAG-CBOR the library accepts, with an error naming what is wrong. */
export function decodeAnyNode(bytes: Uint8Array, name: string): Node {
  let data: unknown
  try {
    // Maps as Map, so that a non-string key can be named in an error instead of coerced.
    data = decodeDagCbor(bytes, { useMaps: true })
  } catch (cause) {
    throw new InvalidNodeError(`node ${name} is not valid DAG-CBOR: ${(cause as Error).message}`, { cause })
  }
  if (!Array.isArray(data)) {
    throw new InvalidNodeError(`node ${name} must be an array of ${SLOTS} slots, got ${describeValue(data)}`)
  }
  if (data.length !== SLOTS) {
    throw new InvalidNodeError(`node ${name} must have ${SLOTS} slots, got ${data.length}`)
  }
  const slots = data.map((item, index) => decodeSlot(item, index, name))
  return new Node(slots, CLEAN)
}

function decodeSlot(item: unknown, index: number, name: string): Slot {
  if (item instanceof Map) {
    if (item.size === 0) return undefined
    const keys: string[] = []
    const pointers: StoreId[] = []
    for (const [key, pointer] of item) {
      if (typeof key !== 'string') {
        throw new InvalidNodeError(
          `node ${name} slot ${index}: bucket key must be a string, got ${describeValue(key)}`,
        )
      }
      if (!isStoreId(pointer)) {
        throw new InvalidNodeError(
          `node ${name} slot ${index}: value pointer of ${JSON.stringify(key)} must be a CID or bytes, got ${describeValue(pointer)}`,
        )
      }
      keys.push(key)
      pointers.push(pointer)
    }
    return new Bucket(keys, pointers)
  }
  if (Array.isArray(item)) {
    if (item.length !== 1) {
      throw new InvalidNodeError(
        `node ${name} slot ${index}: a link must be a one-element array, got ${item.length} elements`,
      )
    }
    const id: unknown = item[0]
    if (!isStoreId(id)) {
      throw new InvalidNodeError(
        `node ${name} slot ${index}: link must be a CID or bytes, got ${describeValue(id)}`,
      )
    }
    return Link.toStored(id)
  }
  throw new InvalidNodeError(
    `node ${name} slot ${index}: must be a bucket (map) or a link ([id]), got ${describeValue(item)}`,
  )
}
