// One field of a protobuf message, scanned without a schema: for the fields the libraries that
// decode a message do not expose (UnixFS's filesize), or before they decode it (an IPNS record's body).

/**
 * The last occurrence of field `field` in `message` (protobuf's rule for a non-repeated field): a
 * varint as a bigint, a length-delimited field as a view of its bytes; undefined when absent or of
 * a fixed-width type. Reads only within `message`; a truncated field or an unknown wire type throws.
 */
export function protobufField(message: Uint8Array, field: number): bigint | Uint8Array | undefined {
  let at = 0
  const varint = (): bigint => {
    let value = 0n
    for (let shift = 0n; ; shift += 7n) {
      const byte = message[at++]
      if (byte === undefined || shift > 63n) throw new Error('a truncated varint')
      value |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return value
    }
  }
  let found: bigint | Uint8Array | undefined
  while (at < message.length) {
    const key = varint()
    const wire = Number(key & 7n)
    const number = key >> 3n
    if (wire === 0) {
      const value = varint()
      if (number === BigInt(field)) found = value
    } else if (wire === 2) {
      const length = varint()
      if (length > BigInt(message.length - at)) throw new Error(`field ${number} runs past the end`)
      if (number === BigInt(field)) found = message.subarray(at, at + Number(length))
      at += Number(length)
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4
      if (at > message.length) throw new Error(`field ${number} runs past the end`)
    } else throw new Error(`an unknown wire type ${wire}`)
  }
  return found
}
