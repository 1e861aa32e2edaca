import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { IdMap } from '../cas/id-map.js'
import type { AbortOptions } from '../cas/interface.js'
import { raceAbort } from '../util/abort.js'
import type { BlockSource } from './interface.js'
import { fetchBlock, linksOf } from './walk.js'

export interface DifferenceOptions extends AbortOptions {
  /** Blocks fetched at once. */
  concurrency: number
  /** Walk every block under `base`, so a block `root` shares with it anywhere is left out; default false. */
  exact?: boolean
}

/** What the walk knows of one block: which roots reach it, its links once read, its bytes while they may be sent. */
interface Mark {
  readonly cid: CID
  fromBase: boolean
  fromRoot: boolean
  links: CID[] | undefined
  bytes: Uint8Array | undefined
}

/**
 * The blocks reachable from `root` and not from `base`, root first, then in the order found. Both
 * DAGs are walked together and a block reached from both is not walked below (everything under it
 * is reached from both), so the blocks read follow the size of the difference. Without `exact`, a
 * block that `root` reaches through new blocks and `base` only through a block both share (the same
 * value under two keys, say) is still sent: `exact` walks all of `base` to leave those out too.
 * Blocks are yielded once the walk is done (a block first reached from `root` alone may later turn
 * out to be under `base`): the bytes of the new inner blocks are held until then; leaves (raw
 * blocks) are read only to be sent.
 */
export async function* walkDifference(
  source: BlockSource,
  root: CID,
  base: CID,
  options: DifferenceOptions,
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const marks = new IdMap<Mark>()
  const order: Mark[] = []
  const queue: Mark[] = []
  const reach = (from: CID, side: 'base' | 'root'): void => {
    const key = side === 'base' ? 'fromBase' : 'fromRoot'
    // A loop, not recursion: a chain the other side already read may be thousands of blocks long.
    const pending = [from]
    for (let cid = pending.pop(); cid !== undefined; cid = pending.pop()) {
      let mark = marks.get(cid)
      if (mark === undefined) {
        mark = { cid, fromBase: false, fromRoot: false, links: undefined, bytes: undefined }
        marks.set(cid, mark)
        order.push(mark)
        queue.push(mark)
      }
      if (mark[key]) continue
      mark[key] = true
      if (side === 'base') mark.bytes = undefined
      // Already read from the other side: what it links to is reached from this side too (in
      // link order, as a recursion would: pushed last first).
      const links = mark.links ?? []
      for (let i = links.length - 1; i >= 0; i--) pending.push(links[i] as CID)
    }
  }
  reach(base, 'base')
  reach(root, 'root')
  while (queue.length > 0) {
    options.signal?.throwIfAborted()
    const batch = queue.splice(0, options.concurrency).filter((mark) => mustRead(mark, options.exact))
    // Raced with the signal: a source that ignores it must not hold the walk.
    const read = await raceAbort(
      Promise.all(batch.map((mark) => readLinks(source, mark.cid, options))),
      options.signal,
    )
    for (const [i, mark] of batch.entries()) {
      const { links, bytes } = read[i] as { links: CID[]; bytes: Uint8Array | undefined }
      mark.links = links
      if (!mark.fromBase) mark.bytes = bytes
      for (const link of links) {
        if (mark.fromBase) reach(link, 'base')
        if (mark.fromRoot) reach(link, 'root')
      }
    }
  }
  for (const mark of order) {
    if (!mark.fromRoot || mark.fromBase) continue
    options.signal?.throwIfAborted()
    yield {
      cid: mark.cid,
      bytes: mark.bytes ?? (await raceAbort(fetchBlock(source, mark.cid, options), options.signal)),
    }
  }
}

/**
 * A block is read for its links unless both roots reach it (pruned) or it cannot link (raw). An
 * identity CID of dag-cbor or dag-pb links as any block does (its bytes are in the CID), as `walkDag` follows it.
 */
function mustRead(mark: Mark, exact: boolean | undefined): boolean {
  if (mark.links !== undefined || mark.cid.code === raw.code) return false
  return exact === true ? true : !(mark.fromBase && mark.fromRoot)
}

async function readLinks(
  source: BlockSource,
  cid: CID,
  options: AbortOptions,
): Promise<{ links: CID[]; bytes: Uint8Array }> {
  const bytes = await fetchBlock(source, cid, options)
  return { links: linksOf(cid, bytes), bytes }
}
