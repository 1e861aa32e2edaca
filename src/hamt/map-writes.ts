import { copiesAtSave } from '../cas/copy-at-save.js'
import { isStoreId } from '../cas/id.js'
import type { AbortOptions, StoreId } from '../cas/interface.js'
import { isEncodedNow } from '../codec/dag-cbor.js'
import { describeValue, InvalidArgumentError, KeyNotFoundError } from '../errors.js'
import { mapPool } from '../util/pool.js'
import { buildFromEntries, encodeEntries } from './bulk.js'
import { CollectionView } from './collection-view.js'
import { flushTree } from './flush.js'
import { saveFailure } from './loader.js'
import type { MapCore, Path } from './map-state.js'
import { collapsePath, slotIndex, splitBucket } from './mutate.js'
import { Bucket, Link, type Node, type Slot } from './node.js'
import { encodeValue } from './values.js'
import { pathTo } from './walk.js'

/** `HAMT.set`: the value's upload starts at the call, its write in the call's turn. */
export async function setValue<V>(
  map: MapCore,
  key: string,
  value: V,
  options: AbortOptions | undefined,
): Promise<void> {
  options?.signal?.throwIfAborted()
  map.calls.assertWritableAtCall('set')
  const hash = map.hasher.hash(key)
  // Encoded into a shared buffer when it can be: saved at once (copied), else copied for `save`.
  const data = encodeValue(key, value, map.valuesAreBytes, true)
  // The upload starts now, overlapping other sets' uploads, and the write takes its place in the
  // lock's queue now too: it applies after every call made before it, whatever the upload times.
  // A store in memory saves at once, without a promise to wait for (see `SAVE_NOW`).
  const saved = map.loader.saveNow(data)
  const saving =
    saved === undefined
      ? map.loader.saveUnwrapped(isEncodedNow(data) ? data.slice() : data, 'raw', options)
      : undefined
  // On a collectable store: the value kept by collections until it is in a node (or the set failed).
  const release = map.state.writer?.holdWhileSaved(saving ?? Promise.resolve(saved as StoreId))
  if (map.calls.tryWrite()) {
    // Nothing holds or waits for the lock: this call holds it from now, as `write` would, but
    // runs here instead of in two more async functions (most of a set's cost beside the store's).
    try {
      let pointer = saved
      if (pointer === undefined) {
        try {
          pointer = await (saving as Promise<StoreId>)
        } catch (err) {
          throw saveFailure('raw', err, options?.signal)
        }
      }
      const pending = setPointerInTurn(map, key, hash, pointer, options)
      if (pending !== undefined) await pending
    } finally {
      map.calls.endWrite()
      release?.()
    }
    return
  }
  const upload = (saving ?? Promise.resolve(saved as StoreId)).catch((err: unknown) => {
    throw saveFailure('raw', err, options?.signal)
  })
  // Awaited in turn below; this only keeps an early failure from counting as unhandled meanwhile.
  upload.catch(() => {})
  try {
    await map.calls.write(
      async () => setPointerInTurn(map, key, hash, await upload, options),
      options?.signal,
    )
  } finally {
    release?.()
  }
}

/** `HAMT.setMany`: every value's upload starts at the call, `flushConcurrency` at a time; one write. */
export async function setEntries<V>(
  map: MapCore,
  entries: Iterable<readonly [string, V]>,
  options: AbortOptions | undefined,
): Promise<void> {
  options?.signal?.throwIfAborted()
  map.calls.assertWritableAtCall('set')
  const { keys, hashes, values } = encodeEntries(entries, map.hasher, map.valuesAreBytes)
  const releases: ((() => void) | undefined)[] = []
  const uploads = mapPool(
    values,
    map.flushConcurrency,
    (data) => {
      const saving = map.loader.save(data, 'raw', options)
      releases.push(map.state.writer?.holdWhileSaved(saving))
      return saving
    },
    options?.signal,
  )
  uploads.catch(() => {})
  try {
    await map.calls.write(async () => {
      const pointers = await uploads
      map.calls.assertWritable('set')
      // A new epoch: every node changed from here on is a copy, so the mark's root stays intact.
      const before = map.state.mark(true)
      try {
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string
          const set = setPointerInTurn(map, key, hashes[i] as Uint8Array, pointers[i] as StoreId, options)
          if (set !== undefined) await set
        }
      } catch (error) {
        map.state.restore(before)
        throw error
      }
    }, options?.signal)
  } finally {
    for (const release of releases) release?.()
  }
}

/** `HAMT.setPointer`: `pointer` names a value already in the store. */
export async function setStoredPointer(
  map: MapCore,
  key: string,
  pointer: StoreId,
  options: AbortOptions | undefined,
): Promise<void> {
  map.calls.assertWritableAtCall('set')
  if (!isStoreId(pointer))
    throw new InvalidArgumentError(`pointer must be a CID or bytes, got ${describeValue(pointer)}`)
  const hash = map.hasher.hash(key)
  await map.calls.write(async () => setPointerInTurn(map, key, hash, pointer, options), options?.signal)
}

