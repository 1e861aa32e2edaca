import type { CID } from 'multiformats/cid'
import { formatId, sameId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { InvalidArgumentError } from '../errors.js'
import { callStore } from '../hamt/loader.js'
import { type KeyChange, type MergeEdit, type MergeResolver, mergeCheckOf, planMerge } from '../hamt/merge.js'
import { diffShardedRoots } from './diff.js'
import type { RootState } from './interface.js'
import { saveForCid } from './shard-table.js'
import { ShardedZarrStore } from './store.js'

export interface ShardedMergeOptions extends AbortOptions {
  store: ContentAddressedStore
  resolve?: MergeResolver<Uint8Array> | undefined
}

/**
 * Three-way merge of sharded roots (py-hamt's ShardedZarrStore), decoded: metadata entries and chunk
 * entries compared by CID (shards with one CID on both sides skipped, as in the diff), the smaller
 * side's changes written onto the other through `ShardedZarrStore.setPointer`, then flushed. The
 * root is the one a single writer of both change sets gives, for roots of one manifest version.
 */
export async function mergeShardedRoots(
  ids: { base: CID; a: CID; b: CID },
  states: { base: RootState; a: RootState; b: RootState },
  options: ShardedMergeOptions,
): Promise<CID> {
  const { store, resolve, signal } = options
  const versions = new Set([states.base.version, states.a.version, states.b.version])
  if (versions.size > 1) {
    throw new InvalidArgumentError(
      `base, a and b are sharded roots of different manifest versions (${[...versions].join(', ')}): a merge needs one`,
    )
  }
  if (sameId(ids.a, ids.b) || sameId(ids.b, ids.base)) return ids.a
  if (sameId(ids.a, ids.base)) return ids.b
  const collect = async (side: RootState): Promise<Map<string, KeyChange>> => {
    const changes = new Map<string, KeyChange>()
    for await (const change of diffShardedRoots(states.base, side, store, options))
      changes.set(change.key, change)
    return changes
  }
  const [changesA, changesB] = await Promise.all([collect(states.a), collect(states.b)])
  const values = {
    load: (key: string, pointer: StoreId) =>
      callStore(
        () => `loading ${key} (${formatId(pointer)})`,
        () => store.load(pointer, { signal }),
        signal,
      ),
    save: (_key: string, value: Uint8Array) => saveForCid(store, value, 'raw', { signal }),
  }
  const { ontoA, edits } = await planMerge(changesA, changesB, resolve, values, signal, mergeCheckOf(options))
  const target = ontoA ? ids.a : ids.b
  if (edits.length === 0) return target
  const isMetadata = (key: string): boolean =>
    states.base.metadata.has(key) || states.a.metadata.has(key) || states.b.metadata.has(key)
  const sharded = await ShardedZarrStore.open(target, { store, readOnly: false, signal })
  await applyEdits(sharded, edits, isMetadata)
  return sharded.flush({ signal })
}

/**
 * Metadata first (a `zarr.json` registers the array its chunks need), then chunks, then the metadata
 * deletes (an array's chunks go before its `zarr.json`).
 */
async function applyEdits(
  sharded: ShardedZarrStore,
  edits: MergeEdit[],
  isMetadata: (key: string) => boolean,
): Promise<void> {
  const write = ({ key, pointer }: MergeEdit): Promise<void> =>
    pointer === undefined ? sharded.delete(key) : sharded.setPointer(key, pointer as CID)
  const metadata = edits.filter((edit) => isMetadata(edit.key))
  const chunks = edits.filter((edit) => !isMetadata(edit.key))
  for (const edit of metadata) if (edit.pointer !== undefined) await write(edit)
  await Promise.all(chunks.map(write))
  for (const edit of metadata) if (edit.pointer === undefined) await write(edit)
}
