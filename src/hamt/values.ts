import { formatId } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { decodeDagCbor, encodeDagCbor, encodeDagCborNow } from '../codec/dag-cbor.js'
import { describeValue, InvalidValueError } from '../errors.js'

/**
 * The bytes stored for a value: as given for a bytes map, else its DAG-CBOR encoding. With `now`, a
 * small integer's bytes are a shared buffer the next call overwrites (see `encodeDagCborNow`).
 */
export function encodeValue(key: string, value: unknown, valuesAreBytes: boolean, now = false): Uint8Array {
  if (valuesAreBytes) {
    if (value instanceof Uint8Array) return value
    throw new InvalidValueError(
      `value of ${JSON.stringify(key)} must be a Uint8Array (valuesAreBytes), got ${describeValue(value)}`,
    )
  }
  try {
    return now ? encodeDagCborNow(value) : encodeDagCbor(value)
  } catch (cause) {
    throw new InvalidValueError(
      `value of ${JSON.stringify(key)} cannot be encoded as DAG-CBOR: ${(cause as Error).message}`,
      { cause },
    )
  }
}

/** A stored DAG-CBOR value, decoded; anything else is an InvalidValueError naming the key and block. */
export function decodeValue(key: string, pointer: StoreId, bytes: Uint8Array): unknown {
  try {
    return decodeDagCbor(bytes)
  } catch (cause) {
    throw notDagCbor(key, pointer, cause)
  }
}

/** What {@link decodeValue} throws when the value block of `key` at `pointer` failed to decode with `cause`. */
export function notDagCbor(key: string, pointer: StoreId, cause: unknown): InvalidValueError {
  return new InvalidValueError(
    `value of ${JSON.stringify(key)} (${formatId(pointer)}) is not DAG-CBOR; was it written with valuesAreBytes? (${(cause as Error)?.message})`,
    { cause },
  )
}