/** A pointer's write, in its turn; synchronous (no promise) when the key's path is in memory. */
function setPointerInTurn(
  map: MapCore,
  key: string,
  hash: Uint8Array,
  pointer: StoreId,
  options: AbortOptions | undefined,
): void | Promise<void> {
  map.calls.assertWritable('set')
  const found = pathTo(map.state.root, hash, map.loader, options)
  if (Array.isArray(found)) return setInPath(map, { nodes: found, hash }, key, pointer, options)
  return found.then((nodes) => setInPath(map, { nodes, hash }, key, pointer, options))
}

/** Plans the change on a loaded path and commits it. */
function setInPath(
  map: MapCore,
  path: Path,
  key: string,
  pointer: StoreId,
  options: AbortOptions | undefined,
): void {
  const hash = path.hash
  const depth = path.nodes.length - 1
  const leaf = path.nodes[depth] as Node
  const bucket = leaf.slots[slotIndex(hash, depth, key)] as Bucket | undefined
  const isNew = bucket === undefined || bucket.indexOf(key) < 0
  let replacement: Slot
  if (bucket === undefined) replacement = Bucket.of(key, pointer)
  else if (!isNew || bucket.size < map.maxBucketSize) replacement = bucket.with(key, pointer)
  else {
    const added = { key, pointer, hash }
    replacement = Link.toDirty(
      splitBucket(bucket, added, depth + 1, map.maxBucketSize, map.state.epoch, map.hasher),
    )
  }
  // Checked here too, for stores that ignore the signal: an abort never lands half-way.
  options?.signal?.throwIfAborted()
  map.state.commit(path, depth, replacement, isNew ? 1 : 0)
}

/** `HAMT.delete`, in call order: every node load happens before the change. */
export async function deleteKey(map: MapCore, key: string, options: AbortOptions | undefined): Promise<void> {
  options?.signal?.throwIfAborted()
  map.calls.assertWritableAtCall('delete')
  const hash = map.hasher.hash(key)
  await map.calls.write(async () => {
    map.calls.assertWritable('delete')
    const path: Path = { nodes: await pathTo(map.state.root, hash, map.loader, options), hash }
    const depth = path.nodes.length - 1
    const bucket = (path.nodes[depth] as Node).slots[slotIndex(hash, depth, key)]
    const index = bucket instanceof Bucket ? bucket.indexOf(key) : -1
    if (!(bucket instanceof Bucket) || index < 0) throw new KeyNotFoundError(key)
    // All loads happen here, before any change.
    const collapsed = await collapsePath(path.nodes, hash, key, bucket.without(index), {
      maxBucketSize: map.maxBucketSize,
      loader: map.loader,
      options,
    })
    options?.signal?.throwIfAborted()
    map.state.commit(path, collapsed.depth, collapsed.replacement, -1)
  }, options?.signal)
}

/** `HAMT.flush` in its turn: saves the dirty nodes (a collection keeps them meanwhile), returns the root. */
export async function flushInTurn(map: MapCore, options: AbortOptions | undefined): Promise<StoreId> {
  const root = map.state.root
  if (root.id !== undefined) {
    // No node changed, but values may still wait in a buffering store (setPointer, overwrites).
    await map.loader.flushStore(options)
    return root.id
  }
  const rootId = await CollectionView.keepingSaves(map.state.writer, (onSaved) =>
    flushTree(root.node as Node, map.loader, map.flushConcurrency, options, copiesAtSave(map.store), onSaved),
  )
  map.state.stored(rootId)
  return rootId
}

/** `HAMT.fromEntries` on a new, empty map: builds the tree bottom-up and makes it the map's. */
export async function buildInto<V>(
  map: MapCore,
  entries: Iterable<readonly [string, V]> | AsyncIterable<readonly [string, V]>,
  signal: AbortSignal | undefined,
): Promise<void> {
  // What the build saved is in no root until it ends: a collection meanwhile keeps it (read-only too).
  map.state.registerWriter(map.store)
  const built = await CollectionView.keepingSaves(map.state.writer, (onSaved) =>
    buildFromEntries(entries, {
      hasher: map.hasher,
      loader: map.loader,
      maxBucketSize: map.maxBucketSize,
      valuesAreBytes: map.valuesAreBytes,
      concurrency: map.flushConcurrency,
      copyAtSave: copiesAtSave(map.store),
      signal,
      onSaved,
    }),
  )
  map.loader.cache.set(built.rootId, built.root, built.bytes)
  map.state.stored(built.rootId, built.size)
}
