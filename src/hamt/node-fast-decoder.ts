import { CID } from 'multiformats/cid'
import type { StoreId } from '../cas/interface.js'
import { decodeUtf8 } from '../codec/dag-cbor.js'
import { Bucket, CLEAN, type HeldPointer, Link, Node, placeOf, SLOTS, type Slot } from './node.js'

// Decoding nodes through cborg cost 20-80 µs a node, most of a cold read (BENCHMARKS.md). This
// reader accepts only nodes in strictly canonical form (shortest lengths, keys sorted and unique,
// valid UTF-8, nothing after the array) and returns undefined for anything else, which the
// validating cborg path then decides on. So it can be faster but never more lenient;
// test/node-codec.test.ts checks it against that path on random and corrupted nodes.
// IDs are views into the block, not copies: a copy cost ~250 bytes of V8 objects an ID, and at 1M
// keys their garbage was a third of a cold get's time; a bucket's byte IDs are only their places in
// the block until asked for. So the block must be one no one changes or shares (NodeLoader gives the
// decoder such a block) and a decoded node keeps it alive.

class Reader {
  at = 0
  constructor(readonly bytes: Uint8Array) {}

  /** The argument of a head of major type `major`, in shortest form; undefined otherwise. */
  head(major: number): number | undefined {
    const b = this.bytes
    const first = b[this.at++]
    if (first === undefined || first >> 5 !== major) return undefined
    const info = first & 0x1f
    if (info < 24) return info
    if (info === 24) {
      const v = b[this.at++]
      return v !== undefined && v >= 24 ? v : undefined
    }
    if (info === 25) {
      if (this.at + 2 > b.length) return undefined
      const v = ((b[this.at] as number) << 8) | (b[this.at + 1] as number)
      this.at += 2
      return v >= 0x100 ? v : undefined
    }
    if (info === 26) {
      if (this.at + 4 > b.length) return undefined
      const v =
        (b[this.at] as number) * 0x1000000 +
        (((b[this.at + 1] as number) << 16) | ((b[this.at + 2] as number) << 8) | (b[this.at + 3] as number))
      this.at += 4
      return v >= 0x10000 ? v : undefined
    }
    return undefined
  }

  take(length: number): Uint8Array | undefined {
    if (this.at + length > this.bytes.length) return undefined
    const out = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    return out
  }

  peek(): number | undefined {
    return this.bytes[this.at]
  }
}

function readId(r: Reader): StoreId | undefined {
  if (r.peek() === 0xd8) {
    if (r.bytes[r.at + 1] !== 0x2a) return undefined
    r.at += 2
    const length = r.head(2)
    const bytes = length === undefined ? undefined : r.take(length)
    if (bytes === undefined || bytes[0] !== 0) return undefined
    try {
      return CID.decode(bytes.subarray(1))
    } catch {
      return undefined
    }
  }
  const length = r.head(2)
  return length === undefined ? undefined : r.take(length)
}

/** A bucket's pointer: a byte ID as its place in the block (see `HeldPointer`), else as {@link readId}. */
function readPointer(r: Reader): HeldPointer | undefined {
  if (r.peek() === 0xd8) return readId(r)
  const length = r.head(2)
  if (length === undefined || r.at + length > r.bytes.length) return undefined
  const place = placeOf(r.at, length)
  if (place === undefined) return r.take(length)
  r.at += length
  return place
}

/**
 * Canonical order of encoded keys, `a` and `b` given by offset and length in `bytes`: shorter first,
 * then bytewise; strictly increasing means unique.
 */
function isBefore(bytes: Uint8Array, a: number, aLength: number, b: number, bLength: number): boolean {
  if (aLength !== bLength) return aLength < bLength
  for (let i = 0; i < aLength; i++) {
    const x = bytes[a + i] as number
    const y = bytes[b + i] as number
    if (x !== y) return x < y
  }
  return false
}

/** A key's text; short ASCII keys (the usual) are read in place, anything else by decodeUtf8. */
function readKey(bytes: Uint8Array, start: number, length: number): string | undefined {
  const end = start + length
  if (length > 32) return readUtf8(bytes.subarray(start, end))
  for (let i = start; i < end; i++)
    if ((bytes[i] as number) >= 0x80) return readUtf8(bytes.subarray(start, end))
  // Eight characters a call: a string a character made (and copied) a new string each, 30-50% of
  // this function's time for 9-24 byte keys, in every key of every node a cold read decodes.
  let key = ''
  let i = start
  for (; i + 8 <= end; i += 8) {
    key += String.fromCharCode(
      bytes[i] as number,
      bytes[i + 1] as number,
      bytes[i + 2] as number,
      bytes[i + 3] as number,
      bytes[i + 4] as number,
      bytes[i + 5] as number,
      bytes[i + 6] as number,
      bytes[i + 7] as number,
    )
  }
  for (; i + 2 <= end; i += 2) key += String.fromCharCode(bytes[i] as number, bytes[i + 1] as number)
  if (i < end) key += String.fromCharCode(bytes[i] as number)
  return key
}

function readUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decodeUtf8(bytes)
  } catch {
    return undefined
  }
}

function readBucket(r: Reader): Slot | null {
  const size = r.head(5)
  if (size === undefined) return null
  if (size === 0) return undefined
  // Each entry takes at least two bytes: a longer count is not a node (the validating path says why).
  if (size * 2 > r.bytes.length - r.at) return null
  // At their final size: arrays grown by push keep room for 17 entries, and a cached node has many buckets.
  const keys = new Array<string>(size)
  const pointers = new Array<HeldPointer>(size)
  let previous = -1
  let previousLength = 0
  for (let i = 0; i < size; i++) {
    const length = r.head(3)
    const start = r.at
    if (length === undefined || start + length > r.bytes.length) return null
    if (previous >= 0 && !isBefore(r.bytes, previous, previousLength, start, length)) return null
    previous = start
    previousLength = length
    r.at += length
    const key = readKey(r.bytes, start, length)
    const pointer = readPointer(r)
    if (key === undefined || pointer === undefined) return null
    keys[i] = key
    pointers[i] = pointer
  }
  // Checked above: strictly increasing keys.
  return new Bucket(keys, pointers, true, r.bytes)
}

/** The node, if `bytes` is a py-hamt node in strictly canonical DAG-CBOR; undefined otherwise. */
export function decodeCanonicalNode(bytes: Uint8Array): Node | undefined {
  const r = new Reader(bytes)
  if (r.head(4) !== SLOTS) return undefined
  const slots = new Array<Slot>(SLOTS)
  for (let i = 0; i < SLOTS; i++) {
    const first = bytes[r.at]
    // An empty bucket ({}, one byte) is most slots of most nodes: taken here, no call for it.
    if (first === 0xa0) {
      r.at++
      slots[i] = undefined
    } else if (first === 0x81) {
      r.at++
      const id = readId(r)
      if (id === undefined) return undefined
      slots[i] = Link.toStored(id)
    } else {
      const bucket = readBucket(r)
      if (bucket === null) return undefined
      slots[i] = bucket
    }
  }
  return r.at === bytes.length ? new Node(slots, CLEAN) : undefined
}
