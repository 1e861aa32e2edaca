import type { CID } from 'multiformats/cid'
import type { AbortOptions } from '../cas/interface.js'

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
  onProgress?: (progress: CarProgress) => void
}

export interface ImportCarOptions extends AbortOptions {
  onProgress?: (progress: CarProgress) => void
}
