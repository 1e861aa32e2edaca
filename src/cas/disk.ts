import { FsBlockstore } from 'blockstore-fs'
import { InvalidArgumentError, StoreError } from '../errors.js'
import { BlockstoreStore, type BlockstoreStoreOptions } from './blockstore.js'

export interface DiskStoreOptions extends BlockstoreStoreOptions {
  /** Create the directory when it does not exist; default true. */
  createIfMissing?: boolean
}

/**
 * A store in a local directory, with no daemon: one file per block (`blockstore-fs`'s layout, as
 * Helia's and js-ipfs's on-disk repos), each written to a temporary file and renamed into place, so
 * a crashed process leaves whole blocks or none. Blocks are written on flush: a root returned by
 * `HAMT.flush()` has every block it needs on disk. IDs equal {@link KuboStore}'s for the same data.
 * Node.js only (import from `ts-hamt/node`).
 *
 * @example
 * ```ts
 * const store = await DiskStore.open('./my-maps')
 * const map = await HAMT.create({ store })
 * await map.set('answer', 42)
 * const root = await map.flush()
 * // later, in another process:
 * const again = await HAMT.open(root, { store: await DiskStore.open('./my-maps'), readOnly: true })
 * ```
 */
export class DiskStore extends BlockstoreStore {
  readonly directory: string
  declare readonly blockstore: FsBlockstore

  private constructor(blockstore: FsBlockstore, options: BlockstoreStoreOptions) {
    super(blockstore, options)
    this.directory = blockstore.path
  }

  override get description(): string {
    return `the disk store at ${this.directory}`
  }

  /** Opens (and by default creates) the store in `directory`. */
  static async open(directory: string, options: DiskStoreOptions = {}): Promise<DiskStore> {
    if (typeof directory !== 'string' || directory === '') {
      throw new InvalidArgumentError(`directory must be a non-empty path, got ${JSON.stringify(directory)}`)
    }
    const { createIfMissing = true, ...storeOptions } = options
    const blockstore = new FsBlockstore(directory, { createIfMissing })
    try {
      await blockstore.open()
    } catch (error) {
      throw new StoreError(`cannot open the disk store at ${directory}: ${(error as Error).message}`, {
        cause: error,
      })
    }
    return new DiskStore(blockstore, storeOptions)
  }
}
