import type { CID } from 'multiformats/cid'
import { code as rawCode } from 'multiformats/codecs/raw'
import { BlockIndex } from '../cas/block-index.js'
import type { BlockstoreStore } from '../cas/blockstore.js'
import {
  type CollectableAccess,
  collectable,
  isCollectable,
  type UnflushedWriter,
} from '../cas/collectable.js'
import { toCid } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { integerOption } from '../check.js'
import { BlockNotFoundError, InvalidArgumentError, isHamtError } from '../errors.js'
import { mapPool } from '../util/pool.js'
import type { BlockSource } from './interface.js'
import { walkDag } from './walk.js'

/** Where a collection is, passed to `onProgress`. */
export interface GcProgress {
  phase: 'mark' | 'sweep'
  /** Blocks found reachable from the kept roots (and from blocks put during the collection). */
  marked: number
  /** Blocks removed (or, in a dry run, that would be) so far. */
  removed: number
  /** Their bytes. */
  removedBytes: number
}

export interface GcOptions extends AbortOptions {
  /** The live roots: every block reachable from one of them stays. */
  keep: readonly (StoreId | string)[]
  /** With `keep` empty: remove every block. Without it, an empty `keep` is refused. */
  all?: boolean
  /** Report what would be removed and remove nothing; default false. */
  dryRun?: boolean
  /** Blocks read (and, sweeping, deleted) at once; default 16. */
  concurrency?: number
  /** Called with each block removed (or that a dry run would remove) and its size in bytes. */
  onRemove?: (cid: CID, bytes: number) => void
  onProgress?: (progress: GcProgress) => void
}

/** What a collection did (or, in a dry run, would do). */
export interface GcResult {
  dryRun: boolean
  /** Blocks reachable from the kept roots, and from blocks put while it ran. */
  marked: number
  /** Blocks removed (dry run: that would be). */
  removed: number
  removedBytes: number
}

/** Blocks deleted under one hold of the store's write lock. */
const SWEEP_BATCH = 256

/**
 * Removes every block of `store` (a {@link DiskStore} or {@link BlockstoreStore}) that no root in
 * `keep` reaches through dag-cbor, dag-pb or raw links. It marks first, reading every kept block
 * (checked against its CID), and deletes nothing unless the whole mark succeeded: a kept block that
 * is missing or corrupt is an error and the store is left as it was. Blocks put in this process
 * while it runs stay, with everything they link to that is still there (a new root over an old
 * subtree); a DiskStore is locked against other processes' writes meanwhile (their flushes fail
 * with a StoreError, and a collection does not start while another process flushes). A collection
 * killed at any point leaves every kept root whole; run it again to finish.
 *
 * What the writable HAMTs and ShardedZarrStores of this process on the store have not flushed
 * stays too: the values and chunks they set and everything their changed nodes, shards and roots
 * link to (so a map opened from a root that is not kept still flushes whole), and what a flush,
 * `HAMT.fromEntries` or `importCar` of this process under way has written before the collection
 * began (the root it returns is whole; a flush's and fromEntries' saves, and an import's blocks, are held
 * until a macrotask after it returns, so past its caller getting the root), and the shards a sharded listing under way has still to
 * read. A root a writer has flushed is no longer unflushed: keep the roots you still need. Other
 * processes' unflushed writes are not seen: flush them before collecting.
 *
 * @example
 * ```ts
 * const disk = await DiskStore.open('./my-maps')
 * const preview = await collectGarbage(disk, { keep: [root], dryRun: true })
 * console.log(`${preview.removed} blocks (${preview.removedBytes} bytes) would go`)
 * await collectGarbage(disk, { keep: [root] }) // removes exactly those
 * ```
 */
export async function collectGarbage(store: BlockstoreStore, options: GcOptions): Promise<GcResult> {
  if (!isCollectable(store)) {
    throw new InvalidArgumentError('store must be a DiskStore or BlockstoreStore to collect garbage in')
  }
  const roots = keptRoots(options)
  const concurrency = integerOption('concurrency', options.concurrency, 16)
  const access = store[collectable]()
  options.signal?.throwIfAborted()
  const marks = new Marks(access, concurrency, options)
  // At the call, in one step: later puts are seen, and what writers and imports under way hold now
  // is kept (one ending while the collection starts would take its hold on its blocks with it).
  const stopWatching = access.watchPuts((cid) => marks.sawPut(cid))
  marks.sawWriters()
  marks.sawUnsettled()
  let release: () => Promise<void>
  try {
    release = await access.begin(options)
  } catch (error) {
    stopWatching()
    throw error
  }
  try {
    // Blocks buffered before now are written (and seen as puts) before anything is listed.
    await access.flush(options)
    for (const root of roots) await marks.markRoot(root)
    marks.sawWriters()
    await marks.markPuts()
    return await sweep(access, marks, options)
  } finally {
    stopWatching()
    await release()
  }
}

