import type { StoreId } from '../cas/interface.js'
import { Bucket, type HeldPointer, Link, type Node, placeLength, placeStart } from './node.js'
import { writeUtf8 } from './utf8.js'

// Hand-written because profiling a 300k-key build showed @ipld/dag-cbor's generic encoder (token
// stream, map sorting, CID sniffing) at ~25% of the time plus much of the GC. It writes canonical
// DAG-CBOR for exactly one shape, the HAMT node; test/node-codec.test.ts checks it byte for byte
// against @ipld/dag-cbor on random nodes.

const MAJOR_BYTES = 2
const MAJOR_TEXT = 3
const MAJOR_ARRAY = 4
const MAJOR_MAP = 5
const TAG_CID = [0xd8, 0x2a] // tag 42
/** `{}`: the head of an empty map, an empty slot. */
const EMPTY_MAP = (MAJOR_MAP << 5) | 0

class Writer {
  bytes = new Uint8Array(4096)
  length = 0

  ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < this.length + extra) size *= 2
    const grown = new Uint8Array(size)
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
  }

  byte(value: number): void {
    this.ensure(1)
    this.bytes[this.length++] = value
  }

  /** A CBOR head: major type and argument, in the shortest form (canonical). */
  head(major: number, value: number): void {
    const m = major << 5
    this.ensure(9)
    const b = this.bytes
    if (value < 24) {
      b[this.length++] = m | value
    } else if (value < 0x100) {
      b[this.length++] = m | 24
      b[this.length++] = value
    } else if (value < 0x10000) {
      b[this.length++] = m | 25
      b[this.length++] = value >>> 8
      b[this.length++] = value & 0xff
    } else {
      // Node blocks stay far below 4 GiB, so a 32-bit argument is the largest we write.
      b[this.length++] = m | 26
      b[this.length++] = value >>> 24
      b[this.length++] = (value >>> 16) & 0xff
      b[this.length++] = (value >>> 8) & 0xff
      b[this.length++] = value & 0xff
    }
  }

  raw(data: Uint8Array): void {
    // TypedArray.prototype.set, even for ~34-byte IDs: measured 2-3x faster than a byte loop here.
    this.ensure(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }

  /** A text string, encoded once: written after a head sized for all-ASCII, moved if that was wrong. */
  text(s: string): void {
    this.ensure(9 + s.length * 3)
    const start = this.length
    const guess = headSize(s.length)
    const end = writeUtf8(s, this.bytes, start + guess)
    const length = end - start - guess
    const size = headSize(length)
    if (size !== guess) this.bytes.copyWithin(start + size, start + guess, end)
    this.head(MAJOR_TEXT, length)
    this.length = start + size + length
  }

  /** The bytes written: a copy, or with `scratch` a view that the next encode overwrites. */
  result(scratch: boolean): Uint8Array {
    return scratch ? this.bytes.subarray(0, this.length) : this.bytes.slice(0, this.length)
  }
}

/** Bytes of a CBOR head whose argument is `value` (see {@link Writer.head}). */
function headSize(value: number): number {
  return value < 24 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5
}

const writer = new Writer()

function writeId(w: Writer, id: StoreId): void {
  if (id instanceof Uint8Array) {
    w.head(MAJOR_BYTES, id.length)
    w.raw(id)
    return
  }
  // A CID is tag 42 over a byte string of the CID bytes behind a 0x00 (the identity multibase prefix).
  w.byte(TAG_CID[0] as number)
  w.byte(TAG_CID[1] as number)
  w.head(MAJOR_BYTES, id.bytes.length + 1)
  w.byte(0)
  w.raw(id.bytes)
}

/** A bucket's pointer; one held as a place is copied from the bucket's block without a view of it. */
function writePointer(w: Writer, bucket: Bucket, held: HeldPointer): void {
  if (typeof held !== 'number') {
    writeId(w, held)
    return
  }
  const length = placeLength(held)
  w.head(MAJOR_BYTES, length)
  w.ensure(length)
  // A byte loop: `set` would need a view of the block, ~90 bytes of garbage a pointer.
  const bytes = w.bytes
  const block = bucket.block
  let at = w.length
  for (let from = placeStart(held), end = from + length; from < end; from++)
    bytes[at++] = block[from] as number
  w.length = at
}

function writeBucket(w: Writer, bucket: Bucket): void {
  // A bucket's keys are already in DAG-CBOR key order (see Bucket).
  const own = bucket.keyOrKeys
  if (typeof own === 'string') {
    w.byte((MAJOR_MAP << 5) | 1)
    w.text(own)
    writePointer(w, bucket, bucket.pointerOrPointers as HeldPointer)
    return
  }
  const held = bucket.pointerOrPointers as readonly HeldPointer[]
  w.head(MAJOR_MAP, own.length)
  for (let i = 0; i < own.length; i++) {
    w.text(own[i] as string)
    writePointer(w, bucket, held[i] as HeldPointer)
  }
}

/**
 * Encodes a node as py-hamt does: a 256-element DAG-CBOR array of buckets (`{key: pointer}`, keys in
 * canonical order) and links (`[id]`). `idOf` gives the stored ID of a dirty child. With `scratch`,
 * the bytes are a view that the next call overwrites, for a store that copies at its `save` call
 * (`copiesAtSave`): a 1M-key flush then allocates no ~1 KB array per node, whose external memory
 * started two full garbage collections of the whole tree.
 */
export function encodeNode(node: Node, idOf: (child: Node) => StoreId, scratch = false): Uint8Array {
  // One writer for all nodes: encoding is synchronous, and result() copies the bytes out.
  const w = writer
  w.length = 0
  const slots = node.slots
  w.head(MAJOR_ARRAY, slots.length)
  for (let index = 0; index < slots.length; index++) {
    const slot = slots[index]
    if (slot === undefined) {
      // A run of empty slots (most of a large tree's nodes) is one byte each, written in one loop.
      let end = index + 1
      while (end < slots.length && slots[end] === undefined) end++
      w.ensure(end - index)
      w.bytes.fill(EMPTY_MAP, w.length, w.length + end - index)
      w.length += end - index
      index = end - 1
    } else if (slot instanceof Link) {
      w.head(MAJOR_ARRAY, 1)
      writeId(w, slot.id ?? idOf(slot.node as Node))
    } else if (slot instanceof Bucket) {
      writeBucket(w, slot)
    }
  }
  return w.result(scratch)
}
