import type { CID } from 'multiformats/cid'
import { copyBytes } from '../cas/id.js'
import type { AbortOptions } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { isMetadataKey, normalizePath } from '../zarr/keys.js'
import { ChunkGrid, checkGeometry } from './geometry.js'
import { arrayPathOfMetadataKey } from './keys.js'
import type { ShardLayout } from './layout.js'
import {
  arrayGeometryOf,
  declaredShape,
  groupPathOfMetadataKey,
  isJsonObject,
  V2_GROUP_JSON,
  V3_GROUP_JSON,
} from './metadata.js'
import { dumpPyJson, type PyJson, parsePyJson } from './pyjson.js'
import type { ShardTable } from './shard-table.js'
import { saveForCid } from './typed-store.js'

const V2_GROUP_REQUIRED =
  'sharded_zarr_v2 writes need an explicit Zarr group (as py-hamt 3.6.0): put arrays under a group such as "0/temp", ' +
  'not at the top level after a root group'

/**
 * Writes to the root's metadata map as py-hamt 3.6.0 does, so that the same writes give the same
 * root: array documents register (or resize) shard indexes, v2 adds missing parent groups and
 * refuses top-level arrays after a root group, and written metadata is kept for reads.
 */
export class MetadataWriter {
  readonly #table: ShardTable
  readonly #readCache = new Map<string, Uint8Array>()
  /** v2: a root group document was just written, so a top-level array next is refused. */
  #rootGroupPending = false

  constructor(table: ShardTable) {
    this.#table = table
  }

