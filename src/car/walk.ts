import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CidQueue } from '../cas/cid-queue.js'
import { inlineBlock } from '../cas/id.js'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions } from '../cas/interface.js'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { InvalidValueError } from '../errors.js'
import { raceAbort } from '../util/abort.js'
import type { BlockSource } from './interface.js'

export interface WalkOptions extends AbortOptions {
  /** Blocks fetched at once. */
  concurrency: number
  /**
   * Called for a block that cannot be fetched or whose links cannot be read; the walk then goes on
   * without it (what `verify` wants). Without it, the walk stops with that error (what export wants).
   */
  onError?: (cid: CID, error: unknown) => void
  /**
   * The CIDs the walk has queued, each fetched once; garbage collection passes its marks, so a
   * walk keeps no second set. Default: a set of the walk's own.
   */
  visited?: VisitedSet
}

/** The blocks a walk has queued. */
export interface VisitedSet {
  has(cid: CID): boolean
  add(cid: CID): void
}

function ownVisitedSet(): VisitedSet {
  const seen = new IdMap<true>()
  return { has: (cid) => seen.has(cid), add: (cid) => seen.set(cid, true) }
}

type Fetched = { ticket: number; cid: CID } & ({ bytes: Uint8Array } | { error: unknown })

/** Every block reachable from `root`, each once, in arrival order, `concurrency` fetched at a time. */
export async function* walkDag(
  source: BlockSource,
  root: CID,
  options: WalkOptions,
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const seen = options.visited ?? ownVisitedSet()
  if (!seen.has(root)) seen.add(root)
  const queue = new CidQueue()
  queue.push(root)
  const inFlight = new Map<number, Promise<Fetched>>()
  let tickets = 0
  while (queue.length > 0 || inFlight.size > 0) {
    while (queue.length > 0 && inFlight.size < options.concurrency) {
      const cid = queue.shift() as CID
      const ticket = tickets++
      inFlight.set(
        ticket,
        fetchBlock(source, cid, options).then(
          (bytes) => ({ ticket, cid, bytes }),
          (error: unknown) => ({ ticket, cid, error }),
        ),
      )
    }
    // Raced with the signal: a source that ignores it must not hold the walk (as HAMT walks race it).
    const fetched = await raceAbort(Promise.race(inFlight.values()), options.signal)
    inFlight.delete(fetched.ticket)
    const { cid } = fetched
    let links: CID[]
    try {
      if ('error' in fetched) throw fetched.error
      links = linksOf(cid, fetched.bytes)
    } catch (error) {
      if (options.onError === undefined || options.signal?.aborted) throw error
      options.onError(cid, error)
      continue
    }
    for (const link of links) {
      if (seen.has(link)) continue
      seen.add(link)
      queue.push(link)
    }
    yield { cid, bytes: fetched.bytes }
  }
}

/** A block's bytes: an identity CID's from the CID itself (no store holds those), else the source's. */
export async function fetchBlock(source: BlockSource, cid: CID, options: AbortOptions): Promise<Uint8Array> {
  return inlineBlock(cid) ?? source.getBlock(cid, { signal: options.signal })
}

/**
 * The CIDs a block links to: dag-cbor tag-42 links anywhere in it, dag-pb links, none for raw. A
 * block that does not decode (malformed, or nested past the stack) is an InvalidValueError.
 */
export function linksOf(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === raw.code) return []
  if (cid.code === dagPb.code || cid.code === dagCbor.code) {
    try {
      if (cid.code === dagPb.code) return dagPb.decode(bytes).Links.map((link) => link.Hash)
      const links: CID[] = []
      collectLinks(decodeDagCbor(bytes), links)
      return links
    } catch (cause) {
      throw new InvalidValueError(`block ${cid} does not decode: ${(cause as Error)?.message}`, { cause })
    }
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
