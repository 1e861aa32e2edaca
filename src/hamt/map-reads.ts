import type { AbortOptions, StoreId } from '../cas/interface.js'
import { checkByteRange } from '../cas/range.js'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { type LookupProbe, observing, traceLookup } from '../telemetry/hooks.js'
import type { GetOptions } from './interface.js'
import { valueLoadFailure } from './loader.js'
import type { MapCore, StateMark } from './map-state.js'
import { Bucket, type Node, type Slot } from './node.js'
import { decodeValue, notDagCbor } from './values.js'
import { pathTo, slotInMemory, walkEntries } from './walk.js'

/** `HAMT.get`: the value, its raw bytes (`range`, or bytes values) or undefined. */
export async function getValue(
  map: MapCore,
  key: string,
  options: GetOptions | undefined,
): Promise<unknown | Uint8Array | undefined> {
  options?.signal?.throwIfAborted()
  if (options?.range !== undefined) checkByteRange(options.range)
  // A store holding its blocks in memory hands the value over without a promise; its own bytes
  // when they are only decoded, since the decoder copies what it keeps (no copy a get).
  const decoding = options?.range === undefined && !map.valuesAreBytes
  // The warm get: its bucket in memory now, its value read by the pointer's place (no view of it).
  if (decoding && map.calls.readableNow && !observing()) {
    const bucket = slotInMemory(map.state.root, map.hasher.hashNow(key), map.loader)
    if (bucket === undefined) return undefined
    if (bucket !== null) {
      const index = bucket.indexOf(key)
      if (index < 0) return undefined
      const bytes = map.loader.valueInBucketNow(bucket, index)
      if (bytes === undefined) return valueAt(map, key, bucket.pointerAt(index), options, decoding)
      try {
        return decodeDagCbor(bytes)
      } catch (cause) {
        // The pointer's view made only here: decodeValue would make it for every get.
        throw notDagCbor(key, bucket.pointerAt(index), cause)
      }
    }
  }
  const found = lookup(map, key, options)
  const pointer = found instanceof Promise ? await found : found
  return pointer === undefined ? undefined : valueAt(map, key, pointer, options, decoding)
}

/** The value `pointer` names for `key` (see {@link getValue}). */
async function valueAt(
  map: MapCore,
  key: string,
  pointer: StoreId,
  options: GetOptions | undefined,
  decoding: boolean,
): Promise<unknown | Uint8Array> {
  let bytes = options?.range === undefined ? map.loader.valueNow(pointer, decoding) : undefined
  if (bytes === undefined) {
    const load = options === undefined ? undefined : { signal: options.signal, range: options.range }
    try {
      bytes = await map.loader.loadValueUnwrapped(pointer, load)
    } catch (err) {
      throw valueLoadFailure(pointer, err, options?.signal)
    }
  }
  if (options?.range !== undefined || map.valuesAreBytes) return bytes
  return decodeValue(key, pointer, bytes)
}

/** `key`'s pointer as the map holds it (a view into its node's block), traced when observed. */
export function lookup(
  map: MapCore,
  key: string,
  options: AbortOptions | undefined,
): StoreId | undefined | Promise<StoreId | undefined> {
  return observing()
    ? traceLookup(key, (probe) => pointerOf(map, key, options, probe))
    : pointerOf(map, key, options)
}

/**
 * `key`'s pointer, without a promise when the read may run at once and its path is in memory
 * (the common warm lookup); else in call order, loading nodes as needed.
 */
function pointerOf(
  map: MapCore,
  key: string,
  options: AbortOptions | undefined,
  probe?: LookupProbe,
): StoreId | undefined | Promise<StoreId | undefined> {
  const now = map.calls.readableNow
  // When the read may run at once, a reused buffer: the walk is synchronous and hashes nothing else.
  const hashed = now ? map.hasher.hashNow(key) : map.hasher.hash(key)
  if (now) {
    options?.signal?.throwIfAborted()
    const slot = slotInMemory(map.state.root, hashed, map.loader, probe)
    if (slot !== null) return pointerInBucket(slot, key)
  }
  // The read waits: the hash is its own.
  const hash = now ? hashed.slice() : hashed
  return map.calls.read(async () => {
    const found = pathTo(map.state.root, hash, map.loader, options, probe)
    const nodes = Array.isArray(found) ? found : await found
    return pointerInBucket((nodes.at(-1) as Node).slots[hash[nodes.length - 1] as number], key)
  }, options?.signal)
}

function pointerInBucket(slot: Slot, key: string): StoreId | undefined {
  if (!(slot instanceof Bucket)) return undefined
  const index = slot.indexOf(key)
  return index < 0 ? undefined : slot.pointerAt(index)
}

/**
 * The state for a long reader, taken in call order. A read-only map never changes under it; a
 * writable one is frozen: later writes copy the nodes they change instead of changing them in place.
 * Carries the key count when known (`countOnly` then freezes nothing) and the write count, to tell
 * later whether the live map still matches.
 */
export async function snapshot(
  map: MapCore,
  signal: AbortSignal | undefined,
  countOnly = false,
): Promise<StateMark> {
  const take = async (): Promise<StateMark> =>
    map.state.mark(!map.calls.readOnly && !(countOnly && map.state.size !== undefined))
  return map.calls.read(take, signal)
}

/** `HAMT.size`: the count kept, or a walk of a snapshot's tree (kept if no write came in between). */
export async function countKeys(map: MapCore, options: AbortOptions | undefined): Promise<number> {
  const mark = await snapshot(map, options?.signal, true)
  if (mark.size !== undefined) return mark.size
  let count = 0
  for await (const _ of walkEntries(mark.root, map.loader, map.hasher, options)) count++
  map.state.counted(count, mark)
  return count
}

/** The map's own pointers (views into node blocks) from a snapshot, for the walks that do not hand them out. */
export async function* snapshotPointers(
  map: MapCore,
  options: AbortOptions | undefined,
): AsyncGenerator<[string, StoreId]> {
  const { root } = await snapshot(map, options?.signal)
  yield* walkEntries(root, map.loader, map.hasher, options)
}
