import { readdir, realpath, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FsBlockstore } from 'blockstore-fs'
import { base32upper } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import { code as rawCode } from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { InvalidArgumentError, isHamtError, StoreError } from '../errors.js'
import { BlockstoreStore, type BlockstoreStoreOptions, CONFIRM_FLUSH, MAX_PUT_BYTES } from './blockstore.js'
import type { FlushConfirmation } from './buffered-blocks.js'
import { type CollectableAccess, collectable, unrootedWriter, WriterRegistry } from './collectable.js'
import { blockFile, CleaningFsBlockstore } from './disk-blockstore.js'
import { settleHolds, type UnconfirmedWrites } from './disk-holds.js'
import { isOurs, releaseLock, takeLock } from './disk-lock.js'
import {
  GC_LOCK,
  isMarker,
  isOwnMarker,
  MAX_MARKERS,
  removeDeadWriters,
  SHARD,
  writerPid,
} from './disk-marker-names.js'
import { beginWriting, endWriting, isWriterAlive, writingHere } from './disk-markers.js'
import { MAX_BLOCK_BYTES } from './gateway.js'
import type { AbortOptions } from './interface.js'

export { temporaryFile } from './disk-blockstore.js'

export interface DiskStoreOptions extends BlockstoreStoreOptions {
  /** Create the directory when it does not exist; default true. */
  createIfMissing?: boolean
}

/**
 * A block is written to `<shard>/.<name>.data.<pid>.<token>.tmp`, its writer marker's token (ours before:
 * a token of its own, `.<name>.data.<pid>.tmp`;
 * blockstore-fs: `.<name>.data.tmp`) and renamed to `<shard>/<name>.data`; shards and names are
 * base32 (upper case). Nothing else is ours to remove.
 */
const TEMP_FILE = /^\.[A-Z2-7]+\.data(\.\d+(\.[0-9a-f]{12}|\.[0-9a-f]{16})?)?\.tmp$/

const BLOCK_FILE = /^[A-Z2-7]+\.data$/
/**
 * Directories this process is collecting garbage in, with the store collecting: only its own puts
 * are seen by the collection, so another store on the directory is refused writes like another process.
 */
const collectingHere = new Map<string, DiskStore>()

/** The smallest read limit of a block file, whatever this store's own `chunkSize`. */
const MAX_READ_BYTES = 64 << 20

/**
 * A store in a local directory, with no daemon: one file per block (`blockstore-fs`'s layout, as
 * Helia's and js-ipfs's on-disk repos), each written to a temporary file and renamed into place, so
 * a crashed process leaves whole blocks or none. Blocks are written on flush: a root returned by
 * `HAMT.flush()` has every block it needs on disk. A full write buffer (`writeBufferBytes`) writes
 * blocks before a flush (and a flush writes every map's buffered blocks): from then until no map of
 * this store has unflushed changes, other processes' garbage collections in it are
 * refused (those blocks are in no root yet), so a map that never flushes holds them off while it lives. IDs equal {@link KuboStore}'s for the same data.
 * A failed write (a full disk) removes its temporary file; those of a process killed while writing
 * are removed by the next `open` once no process is writing. Its largest block is its `chunkSize`, and
 * at least 4 MiB (a gateway's limit): `putBlock` refuses a larger one. It reads block files up to that
 * or 64 MiB, whichever is larger (another store on the directory may have a larger `chunkSize`); a
 * larger file (a stranger's) is not read. Node.js only (import from `ts-hamt/node`).
 *
 * @example
 * ```ts
 * const store = await DiskStore.open('./my-maps')
 * const map = await HAMT.create({ store })
 * await map.set('answer', 42)
 * const root = await map.flush()
 * // later, in another process:
 * const again = await HAMT.open(root, { store: await DiskStore.open('./my-maps') })
 * ```
 */
export class DiskStore extends BlockstoreStore {
  /** The directory's real path (symbolic links resolved). */
  readonly directory: string
  declare readonly blockstore: FsBlockstore

