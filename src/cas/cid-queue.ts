import { CID } from 'multiformats/cid'

/** Bytes a chunk of the queue holds (a longer CID gets a chunk of its own size). */
const CHUNK = 64 * 1024

/**
 * CIDs held as their bytes packed into chunks, first in first out: a DAG walk's queue, and the log of
 * an import's puts (`blockstore.ts`). A wide DAG's frontier (every value of a HAMT's last level at
 * once) held as CID objects cost ~250 bytes each and kept alive the block each one was decoded from;
 * here a CID costs its bytes and 4.
 */
export class CidQueue {
  readonly #chunks: Uint8Array[] = []
  /** Where the written entries of each chunk end. */
  readonly #ends: number[] = []
  #readAt = 0
  #length = 0

  get length(): number {
    return this.#length
  }

  push(cid: CID): void {
    const { bytes } = cid
    const need = 4 + bytes.length
    let last = this.#chunks.length - 1
    let chunk = this.#chunks[last]
    let at = this.#ends[last] ?? 0
    if (chunk === undefined || at + need > chunk.length) {
      chunk = new Uint8Array(Math.max(CHUNK, need))
      this.#chunks.push(chunk)
      this.#ends.push(0)
      last++
      at = 0
    }
    new DataView(chunk.buffer, chunk.byteOffset + at, 4).setUint32(0, bytes.length, true)
    chunk.set(bytes, at + 4)
    this.#ends[last] = at + need
    this.#length++
  }

  /** The CIDs held, oldest first, left in place; one pushed while this runs is reached too. */
  *[Symbol.iterator](): Iterator<CID> {
    let chunkIndex = 0
    let at = this.#readAt
    // A shift meanwhile would move the chunks under this walk: the log that iterates never shifts.
    while (chunkIndex < this.#chunks.length) {
      const chunk = this.#chunks[chunkIndex] as Uint8Array
      if (at >= (this.#ends[chunkIndex] as number)) {
        if (chunkIndex === this.#chunks.length - 1) return
        chunkIndex++
        at = 0
        continue
      }
      const length = new DataView(chunk.buffer, chunk.byteOffset + at, 4).getUint32(0, true)
      yield CID.decode(chunk.slice(at + 4, at + 4 + length))
      at += 4 + length
    }
  }

  /** The oldest CID (a copy of its bytes, so it holds no chunk); undefined when empty. */
  shift(): CID | undefined {
    if (this.#length === 0) return undefined
    while (this.#readAt >= (this.#ends[0] as number)) {
      this.#chunks.shift()
      this.#ends.shift()
      this.#readAt = 0
    }
    const chunk = this.#chunks[0] as Uint8Array
    const at = this.#readAt
    const length = new DataView(chunk.buffer, chunk.byteOffset + at, 4).getUint32(0, true)
    this.#readAt = at + 4 + length
    this.#length--
    if (this.#length === 0) {
      this.#chunks.length = 0
      this.#ends.length = 0
      this.#readAt = 0
    }
    return CID.decode(chunk.slice(at + 4, at + 4 + length))
  }
}
