import { CarBufferReader } from '@ipld/car/buffer-reader'
import { CarBlockIterator } from '@ipld/car/iterator'
import type { CID } from 'multiformats/cid'
import { MAX_PUT_BYTES } from '../cas/blockstore.js'
import { MAX_BLOCK_BYTES } from '../cas/gateway.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions } from '../cas/interface.js'
import { tentativePuts } from '../cas/tentative-puts.js'
import { checkVerifiable, verifyBlock } from '../cas/verify.js'
import { integerOption } from '../check.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import { raceAbort } from '../util/abort.js'
import { mapPool } from '../util/pool.js'
import { CarLinks } from './car-links.js'
import type { BlockSink, BlockSource, CarSource, ImportCarOptions } from './interface.js'

type CarBlock = { cid: CID; bytes: Uint8Array }

/**
 * Adds every block of a CAR file (v1 or v2) to `target`, then flushes it; returns the CAR's roots.
 * The CAR must be whole and right: every block matches its CID (BLAKE3, SHA-256 or identity: other
 * hashes cannot be checked and are refused) and decodes, and every block its blocks link to is in it
 * (or already in the target; an identity CID carries its block). A CAR given as bytes is checked in full before
 * the first block goes to the target, so a corrupt or truncated one leaves the target as it was; a
 * stream cannot be read twice: our stores take back the blocks a failed or aborted import left in
 * their write buffer (those a full buffer wrote meanwhile stay, unlinked, and so do those a concurrent
 * import found there and relies on), another target may keep
 * the blocks before a bad one (never the bad one, and no root is returned). `importCarFile` reads
 * its file twice to check first. A block matches a link by multihash and is read as the link's codec.
 *
 * @example
 * ```ts
 * const { roots: [root] } = await importCar(store, carBytes)
 * if (root === undefined) throw new Error('the CAR names no root')
 * const map = await HAMT.open(root, { store })
 * ```
 */
export async function importCar(
  target: BlockSink,
  car: CarSource,
  options: ImportCarOptions = {},
): Promise<{ roots: CID[]; blocks: number }> {
  checkTarget(target)
  if (car instanceof Uint8Array) return importCarFrom(target, () => car, options)
  return importCarFrom(target, () => car, { ...options, checkFirst: false })
}

/**
 * Imports the CAR that `open` yields (called once per pass). With `checkFirst` (the default), a
 * first pass checks every block and link without touching the target, and a second adds them.
 */
export async function importCarFrom(
  target: BlockSink,
  open: () => CarSource,
  options: ImportCarOptions & { checkFirst?: boolean } = {},
): Promise<{ roots: CID[]; blocks: number }> {
  checkTarget(target)
  const checkFirst = options.checkFirst ?? true
  // Our stores' puts are undone if the import fails: no later flush writes what it left buffered.
  const tentative = tentativePuts(target)
  const signal = options.signal
  const put = tentative?.put ?? ((cid: CID, bytes: Uint8Array) => target.putBlock(cid, bytes, { signal }))
  const getBlock = (target as Partial<BlockSource>).getBlock
  const readBack =
    typeof getBlock === 'function' ? (cid: CID) => getBlock.call(target, cid, { signal }) : undefined
  // Held through our stores' tentative puts: a block another import put stays while this one relies on it.
  const asked: Has = tentative?.hasBlock ?? ((cid, options) => target.hasBlock?.(cid, options))
  const has = storeChecks(asked)
  const own = (target as { [MAX_PUT_BYTES]?: unknown })[MAX_PUT_BYTES]
  const most = Number.isSafeInteger(own) ? Math.max(own as number, MAX_BLOCK_BYTES) : MAX_BLOCK_BYTES
  options = { ...options, maxBlockBytes: integerOption('maxBlockBytes', options.maxBlockBytes, most) }
  try {
    if (checkFirst) await readCar(open(), has, options, undefined, true)
    // Hashed once by the check and once by the target (ours verify): not a third time in between.
    const imported = await readCar(
      open(),
      has,
      options,
      { put: (cid, bytes) => put(cid, bytes, { signal }), readBack },
      !checkFirst,
    )
    await target.flush?.({ signal })
    tentative?.keep()
    return imported
  } catch (error) {
    tentative?.drop()
    throw error
  }
}

