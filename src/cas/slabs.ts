import { copyBytes } from './id.js'

/** Small arrays are copied into shared slabs: a copy with its own ArrayBuffer costs ~300 bytes more. */
const SLAB_BYTES = 64 << 10
const SLAB_BLOCK_LIMIT = 4 << 10

/**
 * Copies of byte arrays, those up to 4 KiB as views into shared 64 KiB slabs (a slab lives while any
 * copy in it does), larger ones each with their own buffer.
 */
export class Slabs {
  #slab = new Uint8Array(0)
  #used = 0

  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length > SLAB_BLOCK_LIMIT) return copyBytes(bytes)
    if (this.#slab.length - this.#used < bytes.length) {
      this.#slab = new Uint8Array(SLAB_BYTES)
      this.#used = 0
    }
    const copy = this.#slab.subarray(this.#used, this.#used + bytes.length)
    copy.set(bytes)
    this.#used += bytes.length
    return copy
  }
}