function keptRoots(options: GcOptions): CID[] {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.keep)) {
    throw new InvalidArgumentError('options.keep must be an array of the root IDs to keep')
  }
  if (options.keep.length === 0 && options.all !== true) {
    throw new InvalidArgumentError(
      'options.keep is empty, which would remove every block: pass all: true to mean it',
    )
  }
  return options.keep.map((root, i) => toCid(root, `keep[${i}]`))
}

/** Digest lengths given a typed-array index of their own; other lengths (identity CIDs) share an IdMap. */
const INDEXED_LENGTHS = 4
const MAX_INDEXED_LENGTH = 128

/**
 * Multihashes with a small number each, in typed arrays (a `BlockIndex` per length; most stores use
 * one length): ~60 bytes a block where an `IdMap` entry with its own copy of the bytes took ~300.
 */
class MultihashMap {
  readonly #indexes = new Map<number, BlockIndex>()
  /** Multihashes of the lengths not indexed, few unless identity CIDs of many lengths are linked. */
  readonly #others = new IdMap<number>()
  #indexed = 0

  get size(): number {
    return this.#indexed + this.#others.size
  }

  get(multihash: Uint8Array): number | undefined {
    const index = this.#indexes.get(multihash.length)
    return index === undefined ? this.#others.get(multihash) : index.get(multihash)
  }

  /** Sets the multihash's number (the multihash copied when new). */
  set(multihash: Uint8Array, value: number): void {
    let index = this.#indexes.get(multihash.length)
    if (
      index === undefined &&
      this.#indexes.size < INDEXED_LENGTHS &&
      multihash.length <= MAX_INDEXED_LENGTH &&
      !this.#others.has(multihash)
    ) {
      index = new BlockIndex(multihash.length)
      this.#indexes.set(multihash.length, index)
    }
    if (index === undefined) {
      if (this.#others.has(multihash)) this.#others.set(multihash, value)
      else this.#others.set(multihash.slice(), value)
    } else if (!index.update(multihash, value)) {
      index.insert(multihash, value)
      this.#indexed++
    }
  }
}

/**
 * The marked blocks (by multihash: a store keeps one block per hash whatever the codec), each with
 * whether its links are followed (1) or not (0): bytes first reached as raw link nowhere, but under
 * dag-cbor they may.
 */
class Marks {
  readonly #marked = new MultihashMap()
  /** Blocks put since the collection began, not yet marked from. */
  #puts: CID[] = []
  readonly #source: BlockSource
  readonly #access: CollectableAccess
  /** Each live writer's version when its unflushed state was last marked from. */
  readonly #writerVersions = new WeakMap<UnflushedWriter, number>()
  readonly concurrency: number
  #settling: Promise<void> | undefined
  readonly #options: GcOptions
  removed = 0
  removedBytes = 0

  constructor(access: CollectableAccess, concurrency: number, options: GcOptions) {
    this.#source = leafCheckingSource(access, options)
    this.#access = access
    this.concurrency = concurrency
    this.#options = options
  }

  get size(): number {
    return this.#marked.size
  }

  /** The block stays (under any codec). */
  has(cid: CID): boolean {
    return this.#marked.get(cid.multihash.bytes) !== undefined
  }

  /** The block stays and, under this CID's codec, nothing more is to be followed from it. */
  covers(cid: CID): boolean {
    const followed = this.#marked.get(cid.multihash.bytes)
    return followed === 1 || (followed === 0 && cid.code === rawCode)
  }

  /** A put is marked at once (so a sweep under way keeps it); what it links to, at the next `markPuts`. */
  sawPut(cid: CID): void {
    if (this.covers(cid)) return
    this.#mark(cid)
    this.#puts.push(cid)
  }