function checkTarget(target: BlockSink): void {
  if (typeof target?.putBlock !== 'function') {
    throw new InvalidArgumentError('target must be a store with putBlock (BlockstoreStore, KuboStore, …)')
  }
}

/** Whether the target holds a block (its `hasBlock`; undefined when it has none). */
type Has = (cid: CID, options: AbortOptions) => Promise<boolean | undefined> | undefined

/**
 * `has`, asked once per block an import relies on: the put pass does not ask again what the check
 * pass found (our stores hold it for the import from then on: `tentative-puts.ts`, `car/gc.ts`).
 */
function storeChecks(has: Has): Has {
  const found = new IdMap<true>()
  return async (cid, options) => {
    if (found.has(cid.multihash.bytes)) return true
    const held = await has(cid, options)
    if (held === true) found.set(cid.multihash.bytes, true)
    return held
  }
}

/** Links asked of the store at once; the check stops asking at the first one missing. */
const STORE_CHECKS_AT_ONCE = 16

/** What the put pass does with each block, and how it reads one back (the target's `getBlock`). */
interface Putting {
  put(cid: CID, bytes: Uint8Array): Promise<void>
  readBack: ((cid: CID) => Promise<Uint8Array>) | undefined
}

/**
 * Reads every block of the CAR, checking it against its CID (with `verify`) and reading its links
 * before handing it to `putting` (when given); throws unless the CAR is whole. Progress is reported only while putting.
 */
async function readCar(
  car: CarSource,
  has: Has,
  options: ImportCarOptions,
  putting: Putting | undefined,
  verify: boolean,
): Promise<{ roots: CID[]; blocks: number }> {
  // Bytes are decoded at once, synchronously: the streaming decoder awaited several times a block
  // and made ~10 KiB of garbage each, which set the peak memory of importing tiny blocks.
  if (car instanceof Uint8Array) {
    let reader: CarBufferReader
    try {
      reader = CarBufferReader.fromBytes(car)
    } catch (error) {
      throw new InvalidValueError(`not a CAR file, or a corrupt one: ${(error as Error).message}`, {
        cause: error,
      })
    }
    return checkBlocks(reader.getRoots(), reader.blocks().values(), has, options, putting, verify)
  }
  const stream = boundedStream(car, options.maxBlockBytes ?? MAX_BLOCK_BYTES)
  let reader: CarBlockIterator
  try {
    // Raced with the signal here and below: a stream that stops sending must not outlast an abort.
    reader = await raceAbort(CarBlockIterator.fromIterable(stream.pieces), options.signal)
  } catch (error) {
    stream.close()
    if (options.signal?.aborted) throw error
    throw new InvalidValueError(`not a CAR file: ${(error as Error).message}`, { cause: error })
  }
  // The header is bounded on its own: a block of maxBlockBytes after many roots is still taken.
  stream.arrived(undefined)
  const blocks = reader[Symbol.asyncIterator]()
  const counted: AsyncIterator<CarBlock> = {
    next: () => blocks.next().then(stream.arrived),
    // The decoder never closes its source: a refused or aborted stream is closed here, at once.
    return: async () => {
      stream.close()
      await blocks.return?.()
      return { done: true, value: undefined }
    },
  }
  return checkBlocks(await reader.getRoots(), counted, has, options, putting, verify)
}

/** A section's bytes beyond its block: its length (a varint) and its CID. */
const SECTION_HEAD_BYTES = 1024
/** What an empty piece counts for: it carries nothing, but endless ones must end too. */
const EMPTY_PIECE_BYTES = 1024

/**
 * A CAR stream's pieces, refused once the decoder has taken more than a block's `most` bytes since
 * the last block it gave (it reads a section whole, whatever length it declares, before giving it);
 * the stream is closed then. `arrived` passes each block (or the end) through and restarts the count.
 */
