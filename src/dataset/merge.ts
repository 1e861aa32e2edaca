import { formatId, sameId, toCid } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { InvalidArgumentError } from '../errors.js'
import { HAMT } from '../hamt/hamt.js'
import { callStore } from '../hamt/loader.js'
import {
  type KeyChange,
  MERGE_CHECK,
  type MergeCheck,
  type MergePlan,
  type MergeResolver,
} from '../hamt/merge.js'
import type { RootState } from '../sharded/interface.js'
import { decodeRoot } from '../sharded/layout.js'
import { mergeShardedRoots } from '../sharded/merge.js'
import { type PyJson, parsePyJson } from '../sharded/pyjson.js'
import { isMetadataKey } from '../zarr/keys.js'
import { canonical, encodingField, sameJson } from './metadata-compare.js'
import { zarrLayoutOf } from './open.js'

export interface ZarrMergeOptions extends AbortOptions {
  /** The store holding the three versions; the merged root's new nodes are saved there. */
  store: ContentAddressedStore
  /** Settles a key (a chunk or a metadata document) both writers changed differently; its values are bytes. */
  resolve?: MergeResolver<Uint8Array>
}

/**
 * Three-way merge of two versions `a` and `b` of a Zarr dataset, both written from `base`: chunks
 * and metadata written by one writer are kept, a document several writers wrote as the same JSON
 * (in any key order or whitespace) is no conflict, keys written differently go to `resolve` or fail with
 * `ERR_MERGE_CONFLICT` before anything is written. Writers that each write their own chunks of one
 * array from the same base, merged in any order, give exactly the root of one writer writing every
 * chunk. On a HAMT root it is `HAMT.merge` with `valuesAreBytes` (pass no other bucket size or hash);
 * on py-hamt's sharded layout (all three of one manifest version) metadata and chunk entries are
 * merged by CID, reading only the shards whose CIDs differ. Mixed layouts are an `ERR_INVALID_ARGUMENT`,
 * and so are chunks written under an array metadata whose encoding (codecs, data type, fill value,
 * chunk grid or key encoding; v2 likewise) the merged root changes, or an array the merge deletes:
 * they would decode wrong.
 *
 * @example
 * ```ts
 * // hamtRoot: the dataset with its zarr.json; root, rootCid: two writers' roots made from it
 * const merged = await mergeZarrRoots(hamtRoot, root, rootCid, { store })
 * ```
 */
export async function mergeZarrRoots(
  base: StoreId | string,
  a: StoreId | string,
  b: StoreId | string,
  options: ZarrMergeOptions,
): Promise<StoreId> {
  const { store, signal } = options
  // Each argument checked at the call, names resolved after.
  const [baseArg, aArg, bArg] = [
    rootArgument(base, 'base', store),
    rootArgument(a, 'a', store),
    rootArgument(b, 'b', store),
  ]
  const roots = {
    base: await resolveRootArgument(baseArg, store, signal),
    a: await resolveRootArgument(aArg, store, signal),
    b: await resolveRootArgument(bArg, store, signal),
  }
  const blocks = await Promise.all(
    Object.values(roots).map((id) =>
      callStore(
        () => `loading block ${formatId(id)}`,
        () => store.load(id, { signal }),
        signal,
      ),
    ),
  )
  const layouts = Object.keys(roots).map((name, i) => [
    name,
    zarrLayoutOf(blocks[i] as Uint8Array, name).kind,
  ])
  const check: MergeCheck<Uint8Array> = {
    reads: (key) => ARRAY_METADATA.test(key),
    check: checkEncodings,
    // The same document in other bytes (key order, whitespace) is no conflict; the lesser bytes stand.
    equivalent: {
      keys: isMetadataKey,
      pick: (x, y) => (sameJson(x, y) ? (compareBytes(x, y) <= 0 ? 'a' : 'b') : undefined),
    },
  }
  const checked = { ...options, [MERGE_CHECK]: check }
  if (layouts.every(([, kind]) => kind === 'hamt')) {
    return HAMT.merge<Uint8Array>(roots.base, roots.a, roots.b, { ...checked, valuesAreBytes: true })
  }
  if (layouts.every(([, kind]) => kind === 'sharded')) {
    const [stateBase, stateA, stateB] = blocks.map((block) => decodeRoot(block)) as [
      RootState,
      RootState,
      RootState,
    ]
    const cids = { base: toCid(roots.base, 'base'), a: toCid(roots.a, 'a'), b: toCid(roots.b, 'b') }
    return mergeShardedRoots(cids, { base: stateBase, a: stateA, b: stateB }, checked)
  }
  throw new InvalidArgumentError(
    `base, a and b mix layouts (${layouts.map(([name, kind]) => `${name}: ${kind}`).join(', ')}): a merge needs one`,
  )
}

