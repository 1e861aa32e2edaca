import { formatId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { decodeUtf8 } from '../codec/dag-cbor.js'
import { InvalidArgumentError } from '../errors.js'
import { HAMT } from '../hamt/hamt.js'
import type { ChangeKind } from '../hamt/interface.js'
import { callStore } from '../hamt/loader.js'
import { diffShardedRoots } from '../sharded/diff.js'
import { decodeRoot } from '../sharded/layout.js'
import { isDecimal, isMetadataKey, splitChunkKey } from '../zarr/keys.js'
import { zarrLayoutOf } from './open.js'

/** One difference between two versions of a Zarr dataset, as {@link diffZarrRoots} yields it. */
export type ZarrChange =
  /** An array or group that appeared or went: its `zarr.json` (or v2 `.zarray`/`.zgroup`) was added or removed. */
  | {
      readonly type: 'node'
      readonly kind: 'added' | 'removed'
      readonly path: string
      readonly nodeType: 'array' | 'group' | undefined
    }
  /** A metadata document of a node that changed (or a metadata key such as `.zattrs` added or removed), parsed as JSON when it is. */
  | {
      readonly type: 'metadata'
      readonly kind: ChangeKind
      readonly path: string
      readonly key: string
      readonly before?: unknown
      readonly after?: unknown
    }
  /** A chunk of the array at `path` written, rewritten or deleted. */
  | { readonly type: 'chunk'; readonly kind: ChangeKind; readonly path: string; readonly coords: number[] }
  /** A key that is neither metadata nor a chunk key. */
  | { readonly type: 'other'; readonly kind: ChangeKind; readonly key: string }

export interface ZarrDiffOptions extends AbortOptions {
  /** The store holding both versions. */
  store: ContentAddressedStore
}

type KeyChange = { key: string; kind: ChangeKind }
type Side = 'from' | 'to'
type ReadValue = (side: Side, key: string) => Promise<Uint8Array | undefined>

/**
 * What changed between two versions of a Zarr dataset, both on a HAMT or both on py-hamt's sharded
 * layout: arrays and groups added or removed, metadata changed, and the chunks written or deleted,
 * by array path and chunk coordinates. Only what differs is read: on a HAMT the unchanged subtrees,
 * on a sharded root the shards with equal CIDs, are skipped; chunk bytes are never loaded. Streams in
 * the layout's order. Either root may be an IPNS name when the store resolves names (resolved when
 * the walk starts). A bad root ID is an `ERR_INVALID_ARGUMENT` at the call; two roots of different
 * layouts are one when the walk starts.
 *
 * @example
 * ```ts
 * // hamtRoot: yesterday's version of the dataset, root: today's
 * for await (const change of diffZarrRoots(hamtRoot, root, { store })) {
 *   if (change.type === 'chunk') console.log(change.path, change.coords, change.kind)
 * }
 * ```
 */
export function diffZarrRoots(
  from: StoreId | string,
  to: StoreId | string,
  options: ZarrDiffOptions,
): AsyncGenerator<ZarrChange> {
  const [a, b] = [rootArgument(from, 'from', options?.store), rootArgument(to, 'to', options?.store)]
  return (async function* () {
    const resolve = (root: typeof a) => resolveRootArgument(root, options.store, options.signal)
    yield* diffRoots(await resolve(a), await resolve(b), options)
  })()
}

async function* diffRoots(from: StoreId, to: StoreId, options: ZarrDiffOptions): AsyncGenerator<ZarrChange> {
  const { store, signal } = options
  const load = (id: StoreId): Promise<Uint8Array> =>
    callStore(
      () => `loading block ${formatId(id)}`,
      () => store.load(id, { signal }),
      signal,
    )
  const [blockFrom, blockTo] = await Promise.all([load(from), load(to)])
  const layoutFrom = zarrLayoutOf(blockFrom, formatId(from))
  const layoutTo = zarrLayoutOf(blockTo, formatId(to))
  if (layoutFrom.kind !== layoutTo.kind) {
    throw new InvalidArgumentError(
      `from is a ${layoutFrom.kind} root and to a ${layoutTo.kind} one: a diff needs one layout`,
    )
  }
  let changes: AsyncIterable<KeyChange>
  let readValue: ReadValue
  if (layoutFrom.kind === 'sharded') {
    const states = { from: decodeRoot(blockFrom), to: decodeRoot(blockTo) }
    changes = diffShardedRoots(states.from, states.to, store, options)
    readValue = async (side, key) => {
      const cid = states[side].metadata.get(key)
      return cid === undefined ? undefined : load(cid)
    }
  } else {
    const open = { store, valuesAreBytes: true, signal }
    const maps = { from: await HAMT.open<Uint8Array>(from, open), to: await HAMT.open<Uint8Array>(to, open) }
    changes = HAMT.diff(from, to, { ...open, keysOnly: true })
    readValue = (side, key) => maps[side].get(key, { signal })
  }
  for await (const change of changes) yield await classify(change, readValue)
}

async function classify({ key, kind }: KeyChange, readValue: ReadValue): Promise<ZarrChange> {
  if (isMetadataKey(key)) {
    const [before, after] = await Promise.all([
      kind === 'added' ? undefined : readValue('from', key).then(parseJson),
      kind === 'removed' ? undefined : readValue('to', key).then(parseJson),
    ])
    const slash = key.lastIndexOf('/')
    const path = slash < 0 ? '' : key.slice(0, slash)
    const name = key.slice(slash + 1)
    if (kind !== 'changed' && (name === 'zarr.json' || name === '.zarray' || name === '.zgroup')) {
      return { type: 'node', kind, path, nodeType: nodeTypeOf(name, kind === 'added' ? after : before) }
    }
    const change: { -readonly [K in 'before' | 'after']?: unknown } = {}
    if (before !== undefined) change.before = before
    if (after !== undefined) change.after = after
    return { type: 'metadata', kind, path, key, ...change }
  }
  const split = splitChunkKey(key)
  const parts = split?.coordText.split('/') ?? []
  if (split !== undefined && parts.every(isDecimal)) {
    return { type: 'chunk', kind, path: split.arrayPath, coords: parts.map(Number) }
  }
  return { type: 'other', kind, key }
}

function nodeTypeOf(name: string, document: unknown): 'array' | 'group' | undefined {
  if (name === '.zarray') return 'array'
  if (name === '.zgroup') return 'group'
  const type = (document as { node_type?: unknown } | undefined)?.node_type
  return type === 'array' || type === 'group' ? type : undefined
}

/** A metadata document as JSON; its raw bytes when it is not JSON (a diff reports, it does not judge). */
function parseJson(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined
  try {
    return JSON.parse(decodeUtf8(bytes))
  } catch {
    return bytes
  }
}
