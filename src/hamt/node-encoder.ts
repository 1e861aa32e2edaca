import type { StoreId } from '../cas/interface.js'
import { Bucket, Link, type Node } from './node.js'

// Hand-written because profiling a 300k-key build showed @ipld/dag-cbor's generic encoder (token
// stream, map sorting, CID sniffing) at ~25% of the time plus much of the GC. It writes canonical
// DAG-CBOR for exactly one shape, the HAMT node; test/node-encoder.test.ts checks it byte for byte
// against @ipld/dag-cbor on random nodes.

const MAJOR_BYTES = 2
const MAJOR_TEXT = 3
const MAJOR_ARRAY = 4
const MAJOR_MAP = 5
const TAG_CID = [0xd8, 0x2a] // tag 42
const utf8 = new TextEncoder()

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
    this.ensure(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }

  result(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

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

/** DAG-CBOR map key order: shorter encoded key first, then bytewise. */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  }
  return 0
}

function writeBucket(w: Writer, bucket: Bucket): void {
  const entries = bucket.keys.map((key, i) => ({
    key: utf8.encode(key),
    pointer: bucket.pointers[i] as StoreId,
  }))
  entries.sort((a, b) => compareKeys(a.key, b.key))
  w.head(MAJOR_MAP, entries.length)
  for (const { key, pointer } of entries) {
    w.head(MAJOR_TEXT, key.length)
    w.raw(key)
    writeId(w, pointer)
  }
}

/**
 * Encodes a node as py-hamt does: a 256-element DAG-CBOR array of buckets (`{key: pointer}`, keys in
 * canonical order) and links (`[id]`). `idOf` gives the stored ID of a dirty child.
 */
export function encodeNode(node: Node, idOf: (child: Node) => StoreId): Uint8Array {
  const w = new Writer()
  w.head(MAJOR_ARRAY, node.slots.length)
  for (const slot of node.slots) {
    if (slot === undefined) {
      w.head(MAJOR_MAP, 0)
    } else if (slot instanceof Link) {
      w.head(MAJOR_ARRAY, 1)
      writeId(w, slot.id ?? idOf(slot.node as Node))
    } else if (slot instanceof Bucket) {
      writeBucket(w, slot)
    }
  }
  return w.result()
}