/** An array's metadata document: v3 `zarr.json` or v2 `.zarray`, at the root or under a path. */
const ARRAY_METADATA = /(?:^|\/)(?:zarr\.json|\.zarray)$/

/** The fields of array metadata that say how its chunks are named and decoded. */
const ENCODING_FIELDS = [
  'node_type',
  'data_type',
  'chunk_grid',
  'chunk_key_encoding',
  'codecs',
  'fill_value',
  'storage_transformers',
  'dtype',
  'chunks',
  'compressor',
  'filters',
  'order',
  'dimension_separator',
]

/**
 * Refuses a plan that would put a side's chunks under metadata that decodes them differently from
 * the metadata that side wrote them under (one writer re-encoded or deleted the array).
 */
async function checkEncodings(plan: MergePlan<Uint8Array>): Promise<void> {
  const { changesA, changesB, values } = plan
  // One pass over each side's keys, no copy of them (a merge may change millions of chunks).
  const metadataKeys = new Set<string>()
  for (const changes of [changesA, changesB])
    for (const key of changes.keys()) if (ARRAY_METADATA.test(key)) metadataKeys.add(key)
  if (metadataKeys.size === 0) return
  const dirs = new Map([...metadataKeys].map((key) => [key.slice(0, key.lastIndexOf('/') + 1), key]))
  const sides = [
    ['a', changesA, changesB],
    ['b', changesB, changesA],
  ] as const
  for (const [side, changes, other] of sides) {
    for (const [dir, chunk] of chunksUnder(changes, dirs)) {
      const key = dirs.get(dir) as string
      // The metadata this side's chunks were written under: its own, else the base's.
      const own = changes.has(key) ? changes.get(key)?.after : other.get(key)?.before
      const merged = plan.merged(key)
      const pointer = 'pointer' in merged ? merged.pointer : null
      if (own === undefined ? pointer === undefined : pointer && sameId(own, pointer)) continue
      const load = (id: StoreId | undefined) => (id === undefined ? undefined : values.load(key, id))
      const after = 'value' in merged ? merged.value : await load(pointer ?? undefined)
      const field = changedField(await load(own), after)
      if (field === undefined) continue
      const array = JSON.stringify(dir.slice(0, -1))
      const change = after === undefined ? 'deletes' : `changes its ${field}`
      throw new InvalidArgumentError(
        `cannot merge array ${array}: ${side} wrote ${JSON.stringify(chunk)} under a ${key} that the merged root ${change}, so it would decode wrong (nothing was written)`,
      )
    }
  }
}

/** The first key a side changed under each array directory (metadata documents aside). */
function chunksUnder(
  changes: ReadonlyMap<string, KeyChange>,
  dirs: ReadonlyMap<string, string>,
): Map<string, string> {
  const found = new Map<string, string>()
  // The array directory of each parent directory, once: chunk keys share few parents.
  const arrayDirs = new Map<string, string | undefined>()
  const arrayDirOf = (parent: string): string | undefined => {
    if (!arrayDirs.has(parent)) {
      let dir: string | undefined = parent
      while (dir !== undefined && !dirs.has(dir)) {
        const at = dir.lastIndexOf('/', dir.length - 2)
        dir = dir === '' ? undefined : at < 0 ? '' : dir.slice(0, at + 1)
      }
      arrayDirs.set(parent, dir)
    }
    return arrayDirs.get(parent)
  }
  for (const key of changes.keys()) {
    if (isMetadataKey(key)) continue
    const dir = arrayDirOf(key.slice(0, key.lastIndexOf('/') + 1))
    if (dir !== undefined && !found.has(dir)) found.set(dir, key)
  }
  return found
}

/** The first encoding field two array documents differ in ('document' when one is not JSON or is gone). */
function changedField(before: Uint8Array | undefined, after: Uint8Array | undefined): string | undefined {
  if (before === undefined || after === undefined) return before === after ? undefined : 'document'
  const [x, y] = [parsePyJson(before), parsePyJson(after)]
  if (!(x instanceof Map) || !(y instanceof Map)) return 'whole document'
  if (x.get('node_type') === 'group' && y.get('node_type') === 'group') return undefined
  const field = (doc: Map<string, PyJson>, name: string) => canonical(encodingField(doc, name), 'as-integers')
  // A field nested past MAX_DEPTH (null) counts as changed.
  return ENCODING_FIELDS.find((name) => {
    const before = field(x, name)
    return before === null || before !== field(y, name)
  })
}

/** Two documents in byte order (a prefix first): which of two equivalent ones stands, whatever the merge's order. */
function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const length = Math.min(x.length, y.length)
  for (let i = 0; i < length; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number)
  return x.length - y.length
}
