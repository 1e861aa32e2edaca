import { InvalidArgumentError } from '../errors.js'

/**
 * How a read-only {@link ShardedZarrStore} finds a chunk's CID in a shard it has not cached
 * (py-hamt 3.6.0's `shard_read_mode`, same names; our default is `'full'`, py-hamt's `'auto'`):
 * - `'full'` (default): load the shard, decode all its entries and cache them. Decoding a whole
 *   6250-entry shard takes ~10 ms here (py-hamt ~800 ms, hence its sparse default), and a cached
 *   shard serves every later read of it: with `'auto'`, point reads made one after another (a
 *   viewer's clicks) load the same shard block again for each of the first 255.
 * - `'sparse'`: load the shard and decode only the entry needed; nothing is cached, so each read
 *   loads the shard again (concurrent reads of one shard share one load).
 * - `'auto'` (py-hamt's default): sparse, until one shard has been read 256 times; from then on the whole
 *   store reads full (the caller is scanning).
 *
 * The shard is always loaded whole and verified as the store verifies any block: a byte range of a
 * shard cannot be checked against the shard's CID, so sparse reads never trust one (see the
 * README's "Untrusted data"). A writable store always reads full, so its unsaved writes are seen.
 */
export type ShardReadMode = 'full' | 'sparse' | 'auto'

const MODES: readonly ShardReadMode[] = ['full', 'sparse', 'auto']

/** Reads of one shard after which `auto` switches the store to full reads (py-hamt's `_SPARSE_PROMOTE_THRESHOLD`). */
export const SPARSE_PROMOTE_THRESHOLD = 256

export function checkShardReadMode(value: unknown): ShardReadMode {
  if (value === undefined) return 'full'
  if (typeof value === 'string' && (MODES as readonly string[]).includes(value)) return value as ShardReadMode
  throw new InvalidArgumentError(
    `options.shardReadMode must be 'full', 'sparse' or 'auto', got ${JSON.stringify(value) ?? String(value)}`,
  )
}

/**
 * Decides, read by read, whether a shard miss is read sparse or full. `auto` counts sparse reads
 * per shard and latches the whole store to full once one shard reaches the threshold; the latch
 * is permanent. Counting is synchronous, so concurrent reads cannot lose a count.
 */
export class ShardReadPolicy {
  readonly mode: ShardReadMode
  readonly #counts = new Map<string, number>()
  #latched = false

  constructor(mode: ShardReadMode) {
    this.mode = mode
  }

  /** True once reads are full: mode `full`, or `auto` after it latched. */
  get readsFull(): boolean {
    return this.mode === 'full' || this.#latched
  }

  /** Records one read of shard `key` that missed the cache; true when it is to be read sparse. */
  sparse(key: string): boolean {
    if (this.mode === 'sparse') return true
    if (this.readsFull) return false
    const count = (this.#counts.get(key) ?? 0) + 1
    if (count >= SPARSE_PROMOTE_THRESHOLD) {
      this.#latched = true
      this.#counts.clear()
      return false
    }
    this.#counts.set(key, count)
    return true
  }
}
