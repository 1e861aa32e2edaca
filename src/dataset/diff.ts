import { formatId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { isRecord } from '../check.js'
import { InvalidArgumentError } from '../errors.js'
import { HAMT } from '../hamt/hamt.js'
import type { ChangeKind } from '../hamt/interface.js'
import { callStore } from '../hamt/loader.js'
import { diffShardedRoots } from '../sharded/diff.js'
import { decodeRoot } from '../sharded/layout.js'
import { PyInt, type PyJson, parsePyJson } from '../sharded/pyjson.js'
import { exactCoords, isMetadataKey, splitChunkKey } from '../zarr/keys.js'
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
  /** A metadata document of a node that changed (or a metadata key such as `.zattrs` added or removed), parsed as JSON when it is (integers past 2^53 as bigints). */
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
  const naming = namingReader(readValue)
  for await (const change of changes) yield await classify(change, readValue, naming)
}

async function classify(
  { key, kind }: KeyChange,
  readValue: ReadValue,
  naming: NamingReader,
): Promise<ZarrChange> {
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
  const coords = split === undefined ? undefined : exactCoords(split.coordText.split('/'))
  if (split !== undefined && coords !== undefined)
    return { type: 'chunk', kind, path: split.arrayPath, coords }
  const chunk = await chunkOf(key, kind === 'removed' ? 'from' : 'to', naming)
  return chunk === undefined ? { type: 'other', kind, key } : { type: 'chunk', kind, ...chunk }
}

/** How an array names its chunks: with v3's default `c` first or not (v2), its separator, its dimensions. */
interface ChunkNaming {
  readonly prefixed: boolean
  readonly separator: string
  readonly ndim: number
}

/** The chunk naming of the array at a path in one version, undefined where no array is. */
type NamingReader = (side: Side, path: string) => Promise<ChunkNaming | undefined>

/** Arrays nest at most this deep below the key's last slashes: a key's dimensions, with room. */
const MAX_DIMENSIONS = 64

/**
 * The array a key that is not `…/c/0/1` belongs to (the nearest array above it) and the chunk it
 * names under that array's chunk key encoding: Zarr v2's `temp/0.1` or `temp/0/1`, v3's `c.0.1`,
 * a 0-d array's `c` or `0`; undefined when the key is no chunk of it.
 */
async function chunkOf(
  key: string,
  side: Side,
  naming: NamingReader,
): Promise<{ path: string; coords: number[] } | undefined> {
  const paths: string[] = []
  for (
    let at = key.lastIndexOf('/');
    at > 0 && paths.length < MAX_DIMENSIONS;
    at = key.lastIndexOf('/', at - 1)
  ) {
    paths.push(key.slice(0, at))
  }
  paths.push('')
  for (const path of paths) {
    const found = await naming(side, path)
    if (found === undefined) continue
    const coords = coordsIn(path === '' ? key : key.slice(path.length + 1), found)
    return coords === undefined ? undefined : { path, coords }
  }
  return undefined
}

function coordsIn(rest: string, naming: ChunkNaming): number[] | undefined {
  let text = rest
  if (naming.prefixed) {
    if (text === 'c') return naming.ndim === 0 ? [] : undefined
    if (!text.startsWith(`c${naming.separator}`)) return undefined
    text = text.slice(2)
  } else if (naming.ndim === 0) return text === '0' ? [] : undefined
  const parts = text.split(naming.separator)
  return parts.length === naming.ndim ? exactCoords(parts) : undefined
}

/** Reads each path's array metadata once per version (`zarr.json`, else v2's `.zarray`). */
function namingReader(readValue: ReadValue): NamingReader {
  const cache = new Map<string, Promise<ChunkNaming | undefined>>()
  return (side, path) => {
    const id = `${side}:${path}`
    let naming = cache.get(id)
    if (naming === undefined) {
      const key = (name: string): string => (path === '' ? name : `${path}/${name}`)
      naming = (async () => {
        const v3 = await readValue(side, key('zarr.json'))
        if (v3 !== undefined) return chunkNaming('zarr.json', parseJson(v3))
        const v2 = await readValue(side, key('.zarray'))
        return v2 === undefined ? undefined : chunkNaming('.zarray', parseJson(v2))
      })()
      cache.set(id, naming)
    }
    return naming
  }
}

/** The chunk naming an array's metadata declares (Zarr's defaults where it says none). */
function chunkNaming(name: 'zarr.json' | '.zarray', document: unknown): ChunkNaming | undefined {
  if (!isRecord(document) || !Array.isArray(document.shape)) return undefined
  const ndim = document.shape.length
  if (name === '.zarray') {
    return { prefixed: false, separator: document.dimension_separator === '/' ? '/' : '.', ndim }
  }
  if (document.node_type !== 'array') return undefined
  const encoding = isRecord(document.chunk_key_encoding) ? document.chunk_key_encoding : {}
  const v2 = encoding.name === 'v2'
  const separator = isRecord(encoding.configuration) ? encoding.configuration.separator : undefined
  return {
    prefixed: !v2,
    separator: separator === '.' || separator === '/' ? separator : v2 ? '.' : '/',
    ndim,
  }
}

function nodeTypeOf(name: string, document: unknown): 'array' | 'group' | undefined {
  if (name === '.zarray') return 'array'
  if (name === '.zgroup') return 'group'
  const type = (document as { node_type?: unknown } | undefined)?.node_type
  return type === 'array' || type === 'group' ? type : undefined
}

/**
 * A metadata document as JSON, integers past 2^53 as bigints (an int64 fill value keeps its digits);
 * its raw bytes when it is not JSON or nests deeper than MAX_DEPTH (a diff reports, it does not judge).
 */
function parseJson(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined
  const parsed = parsePyJson(bytes)
  const value = parsed === undefined ? TOO_DEEP : plain(parsed, 0)
  return value === TOO_DEEP ? bytes : value
}

/** How deep plain() follows a document: its recursion stays far inside the stack. */
const MAX_DEPTH = 1000
const TOO_DEEP: unique symbol = Symbol('too deep')

function plain(value: PyJson, depth: number): unknown {
  if (value instanceof PyInt) {
    const number = Number(value.digits)
    return Number.isSafeInteger(number) ? number : BigInt(value.digits)
  }
  if (!Array.isArray(value) && !(value instanceof Map)) return value
  if (depth >= MAX_DEPTH) return TOO_DEEP
  const items = [...value.values()].map((item) => plain(item, depth + 1))
  if (items.includes(TOO_DEEP)) return TOO_DEEP
  return Array.isArray(value) ? items : Object.fromEntries([...value.keys()].map((key, i) => [key, items[i]]))
}
