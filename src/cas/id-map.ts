import type { StoreId } from './interface.js'

type Entry<V> = { bytes: Uint8Array; value: V; next: Entry<V> | undefined }

function bytesOf(id: StoreId): Uint8Array {
  return id instanceof Uint8Array ? id : id.bytes
}

/** 30 bits from the ID's last bytes: IDs end in a hash digest, so these bits are already uniform. */
function hashOf(bytes: Uint8Array): number {
  const n = bytes.length
  let h = n
  for (let i = Math.max(0, n - 4); i < n; i++) h = (h << 8) | (bytes[i] as number)
  return h & 0x3fffffff
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false
  return true
}

/**
 * A map keyed by store ID, compared by bytes. Building a string key per lookup cost ~0.7 µs
 * in V8, most of a warm get; here a small integer picks a short chain compared byte by byte.
 * A CID and a byte ID with the same bytes are the same key, which no store produces.
 */
export class IdMap<V> {
  readonly #table = new Map<number, Entry<V>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  get(id: StoreId): V | undefined {
    const bytes = bytesOf(id)
    for (let e = this.#table.get(hashOf(bytes)); e !== undefined; e = e.next) {
      if (equalBytes(e.bytes, bytes)) return e.value
    }
    return undefined
  }

  has(id: StoreId): boolean {
    return this.get(id) !== undefined
  }

  set(id: StoreId, value: V): void {
    const bytes = bytesOf(id)
    const hash = this.#table.get(hashOf(bytes))
    for (let e = hash; e !== undefined; e = e.next) {
      if (equalBytes(e.bytes, bytes)) {
        e.value = value
        return
      }
    }
    this.#table.set(hashOf(bytes), { bytes, value, next: hash })
    this.#size++
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
    return false
  }

  clear(): void {
    this.#table.clear()
    this.#size = 0
  }

  *entries(): IterableIterator<[Uint8Array, V]> {
    for (const head of this.#table.values()) {
      for (let e: Entry<V> | undefined = head; e !== undefined; e = e.next) yield [e.bytes, e.value]
    }
  }
}
