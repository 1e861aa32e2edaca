// The disk store's blockstore: blockstore-fs with files of this process's own while a block is
// written, bounded reads, and the writer marker held by every put (see `disk-markers.ts`).
// Node-only: imported only by the disk store.
import { type FileHandle, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import type { CID } from 'multiformats/cid'
import { StoreError } from '../errors.js'
import { COLLECTION_KEY } from './blockstore.js'
import { UnconfirmedWrites } from './disk-holds.js'
import { leftOver } from './disk-leftovers.js'
import { MARKER_TOKEN } from './disk-marker-names.js'
import { beginWriting, endWriting, heldMarker } from './disk-markers.js'
import { MAX_BLOCK_BYTES } from './gateway.js'
import type { AbortOptions } from './interface.js'
import { openRegularFile, readUpTo } from './regular-file.js'

/** The temporary file this process writes the block file `path` to. */
export function temporaryFile(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${MARKER_TOKEN}.tmp`)
}

/** Where blockstore-fs keeps a block (a runtime field of FsBlockstore that its types mark private). */
export function blockFile(blockstore: FsBlockstore, cid: CID): { dir: string; file: string } {
  const sharding = (
    blockstore as unknown as { shardingStrategy: { encode(cid: CID): { dir: string; file: string } } }
  ).shardingStrategy
  return sharding.encode(cid)
}

/**
 * An FsBlockstore that removes a block's temporary file when writing the block fails (a full disk),
 * and reads a block file whole only when it is a regular file no larger than the store's largest
 * block: one linked to a device or made a FIFO (a stranger's directory) would be read without end,
 * a huge one (sparse: no disk) whole into memory.
 */
export class CleaningFsBlockstore extends FsBlockstore {
  override async *get(key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    const { dir, file } = blockFile(this, key)
    const path = join(this.path, dir, file)
    options?.signal?.throwIfAborted()
    let handle: FileHandle | undefined
    try {
      handle = await openRegularFile(path)
    } catch (error) {
      // As blockstore-fs reports it (interface-store's NotFoundError, by name; the store reads the code in it).
      throw Object.assign(new Error(String(error), { cause: error }), { name: 'NotFoundError' })
    }
    if (handle === undefined)
      throw new StoreError(`the block file ${path} is not a regular file: it is not read`)
    try {
      const { size } = await handle.stat()
      if (size > this.maxBlockBytes) {
        throw new StoreError(
          `the block file ${path} is ${size} bytes, more than the ${this.maxBlockBytes} a block of this store can be: it is not read (a DiskStore opened with a larger chunkSize writes such blocks: open this directory with chunkSize >= ${size})`,
        )
      }
      yield await readUpTo(handle, size)
    } finally {
      await handle.close()
    }
  }

  /** Every store on this directory in this process shares one collection (a GC sees their puts and writers). */
  get [COLLECTION_KEY](): object {
    const key = directoryKeys.get(this.path) ?? {}
    directoryKeys.set(this.path, key)
    return key
  }

  /** The blocks this store wrote that no flush has confirmed yet: they keep the marker (see `disk-markers.ts`). */
  readonly unconfirmed = new UnconfirmedWrites(this.path)

  /** The largest block file read (see {@link DiskStore}'s `chunkSize`); set by the store. */
  maxBlockBytes = MAX_BLOCK_BYTES

  /**
   * blockstore-fs's put, with a temporary file of this process's own: its `.<name>.tmp` is every
   * writer's of the block, so another process's failed put removed (or its write cut short) this one's
   * (also with a pid alone: two containers' pid 1).
   */
  override async put(key: CID, value: BlockValue, options?: AbortOptions): Promise<CID> {
    // A full write buffer writes without `flush()`: each put marks this process a writer and keeps
    // out of another process's collection, as a flush does (else the collection deletes its block).
    let began = false
    let stored = false
    try {
      const since = await beginWriting(this.path)
      this.unconfirmed.wrote()
      began = true
      await this.#put(key, value, since, options)
      stored = true
      return key
    } finally {
      if (began) this.unconfirmed.putEnded(stored)
      await endWriting(this.path, { linger: true })
    }
  }

  async #put(key: CID, value: BlockValue, since: number, options?: AbortOptions): Promise<CID> {
    const { dir, file } = blockFile(this, key)
    const temporary = temporaryFile(join(this.path, dir, file))
    // One put at a time per temporary file: two stores of this process may write the same block.
    for (let other = writing.get(temporary); other !== undefined; other = writing.get(temporary))
      await other.catch(() => {})
    // Settled once its temporary file is gone too: only then may the next put of the block begin.
    const put = writeBlockFile(temporary, join(this.path, dir, file), value, options).catch(async (error) => {
      await rm(temporary, { force: true }).catch((failure: unknown) => {
        // No shard folder (or a file in its place): no temporary file was made either.
        if ((failure as NodeJS.ErrnoException).code !== 'ENOTDIR') leftOver(this.path).add(temporary)
      })
      // As blockstore-fs reports it (interface-store's PutFailedError, by name).
      throw Object.assign(new Error(String(error), { cause: error }), { name: 'PutFailedError' })
    })
    writing.set(temporary, put)
    try {
      await put
    } finally {
      // Out before any other await: a put of the same block waiting on this settled one loops on it
      // without yielding (an await here starved the I/O it waited for: hostile.disk-left10 hung).
      writing.delete(temporary)
    }
    // Its marker held throughout, or a collection may have deleted blocks this flush wrote before.
    await heldMarker(this.path, since)
    return key
  }
}

type BlockValue = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>
/** The temporary block files this process is writing, with their puts. */
const writing = new Map<string, Promise<void>>()

/**
 * Writes `temporary` and renames it to `path` (its shard folder made if missing). An abort stops the
 * write between pieces (512 KiB, or the iterable's) and before the rename: no block appears.
 */
async function writeBlockFile(temporary: string, path: string, value: BlockValue, options?: AbortOptions) {
  const signal = options?.signal
  signal?.throwIfAborted()
  await mkdir(dirname(path), { recursive: true })
  await writeFile(temporary, value, { signal })
  signal?.throwIfAborted()
  await rename(temporary, path).catch(async (error: NodeJS.ErrnoException) => {
    // Windows refuses to replace a block file open elsewhere: one renamed into place, as blockstore-fs takes it.
    const present = error.code === 'EPERM' && (await stat(path).catch(() => undefined)) !== undefined
    if (!present) throw error
    await rm(temporary, { force: true })
  })
}

/** One collection key per directory (its resolved path) for the life of the process. */
const directoryKeys = new Map<string, object>()
