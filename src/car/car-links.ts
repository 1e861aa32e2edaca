import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { inlineBlock } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import { InvalidValueError } from '../errors.js'
import { linksOf } from './walk.js'

/** Set for a multihash whose bytes the CAR (or an identity CID) carries. */
const PRESENT = 1
/** The bit of a codec whose links are followed; 0 for raw and codecs no walk follows, which need only the bytes. */
function linkBit(code: number): number {
  return code === dagCbor.code ? 2 : code === dagPb.code ? 4 : 0
}
const LINKING_CODECS = [dagCbor.code, dagPb.code]

/** A multihash some links want, with the codecs they name it under (their `linkBit`s). */
interface Wanted {
  readonly cid: CID
  bits: number
}

/**
 * What a CAR's links need while its blocks are read. Blocks are matched by multihash (stores key
 * them so), but a block's links depend on its codec: one carried as raw and linked as dag-cbor has
 * its links read as dag-cbor too, from the bytes at hand or, when it came first, read back later.
 */
export class CarLinks {
  /** Multihashes present: `PRESENT` and the bits of the codecs whose links are (being) followed. */
  readonly #present = new IdMap<number>()
  /** Linked and not present yet: at the end these must be in the target. */
  readonly #missing = new IdMap<Wanted>()
  /** Present, but linked under a codec its bytes were not read as when they came: see {@link CarLinks.readBack}. */
  readonly #later = new IdMap<Wanted>()

  /** A root or link: matched by a block with its multihash (read as its codec), or an identity CID's bytes. */
  need(first: CID, index: number): void {
    // A loop, not recursion: identity CIDs may nest.
    const pending = [first]
    for (let link = pending.pop(); link !== undefined; link = pending.pop()) {
      const key = link.multihash.bytes
      const bit = linkBit(link.code)
      const present = this.#present.get(key)
      if (present !== undefined && (bit === 0 || (present & bit) !== 0)) continue
      const inline = inlineBlock(link)
      if (inline === undefined && present === undefined) {
        want(this.#missing, link, bit)
        continue
      }
      this.#present.set(key, (present ?? PRESENT) | bit)
      if (inline !== undefined) pending.push(...blockLinks(link, inline, index))
      else want(this.#later, link, bit)
    }
  }

  /**
   * A block of the CAR (its bytes checked against `cid`): its links, read as its own codec and as
   * any other codec it was linked by before it came. A block that does not decode so is an InvalidValueError.
   */
  arrive(cid: CID, bytes: Uint8Array, index: number): CID[] {
    const key = cid.multihash.bytes
    const bit = linkBit(cid.code)
    const links = blockLinks(cid, bytes, index)
    const missing = this.#missing.get(key)
    let bits = (this.#present.get(key) ?? PRESENT) | bit
    if (missing !== undefined) {
      this.#missing.delete(key)
      for (const code of LINKING_CODECS) {
        const other = linkBit(code)
        if ((missing.bits & other) === 0 || other === bit) continue
        links.push(...blockLinks(CID.createV1(code, cid.multihash), bytes, index))
      }
      bits |= missing.bits
    }
    // Its links under its own codec are read now, not later.
    const later = this.#later.get(key)
    if (later !== undefined) {
      later.bits &= ~bit
      if (later.bits === 0) this.#later.delete(key)
    }
    this.#present.set(key, bits)
    return links
  }

  /** Whether some block's links must still be read back (see {@link CarLinks.readBack}). */
  get readsBack(): boolean {
    return this.#later.size > 0
  }

  /**
   * Reads the links of blocks that came under another codec than a later link names them by,
   * through `read` (the target, which holds them by multihash now), until none is left.
   */
  async readBack(read: (cid: CID) => Promise<Uint8Array>, index: number): Promise<void> {
    for (let next = first(this.#later); next !== undefined; next = first(this.#later)) {
      const [key, { cid, bits }] = next
      this.#later.delete(key)
      const bytes = await read(cid)
      for (const code of LINKING_CODECS) {
        if ((bits & linkBit(code)) === 0) continue
        for (const link of blockLinks(CID.createV1(code, cid.multihash), bytes, index)) this.need(link, index)
      }
    }
  }

  /** Links no block of the CAR matched: each must be in the target already. */
  missing(): CID[] {
    return [...this.#missing.entries()].map(([, wanted]) => wanted.cid)
  }
}

function want(wanted: IdMap<Wanted>, link: CID, bit: number): void {
  const entry = wanted.get(link.multihash.bytes)
  if (entry === undefined) wanted.set(link.multihash.bytes, { cid: link, bits: bit })
  else entry.bits |= bit
}

function first<V>(map: IdMap<V>): [Uint8Array, V] | undefined {
  for (const entry of map.entries()) return entry
  return undefined
}

/** The links of block `index` of the CAR; one that does not decode is an InvalidValueError naming it. */
function blockLinks(cid: CID, data: Uint8Array, index: number): CID[] {
  try {
    return linksOf(cid, data)
  } catch (error) {
    if (error instanceof InvalidValueError) throw error
    throw new InvalidValueError(
      `block ${index} of the CAR file (${cid}) does not decode: ${(error as Error).message}`,
      { cause: error },
    )
  }
}