  /**
   * What open writers' unflushed changes refer to is kept like a put (values set before the
   * collection began may be written already, and are in no root yet); a writer is asked again
   * only once it has written since.
   */
  sawWriters(): void {
    for (const writer of this.#access.writers()) {
      const version = writer.version()
      if (this.#writerVersions.get(writer) === version) continue
      this.#writerVersions.set(writer, version)
      for (const cid of writer.unflushed()) this.sawPut(cid)
    }
  }

  /** Everything under a kept root; a block that cannot be read ends the collection. */
  async markRoot(root: CID): Promise<void> {
    if (this.covers(root)) return
    this.#mark(root)
    await this.#walk(root, (cid, error) => {
      if (isHamtError(error) && error.code === 'ERR_BLOCK_NOT_FOUND') {
        throw new BlockNotFoundError(
          `block ${cid} under the kept root ${root} is missing: nothing was removed`,
          { cause: error },
        )
      }
      throw error
    })
  }

  /** What imports under way put or rely on, kept as puts (what they link to is marked with them). */
  sawUnsettled(): void {
    for (const put of this.#access.unsettled()) this.sawPut(put)
  }

  /** Marks from every put seen so far, waiting for a walk of them under way. */
  async settle(): Promise<void> {
    this.sawWriters()
    while (this.#puts.length > 0 || this.#settling !== undefined) {
      this.#settling ??= this.markPuts().finally(() => {
        this.#settling = undefined
      })
      await this.#settling
    }
  }

  /** What the blocks put meanwhile link to, as far as it is there (a writer's blocks may be partial). */
  async markPuts(): Promise<void> {
    while (this.#puts.length > 0) {
      const puts = this.#puts
      this.#puts = []
      for (const put of puts) await this.#walk(put, () => {})
    }
  }

  async #walk(root: CID, onError: (cid: CID, error: unknown) => void): Promise<void> {
    // Links are marked as they are queued (the walk keeps no set of its own): a link that turns
    // out missing under a put stays marked, which keeps nothing that is there.
    const walk = walkDag(this.#source, root, {
      concurrency: this.concurrency,
      visited: { has: (cid) => this.covers(cid), add: (cid) => this.#mark(cid) },
      onError,
      ...(this.#options.signal ? { signal: this.#options.signal } : {}),
    })
    for await (const _ of walk) this.#report('mark')
  }

  #mark(cid: CID): void {
    const followed = cid.code === rawCode ? 0 : 1
    const marked = this.#marked.get(cid.multihash.bytes)
    if (marked === undefined || marked < followed) this.#marked.set(cid.multihash.bytes, followed)
  }

  #report(phase: GcProgress['phase']): void {
    const { removed, removedBytes } = this
    this.#options.onProgress?.({ phase, marked: this.size, removed, removedBytes })
  }

  reportSweep(): void {
    this.#report('sweep')
  }
}

/** Reads blocks that can link; raw blocks (most of a dataset) are only checked to be there. */
function leafCheckingSource(access: CollectableAccess, options: AbortOptions): BlockSource {
  const none = new Uint8Array(0)
  return {
    getBlock: async (cid) => {
      if (cid.code !== rawCode) return access.getBlock(cid, options)
      if (await access.hasBlock(cid, options)) return none
      throw new BlockNotFoundError(`block ${cid} is not in ${access.description}`)
    },
  }
}

/**
 * Lists the store, then removes the unmarked blocks a batch at a time under the store's write lock
 * (so a put seen after a delete is written after it), marking from what was put meanwhile before
 * each delete. While a batch runs the store's `hasBlock` waits (a CAR import that skips blocks the
 * store has asks after its puts), so a block it was told is there is marked before it could go.
 */
async function sweep(access: CollectableAccess, marks: Marks, options: GcOptions): Promise<GcResult> {
  const dryRun = options.dryRun === true
  let batch: CID[] = []
  const removeBatch = async (): Promise<void> => {
    const candidates = batch
    batch = []
    const removeOne = async (cid: CID): Promise<void> => {
      const bytes = await access.size(cid, options)
      if (!dryRun) await marks.settle()
      // Nothing runs between this check and the delete's start: a put seen before it was marked from.
      if (bytes === undefined || marks.has(cid)) return
      if (!dryRun) await access.remove(cid, options)
      marks.removed++
      marks.removedBytes += bytes
      options.onRemove?.(cid, bytes)
    }
    const remove = async (): Promise<void> => {
      await mapPool(candidates, marks.concurrency, removeOne, options.signal)
    }
    await (dryRun ? remove() : access.exclusive(remove, options))
    marks.reportSweep()
  }
  for await (const cid of access.list(options)) {
    if (marks.has(cid)) continue
    batch.push(cid)
    if (batch.length >= SWEEP_BATCH) await removeBatch()
  }
  if (batch.length > 0) await removeBatch()
  return { dryRun, marked: marks.size, removed: marks.removed, removedBytes: marks.removedBytes }
}