  private constructor(blockstore: CleaningFsBlockstore, options: BlockstoreStoreOptions) {
    super(blockstore, options)
    this.directory = blockstore.path
    this.#unconfirmed = blockstore.unconfirmed
    // This store's own writers (its buffer writes no other store's blocks) and the imports under way on
    // any store of the directory (the collection is shared; an import's puts are in no root until it ends).
    const access = super[collectable]()
    const importing = (): boolean => !access.unsettled()[Symbol.iterator]().next().done
    blockstore.unconfirmed.keepWhile(
      () => unrootedWriter(this.#writers.live()) || importing(),
      () => !this.#writers.live()[Symbol.iterator]().next().done || importing(),
    )
    // Its `chunkSize` (checked by now: a value's largest block), and at least a gateway's 4 MiB (a CAR's).
    this.#maxBlockBytes = Math.max(MAX_BLOCK_BYTES, options.chunkSize ?? 0)
    // Reads allow more: a store opened on the same directory with a larger chunkSize wrote its blocks
    // (an 8 MiB one's 6 MiB block read by a default store); a stranger's huge file is still not read.
    blockstore.maxBlockBytes = Math.max(this.#maxBlockBytes, MAX_READ_BYTES)
  }

  readonly #maxBlockBytes: number
  readonly #unconfirmed: UnconfirmedWrites
  /** A writer collected (its map dropped): a hold kept for what it had in no root may go. */
  readonly #writers = new WriterRegistry(() => this.#unconfirmed.ownerGone())

  /**
   * An import ended: a hold kept for its puts may go now (see UnconfirmedWrites); a failed one's are
   * no one's. Imports on any store of the directory keep holds: each is asked.
   */
  protected override importSettled(kept: boolean): void {
    if (!kept) this.#unconfirmed.ownerGone()
    settleHolds(this.directory)
  }

  /** The largest block this store writes and reads: a larger block file (a stranger's) is not read whole. */
  override get [MAX_PUT_BYTES](): number {
    return this.#maxBlockBytes
  }

  /**
   * The marker checked per put, and once more at a flush's end (a marker lost after the last put: a
   * collection ran meanwhile). Until it passes, the flush's blocks stay buffered: flushing again writes
   * them again. Blocks written before a flush (a full buffer) keep the marker until it passes.
   */
  get [CONFIRM_FLUSH](): FlushConfirmation {
    return this.#unconfirmed
  }

  override get description(): string {
    return `the disk store at ${this.directory}`
  }

  /** Writes the buffered blocks; while it runs, a marker tells other processes' `open` not to clean up. */
  override async flush(options?: AbortOptions): Promise<void> {
    let since: number | undefined
    try {
      since = await beginWriting(this.directory)
      this.#unconfirmed.flushBegan(since)
      // Another process's collection was refused above; another store's of this one is refused here.
      const here = collectingHere.get(this.directory)
      if (here !== undefined && here !== this) {
        throw new StoreError(
          `cannot write to ${this.description}: another store in this process is collecting garbage in it; flush again when it ends`,
        )
      }
      await super.flush(options)
    } finally {
      if (since !== undefined) this.#unconfirmed.flushEnded(since)
      await endWriting(this.directory)
    }
  }

  /**
   * Garbage collection's access: block files listed from the directory, and a lock file that keeps
   * other processes' flushes (and collections) out while it runs.
   */
  override [collectable](): CollectableAccess {
    const access = super[collectable]()
    const { directory, blockstore } = this
    return {
      ...access,
      begin: async (options) => {
        const release = await access.begin(options)
        try {
          await takeCollectorLock(this)
        } catch (error) {
          // A lock the file system refused (a directory in its place, no room): left as it was found.
          if (collectingHere.get(directory) === this) collectingHere.delete(directory)
          await releaseLock(join(directory, GC_LOCK)).catch(() => {})
          await release()
          if (isHamtError(error)) throw error
          throw new StoreError(
            `cannot collect garbage in ${this.description}: its lock file ${GC_LOCK} could not be taken (${(error as Error)?.message ?? String(error)})`,
            { cause: error },
          )
        }
        return async () => {
          collectingHere.delete(directory)
          await releaseLock(join(directory, GC_LOCK))
          await release()
        }
      },
      addWriter: (writer) => {
        access.addWriter(writer)
        this.#writers.add(writer)
      },
      released: (cids) => {
        access.released(cids)
        // A writer's flush or build ended: a hold kept for its changes may go now (see UnconfirmedWrites).
        settleHolds(directory)
      },
      list: (options) => listBlockFiles(directory, options),
      size: async (cid) => {
        const { dir, file } = blockFile(blockstore, cid)
        try {
          return (await stat(join(directory, dir, file))).size
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
          throw error
        }
      },
    }
  }

  /** Opens (and by default creates) the store in `directory`. */
  static async open(directory: string, options: DiskStoreOptions = {}): Promise<DiskStore> {
    if (typeof directory !== 'string' || directory === '') {
      throw new InvalidArgumentError(`directory must be a non-empty path, got ${JSON.stringify(directory)}`)
    }
    const { createIfMissing = true, ...storeOptions } = options
    let blockstore = new CleaningFsBlockstore(directory, { createIfMissing })
    try {
      await blockstore.open()
      // One name per directory: this process's marker and the holds on it are kept per name, so a store
      // opened through a symbolic link removed the marker another store's blocks in no root needed.
      const real = await realpath(blockstore.path)
      if (real !== blockstore.path) {
        blockstore = new CleaningFsBlockstore(real, { createIfMissing })
        await blockstore.open()
      }
      await removeLeftovers(blockstore.path)
    } catch (error) {
      throw new StoreError(`cannot open the disk store at ${directory}: ${(error as Error).message}`, {
        cause: error,
      })
    }
    return new DiskStore(blockstore, storeOptions)
  }
}

/**
 * Removes the temporary files of writers that died, when a marker says one did and no writer is
 * alive now (a live one's temporary files are its blocks in flight). Costs one `readdir` otherwise.
 */
async function removeLeftovers(directory: string): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true })
  // A folder by a marker's name was made by no writer (and `rm` would refuse it): not a marker.
  const markers = entries.filter((entry) => isMarker(entry.name) && !entry.isDirectory())
  // More than any writers could leave: judged by no one (a collection refuses), cleaned up by hand.
  if (markers.length === 0 || markers.length > MAX_MARKERS) return
  for (const marker of markers) {
    if (await isWriterAlive(directory, marker.name)) return
  }
  for (const shard of entries) {
    if (!shard.isDirectory() || !SHARD.test(shard.name)) continue
    const files = await readdir(join(directory, shard.name))
    for (const file of files) {
      if (TEMP_FILE.test(file)) await rm(join(directory, shard.name, file), { force: true })
    }
  }
  for (const marker of markers) await rm(join(directory, marker.name), { force: true })
}

