import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { varint } from 'multiformats'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { concatBytes } from '../cas/concat.js'
import { IdMap } from '../cas/id-map.js'
import type { StoreId } from '../cas/interface.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import type { BlockSource, ExportCarOptions } from './interface.js'

const RAW = 0x55

/**
 * Streams a CAR (v1) file holding `root` and every block reachable from it, each once: a whole
 * HAMT (nodes and values, large values' UnixFS blocks included), a Zarr dataset on a HAMT, or any
 * DAG of dag-cbor, dag-pb and raw blocks. The root is the CAR's one root; blocks come in the
 * order they arrive. Every block is read through `source`, so a verifying store checks it first.
 *
 * @example
 * ```ts
 * const chunks: Uint8Array[] = []
 * for await (const chunk of exportCar(store, root)) chunks.push(chunk) // or pipe to a file
 * ```
 */
export async function* exportCar(
  source: BlockSource,
  root: StoreId,
  options: ExportCarOptions = {},
): AsyncGenerator<Uint8Array> {
  const rootCid = CID.asCID(root)
  if (rootCid === null) throw new InvalidArgumentError('root must be a CID (a map flushed to a CID store)')
  if (typeof source?.getBlock !== 'function') {
    throw new InvalidArgumentError('source must be a store with getBlock (BlockstoreStore, KuboStore, …)')
  }
  checkConcurrency(options.concurrency)
  yield carHeader(rootCid)
  let blocks = 0
  let bytes = 0
  for await (const block of walkDag(source, rootCid, options)) {
    yield carBlock(block.cid, block.bytes)
    blocks++
    bytes += block.bytes.length
    options.onProgress?.({ blocks, bytes })
  }
}

/** Every block reachable from `root`, each once, fetched `concurrency` at a time. */
async function* walkDag(
  source: BlockSource,
  root: CID,
  options: ExportCarOptions,
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const concurrency = options.concurrency ?? 16
  const seen = new IdMap<true>()
  seen.set(root, true)
  const queue: CID[] = [root]
  let head = 0
  type Fetched = { ticket: number; cid: CID; bytes: Uint8Array }
  const inFlight = new Map<number, Promise<Fetched>>()
  let tickets = 0
  while (head < queue.length || inFlight.size > 0) {
    while (head < queue.length && inFlight.size < concurrency) {
      const cid = queue[head++] as CID
      const ticket = tickets++
      const fetched = fetchBlock(source, cid, options).then((bytes) => ({ ticket, cid, bytes }))
      // Raced below; until then a rejection must not count as unhandled.
      fetched.catch(() => {})
      inFlight.set(ticket, fetched)
    }
    const { ticket, cid, bytes } = await Promise.race(inFlight.values())
    inFlight.delete(ticket)
    for (const link of linksOf(cid, bytes)) {
      if (seen.has(link)) continue
      seen.set(link, true)
      queue.push(link)
    }
    // Let the queue's consumed prefix be collected on long walks.
    if (head > 65_536) {
      queue.splice(0, head)
      head = 0
    }
    yield { cid, bytes }
  }
}

function checkConcurrency(concurrency: number | undefined): void {
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1)) {
    throw new InvalidArgumentError(`concurrency must be a positive integer, got ${concurrency}`)
  }
}

async function fetchBlock(source: BlockSource, cid: CID, options: ExportCarOptions): Promise<Uint8Array> {
  // An identity CID carries its bytes; no store holds it as a block.
  if (cid.multihash.code === identity.code) return cid.multihash.digest
  return source.getBlock(cid, { signal: options.signal })
}

/** The CIDs a block links to: dag-cbor tag-42 links anywhere in it, dag-pb links, none for raw. */
export function linksOf(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === RAW) return []
  if (cid.code === dagPb.code) return dagPb.decode(bytes).Links.map((link) => link.Hash)
  if (cid.code === dagCbor.code) {
    const links: CID[] = []
    collectLinks(dagCbor.decode(bytes), links)
    return links
  }
  throw new InvalidValueError(
    `block ${cid} has codec 0x${cid.code.toString(16)}; only dag-cbor, dag-pb and raw links can be followed`,
  )
}

function collectLinks(value: unknown, links: CID[]): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return
  const cid = CID.asCID(value)
  if (cid !== null) {
    links.push(cid)
    return
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) collectLinks(child, links)
}

function carHeader(root: CID): Uint8Array {
  return lengthPrefixed([dagCbor.encode({ version: 1, roots: [root] })])
}

function carBlock(cid: CID, bytes: Uint8Array): Uint8Array {
  return lengthPrefixed([cid.bytes, bytes])
}

/** A CARv1 section: the varint length of the parts, then the parts. */
function lengthPrefixed(parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0)
  const prefix = new Uint8Array(varint.encodingLength(length))
  varint.encodeTo(length, prefix)
  return concatBytes([prefix, ...parts])
}
