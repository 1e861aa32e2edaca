import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { RwLock } from '../util/rw-lock.js'
import { IdMap } from './id-map.js'
import type { AbortOptions } from './interface.js'
import { Slabs } from './slabs.js'

/** A block waiting in a {@link BlockBuffer}. */
export interface BufferedBlock {
  readonly cid: CID
  readonly bytes: Uint8Array
}

/**
 * A store's transport for buffered blocks: writes `blocks` (in the order they were buffered).
 * A block passed to `written` leaves the buffer at once (with a confirming flush, at its end: see
 * {@link BlockBuffer.flush}); when the call resolves, every block of the batch has; when it rejects,
 * those not reported stay buffered for the next flush. A block's
 * bytes may be a view into a shared slab: a transport that keeps them (a blockstore) copies them.
 */
export type WriteBlocks = (
  blocks: readonly BufferedBlock[],
  written: (block: BufferedBlock) => void,
  options: AbortOptions | undefined,
) => Promise<void>

/**
 * A buffered block: its bytes and multihash copied into the buffer's slabs, and its CID kept only
 * when the caller holds it anyway (`save`); a CAR's CIDs are rebuilt when written instead of kept.
 */
class Entry implements BufferedBlock {
  readonly key: Uint8Array
  readonly bytes: Uint8Array
  /** The unsettled batches that alone put this block here (see {@link BlockBuffer.settle}); undefined: kept. */
  holders: Batch | Set<Batch> | undefined
  readonly #cid: CID | undefined
  readonly #version: 0 | 1
  readonly #code: number

  constructor(cid: CID, key: Uint8Array, bytes: Uint8Array, keepCid: boolean) {
    this.key = key
    this.bytes = bytes
    this.#cid = keepCid ? cid : undefined
    this.#version = cid.version
    this.#code = cid.code
  }

  get cid(): CID {
    // A copy of the key: a CID a blockstore keeps must not pin the slab the key lives in.
    return this.#cid ?? CID.create(this.#version, this.#code, Digest.decode(this.key.slice()))
  }
}

/** A token for the puts of one operation that may still fail (an import): see {@link BlockBuffer.settle}. */
export type Batch = object

/** `holders` once `batch` puts the block again: a kept block stays kept. */
function joined(holders: Batch | Set<Batch> | undefined, batch: Batch | undefined): Entry['holders'] {
  if (holders === undefined || batch === undefined) return undefined
  if (holders === batch) return holders
  if (holders instanceof Set) return holders.add(batch)
  return new Set([holders, batch])
}

/**
 * The blocks a store holds until they are written: readable at once, keyed by multihash (stores
 * key blocks by hash, so a raw and a dag-cbor CID name one block), kept in the order they came (a
 * flush writes children before the parents saved after them). Flushes run one at a time, each
 * writing what the buffer held when it started; a failed flush keeps what it did not write.
 */
export class BlockBuffer {
  readonly #limit: number
  readonly #write: WriteBlocks
  /** Position of each buffered block in #order. */
  readonly #index = new IdMap<number>()
  /** Buffered blocks in arrival order; a written block leaves a hole until the next flush compacts. */
  #order: (Entry | undefined)[] = []
  #bytes = 0
  readonly #flushes = new RwLock()
  /** Where blocks and multihashes are copied (small ones share slabs). */
  readonly #slabs = new Slabs()

  /** `limit`: bytes held before {@link BlockBuffer.add} flushes (0: every add flushes). */
  constructor(limit: number, write: WriteBlocks) {
    this.#limit = limit
    this.#write = write
  }

  /** Bytes waiting to be written. */
  get bytes(): number {
    return this.#bytes
  }

  /** The buffered bytes of the block with `cid`'s multihash (not a copy: callers copy), or undefined. */
  get(cid: CID): Uint8Array | undefined {
    const position = this.#index.get(cid.multihash.bytes)
    return position === undefined ? undefined : this.#order[position]?.bytes
  }

  /**
   * Whether `cid`'s block is buffered; with `batch`, the batch holds it too: an operation that relies
   * on a block another one put tentatively keeps it from leaving if that one fails.
   */
  has(cid: CID, batch?: Batch): boolean {
    const position = this.#index.get(cid.multihash.bytes)
    if (position === undefined) return false
    if (batch !== undefined) {
      const entry = this.#order[position] as Entry
      entry.holders = joined(entry.holders, batch)
    }
    return true
  }

