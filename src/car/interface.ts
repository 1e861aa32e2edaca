import type { CID } from 'multiformats/cid'
import type { AbortOptions, StoreId } from '../cas/interface.js'

/** A store that hands out whole blocks by CID: BlockstoreStore, DiskStore, KuboStore, TrustlessGatewayStore. */
export interface BlockSource {
  getBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array>
}

/** A store that takes whole blocks under their CIDs: BlockstoreStore, DiskStore, KuboStore. */
export interface BlockSink {
  putBlock(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /** Whether the block is already held; a CAR may leave out blocks the target has. */
  hasBlock?(cid: CID, options?: AbortOptions): Promise<boolean>
  flush?(options?: AbortOptions): Promise<void>
}

/** A CAR for `importCar`: all its bytes (checked in full before any block is added), or a stream of them. */
export type CarSource = Uint8Array | AsyncIterable<Uint8Array>

/** Counts so far, passed to `onProgress` after every block. */
export interface CarProgress {
  blocks: number
  bytes: number
}

export interface ExportCarOptions extends AbortOptions {
  /** Blocks fetched at once while walking the DAG; default 16. */
  concurrency?: number
  /**
   * A root the receiver already holds (yesterday's version): the CAR then holds only the blocks
   * reachable from `root` and not from `base`, and the walk skips every block both reach.
   */
  base?: StoreId | string
  /**
   * With `base`: also leave out blocks that `root` reaches through new blocks and `base` only
   * through shared ones (one value under an old and a new key), at the cost of walking all of
   * `base`. Default false: the walk follows the size of the change, and such blocks are sent again.
   */
  exact?: boolean
  onProgress?: (progress: CarProgress) => void
}

export interface ImportCarOptions extends AbortOptions {
  onProgress?: (progress: CarProgress) => void
  /**
   * The largest block a CAR given as a stream may carry (each is read whole before it is checked):
   * one declared larger is refused (`ERR_INVALID_VALUE`) before more of it is read. Default the
   * target's own limit (a DiskStore's chunkSize) or 4 MiB, whichever is larger; a regular file's
   * blocks (`importCarFile`) are bounded by its size instead.
   */
  maxBlockBytes?: number
}
