import { describeValue, InvalidArgumentError, InvalidHashError } from '../errors.js'
import type { HashFn } from './interface.js'
import { utf8Encode } from './utf8.js'

/** Keys are strings whose UTF-8 bytes are hashed; a lone surrogate has no UTF-8 form, so it is refused. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string')
    throw new InvalidArgumentError(`key must be a string, got ${describeValue(key)}`)
  if (!key.isWellFormed()) {
    throw new InvalidArgumentError(
      `key ${JSON.stringify(key)} is not well-formed Unicode (it has a lone surrogate)`,
    )
  }
}

/** Wraps a hash function so every key is checked and every digest is checked to be non-empty bytes. */
export function makeKeyHasher(hashFn: HashFn): (key: string) => Uint8Array {
  return (key) => {
    checkKey(key)
    const hash: unknown = hashFn(utf8Encode(key))
    if (!(hash instanceof Uint8Array)) {
      throw new InvalidHashError(`hashFn must return a Uint8Array, got ${describeValue(hash)}`)
    }
    if (hash.length === 0)
      throw new InvalidHashError('hashFn returned an empty hash; at least 1 byte is needed')
    return hash
  }
}
