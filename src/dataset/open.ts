import { formatId } from '../cas/id.js'
import type { AbortOptions, ContentAddressedStore, StoreId } from '../cas/interface.js'
import { resolveRoot } from '../cas/ipns.js'
import { ROOT_BLOCK } from '../cas/root-block.js'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { InvalidArgumentError } from '../errors.js'
import { HAMT } from '../hamt/hamt.js'
import type { ShardReadMode } from '../sharded/read-mode.js'
import { ShardedZarrStore } from '../sharded/store.js'
import { EncryptedZarrHAMTStore } from '../zarr/encrypted.js'
import { ZarrHAMTStore } from '../zarr/store.js'

/** How a Zarr dataset's root is laid out: a HAMT, or py-hamt's sharded store (with its manifest version). */
export type ZarrLayout = { kind: 'hamt' } | { kind: 'sharded'; manifestVersion: string }

/**
 * The layout of a Zarr root block: a HAMT root node is a 256-slot DAG-CBOR array, a sharded store's
 * root a DAG-CBOR map with `manifest_version`. Anything else is an InvalidArgumentError naming `root` (the
 * root's ID, for the message) or else `rootBlock`.
 *
 * @example
 * ```ts
 * const layout = zarrLayoutOf(await store.load(root)) // { kind: 'hamt' } or { kind: 'sharded', manifestVersion }
 * ```
 */
export function zarrLayoutOf(rootBlock: Uint8Array, root?: string): ZarrLayout {
  const what = root === undefined ? 'rootBlock' : `root ${root}`
  let decoded: unknown
  try {
    decoded = decodeDagCbor(rootBlock)
  } catch (error) {
    throw new InvalidArgumentError(`${what} is not a DAG-CBOR block: ${(error as Error)?.message}`, {
      cause: error,
    })
  }
  if (Array.isArray(decoded)) return { kind: 'hamt' }
  const version = (decoded as { manifest_version?: unknown } | null)?.manifest_version
  if (typeof version === 'string') return { kind: 'sharded', manifestVersion: version }
  throw new InvalidArgumentError(`${what} is neither a HAMT node nor a sharded Zarr manifest`)
}

/**
 * Opens the Zarr dataset at `rootId` (a CID, its string form or what a flush returned, or an IPNS
 * name `/ipns/k51…` when the store resolves names, resolved once here) read-only,
 * whichever layout holds it, as a zarrita store. `signal` bounds the loads of the root. With
 * `encryption` (py-hamt's SimpleEncryptedZarrHAMTStore: a 32-byte key and the header, bytes or text)
 * a HAMT root opens as an {@link EncryptedZarrHAMTStore}; py-hamt has no encrypted sharded layout.
 *
 * @example
 * ```ts
 * const { layout, store: zarrStore } = await openZarrRoot(root, { store })
 * const group = await zarr.open(zarr.root(zarrStore), { kind: 'group' })
 * ```
 */
export async function openZarrRoot(
  rootId: StoreId | string,
  options: {
    store: ContentAddressedStore
    encryption?: { key: Uint8Array; header: Uint8Array | string } | undefined
    /** For a sharded root: how shards are read (see ShardReadMode; default `'full'`). */
    shardReadMode?: ShardReadMode | undefined
    /** For a sharded root: the byte budget of its decoded shards (default 100 MiB). */
    cacheBytes?: number | undefined
  } & AbortOptions,
): Promise<{ layout: ZarrLayout; store: ZarrHAMTStore | ShardedZarrStore }> {
  const { store, signal, encryption, shardReadMode, cacheBytes } = options
  // A HAMT opens at any store ID (a MemoryStore's are bytes); the sharded layout checks for a CID itself.
  const root = await resolveRoot(rootId, 'root', store, signal)
  const rootBlock = await store.load(root, { signal })
  const layout = zarrLayoutOf(rootBlock, formatId(root))
  // The opener would load the root again: hand it the block just read rather than a second fetch.
  const withRoot = { [ROOT_BLOCK]: { id: root, bytes: rootBlock } }
  if (layout.kind === 'sharded') {
    if (encryption !== undefined) {
      throw new InvalidArgumentError(
        `root ${formatId(root)} is a sharded store, which py-hamt never encrypts: drop encryption`,
      )
    }
    const sharded = await ShardedZarrStore.open(root, {
      store,
      readOnly: true,
      signal,
      shardReadMode,
      cacheBytes,
      ...withRoot,
    })
    return { layout, store: sharded }
  }
  const map = await HAMT.open<Uint8Array>(root, {
    store,
    readOnly: true,
    valuesAreBytes: true,
    signal,
    ...withRoot,
  })
  if (encryption === undefined) return { layout, store: new ZarrHAMTStore(map) }
  const header =
    typeof encryption.header === 'string' ? new TextEncoder().encode(encryption.header) : encryption.header
  return { layout, store: new EncryptedZarrHAMTStore(map, { key: encryption.key, header }) }
}