  /** The layout of the root now (a migration changes it). */
  get #layout(): ShardLayout {
    return this.#table.root.layout
  }

  cached(key: string): Uint8Array | undefined {
    return this.#readCache.get(key)
  }

  /**
   * Sets a metadata key from its bytes. Every block is saved before the root changes, so a
   * failed write changes nothing (a registration's own loads come before its changes too).
   */
  async set(key: string, value: Uint8Array): Promise<void> {
    const bytes = this.#stripRootConsolidated(key, value)
    const json = parsePyJson(bytes)
    const rootGroupPending = this.#checkGroupRule(key, json)
    const cid = await saveForCid(this.#table.store, bytes, 'raw')
    const groups = await this.#saveMissingParentGroups(key)
    await this.register(key, json)
    this.#recordGroups(groups)
    this.record(key, cid)
    // Only a write that succeeded moves the rule on.
    this.#rootGroupPending = rootGroupPending
    if (isMetadataKey(key)) this.#readCache.set(key, copyBytes(bytes))
  }

  /** Sets a metadata key to an existing block (the converter's path): registers arrays from its content. */
  async setPointer(key: string, cid: CID): Promise<void> {
    let pointer = cid
    if (this.#layout.indexPerArray) {
      const bytes = await this.#table.store.load(cid)
      const stripped = this.#stripRootConsolidated(key, bytes)
      if (stripped !== bytes) pointer = await saveForCid(this.#table.store, stripped, 'raw')
    }
    const isArray = arrayPathOfMetadataKey(key) !== undefined
    const json = isArray ? parsePyJson(await this.#table.store.load(pointer)) : undefined
    const groups = await this.#saveMissingParentGroups(key)
    if (isArray) await this.register(key, json)
    this.#recordGroups(groups)
    this.record(key, pointer)
    this.#readCache.delete(key)
  }

  record(key: string, cid: CID): void {
    this.#readCache.delete(key)
    this.#table.root.recordMetadata(key, cid)
  }

  /** Removes a key from the metadata map; true when it was there. */
  forget(key: string): boolean {
    this.#readCache.delete(key)
    return this.#table.root.forgetMetadata(key)
  }

  clearCache(): void {
    this.#readCache.clear()
  }

  /** An array document registers its index (v2) or resizes the store when its shape changed (v1). */
  async register(key: string, json: PyJson | undefined, options?: AbortOptions): Promise<void> {
    const path = arrayPathOfMetadataKey(key)
    if (path === undefined || !isJsonObject(json)) return
    const state = this.#table.state
    const geometry = arrayGeometryOf(json)
    if (!this.#layout.indexPerArray) {
      const shape = geometry?.shape ?? declaredShape(json)
      const index = state.arrays.get('')
      if (shape === undefined || index === undefined) return
      // Compared with py-hamt's shape, not the index's: they differ once a named array is primary.
      const current = this.#table.root.documentShape
      if (shape.length === current.length && shape.some((n, i) => n !== current[i]))
        await this.#table.resize(index, shape, options)
      return
    }
    if (geometry === undefined) return
    const arrayPath = normalizePath(path)
    const existing = state.arrays.get(arrayPath)
    if (existing === undefined) {
      const chunksPerShard = this.#defaultChunksPerShard()
      const problem = checkGeometry(geometry.shape, geometry.chunkShape, chunksPerShard)
      if (problem !== undefined) throw new InvalidArgumentError(`${key}: ${problem}`)
      this.#table.root.registerArray(
        arrayPath,
        new ChunkGrid(geometry.shape, geometry.chunkShape, chunksPerShard),
      )
      return
    }
    if (
      geometry.chunkShape.some((n, i) => n !== existing.grid.chunkShape[i]) ||
      geometry.chunkShape.length !== existing.grid.chunkShape.length
    ) {
      throw new InvalidArgumentError(
        `${key}: cannot change the chunk shape of the sharded array ${JSON.stringify(arrayPath)}`,
      )
    }
    if (geometry.shape.some((n, i) => n !== existing.grid.arrayShape[i]))
      await this.#table.resize(existing, geometry.shape, options)
  }

  #defaultChunksPerShard(): number {
    const state = this.#table.state
    const { path } = this.#table.root.primary
    const primary = path === undefined ? undefined : state.arrays.get(path)
    if (primary !== undefined) return primary.grid.chunksPerShard
    const config = state.extras.root.sharding_config as Record<string, unknown> | undefined
    const value = config?.chunks_per_shard
    if (typeof value !== 'number')
      throw new InvalidArgumentError('the v2 root has no default chunks_per_shard')
    return value
  }

  /**
   * Refuses a write the root-group rule forbids (which, as in py-hamt, ends the rule: the same write
   * again is taken); else the rule's state once the write succeeds.
   */
  #checkGroupRule(key: string, json: PyJson | undefined): boolean {
    const pending = this.#rootGroupPending
    if (!this.#layout.indexPerArray || !isJsonObject(json)) return pending
    const groupPath = groupPathOfMetadataKey(key)
    const arrayPath = arrayPathOfMetadataKey(key)
    const geometry = arrayGeometryOf(json)
    if (groupPath !== undefined && geometry === undefined) return groupPath === ''
    if (arrayPath === undefined || geometry === undefined) return pending
    if (!normalizePath(arrayPath).includes('/') && pending) {
      this.#rootGroupPending = false
      throw new InvalidArgumentError(`${key}: ${V2_GROUP_REQUIRED}`)
    }
    return false
  }

  /** v2 with every array in groups: the root group must not carry consolidated metadata (py-hamt drops it). */
  #stripRootConsolidated(key: string, bytes: Uint8Array): Uint8Array {
    const state = this.#table.state
    if (key !== 'zarr.json' || !this.#layout.indexPerArray || state.arrays.size === 0) return bytes
    if ([...state.arrays.keys()].some((path) => !path.includes('/'))) return bytes
    const json = parsePyJson(bytes)
    if (!isJsonObject(json) || json.get('node_type') !== 'group' || !json.has('consolidated_metadata'))
      return bytes
    const stripped = new Map(json)
    stripped.delete('consolidated_metadata')
    return dumpPyJson(stripped)
  }

  /** v2: saves the group documents missing above an array document (py-hamt adds them); recorded by {@link MetadataWriter.#recordGroups}. */
  async #saveMissingParentGroups(key: string): Promise<[string, CID, Uint8Array][]> {
    const state = this.#table.state
    const path = arrayPathOfMetadataKey(key)
    const groups: [string, CID, Uint8Array][] = []
    if (!this.#layout.indexPerArray || path === undefined) return groups
    const classic = key === '.zarray' || key.endsWith('/.zarray')
    const parts = normalizePath(path).split('/')
    const parents = [''].concat(
      path === '' ? [] : parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/')),
    )
    for (const parent of parents) {
      const name = classic ? '.zgroup' : 'zarr.json'
      const groupKey = parent === '' ? name : `${parent}/${name}`
      if (state.metadata.has(groupKey)) continue
      const document = classic ? V2_GROUP_JSON : V3_GROUP_JSON
      groups.push([groupKey, await saveForCid(this.#table.store, document, 'raw'), document])
    }
    return groups
  }

  #recordGroups(groups: readonly [string, CID, Uint8Array][]): void {
    for (const [groupKey, cid, document] of groups) {
      this.record(groupKey, cid)
      this.#readCache.set(groupKey, document.slice())
    }
  }
}
