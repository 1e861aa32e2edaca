import { ChunkOutOfBoundsError, describeValue } from '../errors.js'

/** Where a chunk's CID lives: which shard of its array, and which entry of that shard. */
export interface ShardSlot {
  shard: number
  position: number
}

/**
 * The chunk grid of one array and how it is cut into shards: chunks per dimension are
 * `ceil(shape / chunk)`, numbered row-major (last dimension fastest), `chunksPerShard` to a shard.
 * The constructor trusts its input; {@link checkGeometry} is what validates it.
 */
export class ChunkGrid {
  readonly arrayShape: readonly number[]
  readonly chunkShape: readonly number[]
  readonly chunksPerShard: number
  readonly chunksPerDim: readonly number[]
  readonly totalChunks: number
  readonly shardCount: number

  constructor(arrayShape: readonly number[], chunkShape: readonly number[], chunksPerShard: number) {
    this.arrayShape = [...arrayShape]
    this.chunkShape = [...chunkShape]
    this.chunksPerShard = chunksPerShard
    this.chunksPerDim = arrayShape.map((size, i) => Math.ceil(size / (chunkShape[i] as number)))
    this.totalChunks = this.chunksPerDim.reduce((product, n) => product * n, 1)
    this.shardCount = this.totalChunks === 0 ? 0 : Math.ceil(this.totalChunks / chunksPerShard)
  }

  /** The same chunk shape and shard size over a new array shape. */
  withShape(arrayShape: readonly number[]): ChunkGrid {
    return new ChunkGrid(arrayShape, this.chunkShape, this.chunksPerShard)
  }

  /** True when `coords` has this grid's rank and every coordinate is inside it. */
  contains(coords: readonly number[]): boolean {
    return (
      coords.length === this.chunksPerDim.length &&
      coords.every((c, i) => Number.isSafeInteger(c) && c >= 0 && c < (this.chunksPerDim[i] as number))
    )
  }

  /** Throws {@link ChunkOutOfBoundsError} (naming `key`) unless `coords` is inside the grid. */
  assertContains(coords: readonly number[], key: string): void {
    if (coords.length !== this.chunksPerDim.length) {
      throw new ChunkOutOfBoundsError(
        key,
        `${coords.length} coordinates for an array of rank ${this.chunksPerDim.length}`,
      )
    }
    coords.forEach((c, i) => {
      const size = this.chunksPerDim[i] as number
      if (!(c >= 0 && c < size)) {
        throw new ChunkOutOfBoundsError(key, `coordinate ${c} of dimension ${i} is outside 0..${size - 1}`)
      }
    })
  }

  /** The row-major number of the chunk at `coords` (assumed inside the grid). */
  linearIndex(coords: readonly number[]): number {
    let index = 0
    for (let i = 0; i < coords.length; i++)
      index = index * (this.chunksPerDim[i] as number) + (coords[i] as number)
    return index
  }

  /** The coordinates of the chunk numbered `index`. */
  coordsOf(index: number): number[] {
    const coords = new Array<number>(this.chunksPerDim.length)
    let rest = index
    for (let i = this.chunksPerDim.length - 1; i >= 0; i--) {
      const size = this.chunksPerDim[i] as number
      coords[i] = rest % size
      rest = Math.floor(rest / size)
    }
    return coords
  }

  /** The shard and entry of the chunk at `coords`. */
  slotOf(coords: readonly number[]): ShardSlot {
    const index = this.linearIndex(coords)
    return { shard: Math.floor(index / this.chunksPerShard), position: index % this.chunksPerShard }
  }
}

const isNonNegativeInt = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/**
 * True for an array of safe integers of at least `min`. A hole is no integer (`every` skips holes,
 * so `new Array(2)` would pass and `new Array(2 ** 32 - 1)` would take minutes): the first one ends it.
 */
export function isIntegerList(value: unknown, min = 0): value is number[] {
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) if (!isNonNegativeInt(value[i]) || value[i] < min) return false
  return true
}

/**
 * A shape or offset as it is at the call (a call waiting its turn must not see the caller's later
 * changes). Anything but integers is returned as given, for the check that refuses it: a copy stops
 * at the first non-integer, so an array of 2^32-1 holes costs nothing.
 */
export function atCall(value: readonly number[]): readonly number[] {
  if (!Array.isArray(value)) return value
  const copy: number[] = []
  for (const n of value) {
    if (!Number.isSafeInteger(n)) return value
    copy.push(n)
  }
  return copy
}

/**
 * Upper bound on `chunks_per_shard` and on an array's shard count. A shard lists every entry and
 * the root lists every shard, at least one byte each, and each is one block: IPFS blocks stay
 * within 2 MiB (bitswap's limit) and our readers take at most 4 MiB, so nothing above 4 Mi
 * entries can ever be read. The bound also keeps chunk numbers (< 2^44) exact as doubles.
 */
export const MAX_SHARD_ENTRIES = 1 << 22

/**
 * Why these shapes cannot form a grid, or undefined when they can: shapes must be arrays of
 * integers of the same rank, array sizes >= 0, chunk sizes and `chunksPerShard` > 0, and neither
 * `chunksPerShard` nor the number of shards may pass {@link MAX_SHARD_ENTRIES}.
 */
export function checkGeometry(
  arrayShape: unknown,
  chunkShape: unknown,
  chunksPerShard: unknown,
): string | undefined {
  if (!isIntegerList(arrayShape)) {
    return `array_shape must be a list of non-negative integers, got ${describeShape(arrayShape)}`
  }
  if (!isIntegerList(chunkShape, 1)) {
    return `chunk_shape must be a list of positive integers, got ${describeShape(chunkShape)}`
  }
  if (arrayShape.length !== chunkShape.length) {
    return `array_shape (rank ${arrayShape.length}) and chunk_shape (rank ${chunkShape.length}) differ in rank`
  }
  if (!isNonNegativeInt(chunksPerShard) || chunksPerShard === 0 || chunksPerShard > MAX_SHARD_ENTRIES) {
    return `chunks_per_shard must be an integer in 1..${MAX_SHARD_ENTRIES}, got ${describeShape(chunksPerShard)}`
  }
  // Multiplied with a ceiling so that an absurd grid stops early instead of losing precision.
  const maxChunks = chunksPerShard * MAX_SHARD_ENTRIES
  if (arrayShape.includes(0)) return undefined
  let total = 1
  for (let i = 0; i < arrayShape.length; i++) {
    total *= Math.ceil((arrayShape[i] as number) / (chunkShape[i] as number))
    if (total > maxChunks) {
      return `the grid of array_shape ${describeShape(arrayShape)} over chunk_shape ${describeShape(chunkShape)} needs more than ${MAX_SHARD_ENTRIES} shards of ${chunksPerShard} chunks`
    }
  }
  return undefined
}

/**
 * A shape (or any argument) for a message, cut short: a hostile one may be long (a length of 2^32-1
 * holes), cyclic or not JSON at all. Only its first entries are written out.
 */
export function describeShape(value: unknown): string {
  const long = Array.isArray(value) && value.length > 8
  let text: string
  try {
    text = JSON.stringify(long ? value.slice(0, 8) : value) ?? String(value)
    if (long) text = `${text.slice(0, -1)},... (${value.length} entries)]`
  } catch {
    text = describeValue(value)
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