function boundedStream(car: AsyncIterable<Uint8Array>, most: number) {
  const source = car[Symbol.asyncIterator]()
  // Not awaited: a source stalled in a read may finish its return only once that read does.
  const close = (): void => void Promise.resolve(source.return?.()).catch(() => {})
  let taken = 0
  const pieces: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        if (taken > most + SECTION_HEAD_BYTES) {
          close()
          throw new InvalidValueError(
            `a section of the CAR stream runs past ${most} bytes, the largest block it may carry (maxBlockBytes)`,
          )
        }
        const next = await source.next()
        if (next.done !== true) taken += next.value.length === 0 ? EMPTY_PIECE_BYTES : next.value.length
        return next
      },
    }),
  }
  const arrived = <T>(result: T): T => {
    taken = 0
    return result
  }
  return { pieces, arrived, close }
}

/** The body of {@link readCar} over decoded blocks (an iterator of a stream's blocks may throw). */
async function checkBlocks(
  roots: CID[],
  iterator: Iterator<CarBlock> | AsyncIterator<CarBlock>,
  has: Has,
  options: ImportCarOptions,
  putting: Putting | undefined,
  verify: boolean,
): Promise<{ roots: CID[]; blocks: number }> {
  const links = new CarLinks()
  for (const root of roots) links.need(root, 0)
  let blocks = 0
  let bytes = 0
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      let next: IteratorResult<CarBlock>
      try {
        // A decoded CAR's blocks come synchronously: no promise a block for them.
        const result = iterator.next()
        next = result instanceof Promise ? await raceAbort(result, options.signal) : result
      } catch (error) {
        if (options.signal?.aborted) throw error
        throw new InvalidValueError(
          `the CAR file is corrupt after ${blocks} blocks: ${(error as Error).message}`,
          { cause: error },
        )
      }
      if (next.done) break
      const { cid, bytes: data } = next.value
      // A hash that cannot be checked is refused here, before any block reaches the target (our
      // stores refuse it too, but only once the blocks before it are in their write buffers).
      if (verify) {
        checkVerifiable(cid)
        await verifyBlock(cid, data, 'the CAR file')
      }
      const linked = links.arrive(cid, data, blocks)
      await putting?.put(cid, data)
      for (const link of linked) links.need(link, blocks)
      blocks++
      bytes += data.length
      if (putting !== undefined) options.onProgress?.({ blocks, bytes })
    }
  } finally {
    // Closes the source (a file stream) when the import stops early; not awaited after an abort,
    // where the source may be stalled in a read that a return would wait for.
    const closing = iterator.return?.()
    if (!options.signal?.aborted) await closing
    else Promise.resolve(closing).catch(() => {})
  }
  // A check pass leaves blocks to read back to the put pass, which has them in the target.
  if (putting !== undefined && links.readsBack) {
    const { readBack } = putting
    if (readBack === undefined) {
      throw new InvalidValueError(
        'the CAR file carries a block under another codec than a link names it by, and the target has no getBlock to read its links back',
      )
    }
    await links.readBack(readBack, blocks)
  }
  await checkComplete(has, links.missing(), options)
  return { roots, blocks }
}

/**
 * Every root and link must be in the CAR or already in the target: a CAR cut between blocks is not
 * whole. One missing ends it: a small CAR linking thousands of absent blocks costs a few requests
 * (a gateway's, for Kubo), not one a link.
 */
async function checkComplete(has: Has, unresolved: CID[], options: ImportCarOptions): Promise<void> {
  const missing: CID[] = []
  const { signal } = options
  await mapPool(
    unresolved,
    STORE_CHECKS_AT_ONCE,
    async (cid) => {
      if (missing.length === 0 && !(await has(cid, { signal }))) missing.push(cid)
    },
    signal,
  )
  if (missing.length > 0) {
    throw new InvalidValueError(
      `the CAR file is incomplete: ${missing.length} linked block(s) found in neither the CAR nor the store (the check stops at the first), first ${missing[0]}`,
    )
  }
}