/**
 * Takes the lock file (in place of a dead collector's, see `disk-lock.ts`), then refuses if another
 * process is flushing: a flush writes its marker before it reads the lock, so one of the two sees the other.
 */
async function takeCollectorLock(store: DiskStore): Promise<void> {
  const { directory, description } = store
  const busy = (what: string): StoreError =>
    new StoreError(`cannot collect garbage in ${description}: ${what}; try again when it ends`)
  if (collectingHere.has(directory)) throw busy('this process is collecting garbage in it already')
  const lock = join(directory, GC_LOCK)
  const holder = await takeLock(lock)
  if (holder !== undefined) {
    throw busy(
      isOurs(holder)
        ? 'this process is collecting garbage in it already'
        : `process ${holder.pid ?? '(unknown)'} is collecting garbage in it`,
    )
  }
  collectingHere.set(directory, store)
  // A flush of this process that began before the lock was taken (its marker has our pid).
  if (writingHere(directory)) {
    collectingHere.delete(directory)
    await releaseLock(lock)
    throw busy('a store in this process is writing to it')
  }
  const markers = (await readdir(directory)).filter((name) => isMarker(name) && !isOwnMarker(name))
  const refuse = async (what: string): Promise<never> => {
    collectingHere.delete(directory)
    await releaseLock(lock)
    throw busy(what)
  }
  // Every one judged: a dead writer's own marker (and its temporary files) goes even while others
  // write, or a directory never without a writer piles them up.
  const dead: string[] = []
  let live: string | undefined
  for (const name of markers) {
    if (await isWriterAlive(directory, name)) live ??= name
    else dead.push(name)
  }
  await removeDeadWriters(directory, dead)
  if (live !== undefined) await refuse(`process ${writerPid(live) ?? '(unknown)'} is writing to it`)
}

/** Every block file in the directory, as a raw CID of its multihash (the file name). */
async function* listBlockFiles(directory: string, options: AbortOptions): AsyncIterable<CID> {
  for (const shard of await readdir(directory, { withFileTypes: true })) {
    if (!shard.isDirectory() || !SHARD.test(shard.name)) continue
    options.signal?.throwIfAborted()
    for (const name of await readdir(join(directory, shard.name))) {
      if (!BLOCK_FILE.test(name)) continue
      let cid: CID
      try {
        cid = CID.createV1(rawCode, Digest.decode(base32upper.decode(name.slice(0, -'.data'.length))))
      } catch {
        continue // not a block file of ours
      }
      yield cid
    }
  }
}
