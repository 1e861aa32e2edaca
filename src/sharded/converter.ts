import { CID } from 'multiformats/cid'
import { formatId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore } from '../cas/interface.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import type { HAMT } from '../hamt/hamt.js'
import { chunkKey, isDecimal, isMetadataKey } from '../zarr/keys.js'
import type { ConversionProgress } from './interface.js'
import { SHARDED_V2 } from './interface.js'
import { ShardedZarrStore } from './store.js'

export interface ConvertOptions extends AbortOptions {
  /** Chunk CIDs per shard; default 6250 (py-hamt's converter default). */
  chunksPerShard?: number
  /** Called as keys are copied (every `progressEvery` keys and at the end of each phase). */
  onProgress?: (progress: ConversionProgress) => void
  /** Default 200. */
  progressEvery?: number
  /** Shard cache bound of the new store. */
  cacheBytes?: number
}

/** The Zarr v3 chunk key of a HAMT key: v3 keys as they are, Zarr v2 keys (`t/0.1`, `t/0/1`) rewritten. */
function v3ChunkKey(
  key: string,
  arrays: { arrays(): { path: string; chunkShape: number[] }[] },
): string | undefined {
  if (isMetadataKey(key)) return undefined
  const slash = key.lastIndexOf('/')
  const [arrayPath, last] = slash === -1 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)]
  if (last.includes('.')) {
    const parts = last.split('.')
    if (parts.every(isDecimal)) return chunkKey(arrayPath, parts.map(Number))
  }
  const byLongestPath = arrays.arrays().sort((a, b) => b.path.length - a.path.length)
  for (const { path, chunkShape } of byLongestPath) {
    const prefix = path === '' ? '' : `${path}/`
    if (!key.startsWith(prefix)) continue
    const parts = key.slice(prefix.length).split('/')
    if (parts.length === chunkShape.length && parts.every(isDecimal)) return chunkKey(path, parts.map(Number))
  }
  if (key.startsWith('c/') || key.includes('/c/')) return key
  return undefined
}

function asCid(key: string, pointer: unknown): CID {
  const cid = CID.asCID(pointer)
  if (cid === null) {
    const shown = pointer instanceof Uint8Array ? formatId(pointer) : String(pointer)
    throw new InvalidValueError(
      `key ${JSON.stringify(key)} points to ${shown}, not a CID: the source HAMT must live on a CID store`,
    )
  }
  return cid
}

/**
 * Converts a Zarr stored in a HAMT (as {@link ZarrHAMTStore} or py-hamt write it) into a v2 sharded
 * Zarr, as py-hamt's `convert_hamt_to_sharded`: every chunk keeps its CID (nothing is uploaded
 * again but the shards and the root), so `target` must be able to read the source's blocks (the
 * same Kubo, typically). Returns the new root CID.
 *
 * @example
 * ```ts
 * const kubo = new KuboStore({ rpcUrl, gateways: gatewayUrl })
 * const hamt = await HAMT.open<Uint8Array>(hamtRoot, { store: kubo, valuesAreBytes: true })
 * const shardedRoot = await convertHamtToSharded(hamt, kubo, {
 *   chunksPerShard: 6250,
 *   onProgress: ({ phase, done, total }) => console.log(phase, done, total),
 * })
 * ```
 */
export async function convertHamtToSharded(
  source: HAMT<Uint8Array>,
  target: ContentAddressedStore,
  options: ConvertOptions = {},
): Promise<CID> {
  const chunksPerShard = options.chunksPerShard ?? 6250
  const every = options.progressEvery ?? 200
  if (!Number.isSafeInteger(every) || every <= 0) {
    throw new InvalidArgumentError(`progressEvery must be a positive integer, got ${String(every)}`)
  }
  const dest = await ShardedZarrStore.create({
    store: target,
    chunksPerShard,
    manifestVersion: SHARDED_V2,
    ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
  })
  const total = await source.size(options)
  let done = 0
  const report = (phase: ConversionProgress['phase'], force = false): void => {
    if (options.onProgress !== undefined && (force || done % every === 0))
      options.onProgress({ phase, done, total })
  }
  // Metadata first, so every array registers its index before its chunks arrive.
  for await (const [key, pointer] of source.pointers(options)) {
    if (!isMetadataKey(key)) continue
    await dest.setPointer(key, asCid(key, pointer))
    done++
    report('metadata')
  }
  report('metadata', true)
  for await (const [key, pointer] of source.pointers(options)) {
    const target = v3ChunkKey(key, dest)
    if (target === undefined) {
      if (isMetadataKey(key)) continue
      throw new InvalidValueError(`cannot classify the Zarr key ${JSON.stringify(key)} as metadata or chunk`)
    }
    await dest.setPointer(target, asCid(key, pointer))
    done++
    report('chunks')
  }
  report('chunks', true)
  report('flush', true)
  return dest.flush(options)
}
