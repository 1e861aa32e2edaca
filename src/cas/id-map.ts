import { toHex } from 'multiformats/bytes'
import type { StoreId } from './interface.js'

type Entry<V> = { bytes: Uint8Array; value: V; next: Entry<V> | undefined }

/** Entries one chain holds before further colliding IDs go to the string-keyed overflow map. */
const CHAIN_LIMIT = 8

function bytesOf(id: StoreId): Uint8Array {
  return id instanceof Uint8Array ? id : id.bytes
}

/**
 * The one hash of ID bytes (this map's and `BlockIndex`'s): 31 bits from every byte of
 * `bytes[start..start + length)`, four bytes a step, mixed with `seed`. Whole IDs, not their tails:
 * identity CIDs (and any ID from a stranger's CAR) choose their own bytes, and hashing part of them
 * let 10k IDs sharing a tail land in one chain.
 */
export function hashIdBytes(bytes: Uint8Array, start: number, length: number, seed: number): number {
  let h = seed ^ length
  let i = 0
  for (; i + 4 <= length; i += 4) {
    const at = start + i
    const word =
      (bytes[at] as number) |
      ((bytes[at + 1] as number) << 8) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 24)
    h = Math.imul(h ^ word, 0x9e3779b1)
    h ^= h >>> 16
  }
  for (; i < length; i++) h = Math.imul(h ^ (bytes[start + i] as number), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) & 0x7fffffff
}

/** An ID's 30-bit hash in this map (fixed seed: its chains are capped instead). Exported for tests only. */
export function hashOf(bytes: Uint8Array): number {
  return hashIdBytes(bytes, 0, bytes.length, 0x2c1b3c6d) & 0x3fffffff
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false
  return true
}

/**
 * A map keyed by store ID, compared by bytes. Building a string key per lookup cost ~0.7 µs
 * in V8, most of a warm get; here a small integer picks a short chain compared byte by byte.
 * Chains are capped: IDs crafted to collide go to a map keyed by their hex (V8's own seeded string
 * hash), so no input makes a lookup cost more than a few comparisons and one hex string.
 * A CID and a byte ID with the same bytes are the same key, which no store produces.
 */
export class IdMap<V> {
  readonly #table = new Map<number, Entry<V>>()
  /** IDs whose chain was full when they came; empty unless IDs were made to collide. */
  readonly #overflow = new Map<string, { bytes: Uint8Array; value: V }>()
  #size = 0

  get size(): number {
    return this.#size + this.#overflow.size
  }

  get(id: StoreId): V | undefined {
    const bytes = bytesOf(id)
    for (let e = this.#table.get(hashOf(bytes)); e !== undefined; e = e.next) {
      if (equalBytes(e.bytes, bytes)) return e.value
    }
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(toHex(bytes))?.value
  }

  has(id: StoreId): boolean {
    return this.get(id) !== undefined
  }

  set(id: StoreId, value: V): void {
    const bytes = bytesOf(id)
    const key = hashOf(bytes)
    const head = this.#table.get(key)
    let length = 0
    for (let e = head; e !== undefined; e = e.next, length++) {
      if (equalBytes(e.bytes, bytes)) {
        e.value = value
        return
      }
    }
    if (length < CHAIN_LIMIT && (this.#overflow.size === 0 || !this.#overflow.has(toHex(bytes)))) {
      this.#table.set(key, { bytes, value, next: head })
      this.#size++
      return
    }
    const hex = toHex(bytes)
    const existing = this.#overflow.get(hex)
    if (existing !== undefined) existing.value = value
    else this.#overflow.set(hex, { bytes, value })
  }

  delete(id: StoreId): boolean {
    const bytes = bytesOf(id)
    const key = hashOf(bytes)
    let previous: Entry<V> | undefined
    for (let e = this.#table.get(key); e !== undefined; previous = e, e = e.next) {
      if (!equalBytes(e.bytes, bytes)) continue
      if (previous !== undefined) previous.next = e.next
      else if (e.next !== undefined) this.#table.set(key, e.next)
      else this.#table.delete(key)
      this.#size--
      return true
    }
    return this.#overflow.size !== 0 && this.#overflow.delete(toHex(bytes))
  }

  clear(): void {
    this.#table.clear()
    this.#overflow.clear()
    this.#size = 0
  }

  *entries(): IterableIterator<[Uint8Array, V]> {
    for (const head of this.#table.values()) {
      for (let e: Entry<V> | undefined = head; e !== undefined; e = e.next) yield [e.bytes, e.value]
    }
    for (const { bytes, value } of this.#overflow.values()) yield [bytes, value]
  }
}