  /**
   * Buffers a copy of each block not buffered yet, and returns true when the buffer is full (the
   * caller flushes). `keepCids`: hold the CID objects (the caller keeps them anyway) rather than
   * rebuild them when written.
   */
  add(blocks: readonly BufferedBlock[], keepCids: boolean, batch?: Batch): boolean {
    for (const { cid, bytes } of blocks) {
      const position = this.#index.get(cid.multihash.bytes)
      if (position !== undefined) {
        const entry = this.#order[position] as Entry
        entry.holders = joined(entry.holders, batch)
        continue
      }
      // A kept CID holds its multihash already; else the multihash is copied out of whatever held it.
      const key = keepCids ? cid.multihash.bytes : this.#slabs.copy(cid.multihash.bytes)
      this.#index.set(key, this.#order.length)
      const entry = new Entry(cid, key, this.#slabs.copy(bytes), keepCids)
      entry.holders = batch
      this.#order.push(entry)
      this.#bytes += bytes.length
    }
    return this.#bytes >= this.#limit
  }

  /**
   * Ends `batch`: kept, its blocks still buffered stay for the next flush as any other; not kept
   * (the operation failed), those only it put here leave the buffer, so no later flush writes
   * them. Blocks a flush took meanwhile are written (or being written) already.
   */
  settle(batch: Batch, keep: boolean): void {
    for (const entry of this.#order) {
      const holders = entry?.holders
      if (entry === undefined || holders === undefined) continue
      if (holders instanceof Set ? !holders.delete(batch) : holders !== batch) continue
      if (keep) entry.holders = undefined
      else if (holders === batch || (holders as Set<Batch>).size === 0) this.#remove(entry)
    }
    this.#compact()
  }

  /**
   * Writes what is buffered now, after any flush under way; `options.signal` ends the wait. With
   * `confirm` (run at the flush's end, also when nothing was buffered), written blocks stay buffered
   * (readable, not counted in {@link BlockBuffer.bytes}) until it resolves; when it rejects, every
   * block of the flush stays for the next one to write again (a disk store's lost marker: another
   * process's collection may have deleted them). Either way the buffer holds no more than the flush's
   * own batch already keeps alive until its end, plus the saves made meanwhile (up to the limit).
   * Without it, `unconfirmed` is told before blocks are written (in this flush's turn).
   */
  flush(options?: AbortOptions, confirm?: () => Promise<void>, unconfirmed?: () => void): Promise<void> {
    return this.#flushes.write(() => this.#flushNow(options, confirm, unconfirmed), options?.signal)
  }

  /** Runs `fn` between flushes: no buffered block is written while it runs (a sweep's deletes). */
  exclusive<T>(fn: () => Promise<T>, options?: AbortOptions): Promise<T> {
    return this.#flushes.write(fn, options?.signal)
  }

  async #flushNow(
    options: AbortOptions | undefined,
    confirm: (() => Promise<void>) | undefined,
    unconfirmed: (() => void) | undefined,
  ): Promise<void> {
    this.#compact()
    if (this.#order.length === 0) return confirm?.()
    // Blocks buffered while this batch is written get positions after it and wait for the next flush.
    const batch = this.#order.slice() as Entry[]
    if (confirm !== undefined) return this.#flushConfirmed(batch, options, confirm)
    unconfirmed?.()
    let reported = 0
    await this.#write(
      batch,
      (block) => {
        if (this.#remove(block as Entry)) reported++
      },
      options,
    )
    if (reported < batch.length) for (const block of batch) this.#remove(block)
    this.#compact()
  }

  /** `batch` written, each block kept (uncounted) until `confirm` passes; all of them kept if it fails. */
  async #flushConfirmed(
    batch: readonly Entry[],
    options: AbortOptions | undefined,
    confirm: () => Promise<void>,
  ): Promise<void> {
    const held = new Set<Entry>()
    const hold = (entry: Entry): void => {
      if (held.has(entry) || this.#order[this.#index.get(entry.key) ?? -1] !== entry) return
      held.add(entry)
      this.#bytes -= entry.bytes.length
    }
    this.#held = held
    try {
      let failure: { error: unknown } | undefined
      try {
        await this.#write(batch, (block) => hold(block as Entry), options)
        for (const entry of batch) hold(entry)
      } catch (error) {
        failure = { error }
      }
      const lost = await confirm().then(
        () => undefined,
        (error: unknown) => ({ error }),
      )
      if (lost === undefined) for (const entry of [...held]) this.#remove(entry)
      else for (const entry of held) this.#bytes += entry.bytes.length
      this.#compact()
      // The write's own failure first: it came first (a lost marker fails the puts after it too).
      if (failure !== undefined || lost !== undefined) throw (failure ?? lost)?.error
    } finally {
      this.#held = undefined
    }
  }

  /** Blocks a confirming flush wrote, until its end (see {@link BlockBuffer.flush}): not counted in #bytes. */
  #held: Set<Entry> | undefined

  /** Takes a written block out; false if it was out already. */
  #remove(block: Entry): boolean {
    const { key } = block
    const position = this.#index.get(key)
    if (position === undefined || this.#order[position] !== block) return false
    this.#index.delete(key)
    this.#order[position] = undefined
    if (this.#held?.delete(block) !== true) this.#bytes -= block.bytes.length
    return true
  }

  /** Drops the holes written blocks left, renumbering the rest (in order). */
  #compact(): void {
    if (this.#index.size === this.#order.length) return
    if (this.#index.size === 0) {
      this.#order = []
      return
    }
    const kept = this.#order.filter((block) => block !== undefined)
    kept.forEach((block, position) => {
      this.#index.set(block.key, position)
    })
    this.#order = kept
  }
}
