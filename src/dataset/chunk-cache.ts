// Decoded chunks kept across the reads of one dataset: a byte-bounded LRU shared by all its
// variables and views, and one load per chunk however many reads want it at once. A read that
// fails or is aborted leaves nothing behind: only decoded chunks are kept.
import * as zarr from 'zarrita'
import { ByteLru } from '../util/byte-lru.js'
import { SingleFlight } from '../util/single-flight.js'

type Chunk = zarr.Chunk<zarr.DataType>
type AnyArray = zarr.Array<zarr.DataType, zarr.Readable>

/** Decoded chunks by array and chunk coordinates. */
export class ChunkCache {
  readonly #chunks: ByteLru<string, Chunk>
  readonly #loads = new SingleFlight<string, Chunk>()

  constructor(maxBytes: number) {
    this.#chunks = new ByteLru(maxBytes)
  }

  /** `array` with its chunk reads going through the cache, under `name` (unique in the dataset). */
  wrap<A extends AnyArray>(array: A, name: string): A {
    return withChunkCache(array as AnyArray, { cache: this, name }) as unknown as A
  }

  /**
   * Drops the chunks of `name` at each of `coords`: a coordinate's, read whole at open, whose index
   * holds their values (kept, they would crowd out data chunks).
   */
  forget(name: string, coords: Iterable<readonly number[]>): void {
    for (const at of coords) this.#chunks.delete(chunkKey(name, at))
  }

  /** A chunk from the cache, or loaded once by `load` for every caller asking meanwhile. */
  get(
    key: string,
    load: (signal: AbortSignal | undefined) => Promise<Chunk>,
    signal?: AbortSignal,
  ): Promise<Chunk> {
    return this.#loads.run(
      key,
      async (runSignal) => {
        const chunk = await load(runSignal)
        const data = chunk.data as unknown
        // Numbers and bools only: a chunk of strings or objects has no byte size to budget.
        if (ArrayBuffer.isView(data) || data instanceof zarr.BoolArray)
          this.#chunks.set(key, chunk, data.byteLength)
        return chunk
      },
      signal,
      () => this.#chunks.get(key),
    )
  }
}

/** The cache's key of the chunk at `coords` of the array cached under `name`. */
const chunkKey = (name: string, coords: readonly number[]): string => `${name}\u0000${coords.join(',')}`

const withChunkCache = zarr.defineArrayExtension(
  (array: AnyArray, { cache, name }: { cache: ChunkCache; name: string }) => ({
    getChunk(coords: number[], options?: { signal?: AbortSignal }, opts?: unknown): Promise<Chunk> {
      // zarrita asks with `useSharedArrayBuffer` only when told to; such reads bypass the cache.
      if (opts !== undefined && (opts as { useSharedArrayBuffer?: boolean }).useSharedArrayBuffer === true) {
        return array.getChunk(coords, options, opts as never)
      }
      return cache.get(
        chunkKey(name, coords),
        (signal) => array.getChunk(coords, { ...options, signal }),
        options?.signal,
      )
    },
  }),
)
