import type { CID } from 'multiformats/cid'
import { walkDag } from '../../car/walk.js'
import { formatId } from '../../cas/id.js'
import { IdMap } from '../../cas/id-map.js'
import type { ContentAddressedStore, StoreId } from '../../cas/interface.js'
import { InvalidNodeError, isHamtError } from '../../errors.js'
import { HAMT } from '../../hamt/hamt.js'
import { Bucket, Link } from '../../hamt/node.js'
import { decodeNode } from '../../hamt/node-decoder.js'
import { mapConcurrent } from '../concurrency.js'
import { type CliStore, parseRoot } from '../context.js'
import type { Command } from './command.js'

export interface TreeStats {
  keys: number
  nodes: number
  nodeBytes: { total: number; min: number; max: number }
  /** keysAtDepth[d]: keys in buckets of nodes at depth d (the root is depth 0). */
  keysAtDepth: number[]
  /** bucketFill[n]: buckets holding n keys. */
  bucketFill: number[]
  /** Slots in use over all slots, as a fraction. */
  slotUse: number
}

/** BLAKE3's 32 bytes, the hash the CLI opens maps with: nodes sit at depths 0 to 31. */
const HASH_BYTES = 32

/**
 * Walks every node of the tree (not the values) and counts. Each distinct node counts once, however
 * many slots link to it, so a hostile tree of repeated links costs its distinct blocks only.
 */
export async function treeStats(
  store: Pick<ContentAddressedStore, 'load'>,
  root: StoreId,
  onNode?: (nodes: number) => void,
): Promise<TreeStats> {
  const stats: TreeStats = {
    keys: 0,
    nodes: 0,
    nodeBytes: { total: 0, min: Number.POSITIVE_INFINITY, max: 0 },
    keysAtDepth: [],
    bucketFill: [],
    slotUse: 0,
  }
  let usedSlots = 0
  let level: StoreId[] = [root]
  const seen = new IdMap<true>()
  seen.set(root, true)
  for (let depth = 0; level.length > 0; depth++) {
    if (depth >= HASH_BYTES) {
      throw new InvalidNodeError(
        `node ${formatId(level[0] as StoreId)} sits at depth ${depth}, deeper than a ${HASH_BYTES}-byte hash reaches`,
      )
    }
    const next: StoreId[] = []
    // One level at a time, its nodes loaded together.
    const blocks = await mapConcurrent(level, 32, (id) => store.load(id))
    blocks.forEach((bytes, i) => {
      const node = decodeNode(bytes, String(level[i]))
      stats.nodes++
      stats.nodeBytes.total += bytes.length
      stats.nodeBytes.min = Math.min(stats.nodeBytes.min, bytes.length)
      stats.nodeBytes.max = Math.max(stats.nodeBytes.max, bytes.length)
      for (const slot of node.slots) {
        if (slot === undefined) continue
        usedSlots++
        if (slot instanceof Bucket) {
          stats.keys += slot.size
          stats.keysAtDepth[depth] = (stats.keysAtDepth[depth] ?? 0) + slot.size
          stats.bucketFill[slot.size] = (stats.bucketFill[slot.size] ?? 0) + 1
        } else if (slot instanceof Link && slot.id !== undefined && !seen.has(slot.id)) {
          seen.set(slot.id, true)
          next.push(slot.id)
        }
      }
    })
    onNode?.(stats.nodes)
    level = next
  }
  stats.slotUse = usedSlots / (stats.nodes * 256)
  stats.keysAtDepth = Array.from(stats.keysAtDepth, (n) => n ?? 0)
  stats.bucketFill = Array.from(stats.bucketFill, (n) => n ?? 0)
  return stats
}

export const stats: Command = {
  name: 'stats',
  summary: 'key count, depth histogram, node count and sizes, bucket fill of the map at ROOT',
  usage: 'stats ROOT',
  async run(context, [root]) {
    const store = await context.store()
    const progress = context.output.progress('nodes')
    const result = await treeStats(store, parseRoot(root), (n) => progress.update(n))
    progress.done()
    context.output.result(result, () =>
      [
        `keys        ${result.keys}`,
        `nodes       ${result.nodes} (${result.nodeBytes.total} bytes; ${result.nodeBytes.min}–${result.nodeBytes.max} each)`,
        `slots used  ${(result.slotUse * 100).toFixed(1)}%`,
        `keys by depth:`,
        ...result.keysAtDepth.map((n, d) => `  depth ${d}: ${n}`),
        `buckets by fill:`,
        ...result.bucketFill
          .map((n, size) => (size === 0 ? '' : `  ${size} key${size > 1 ? 's' : ''}: ${n}`))
          .filter(Boolean),
      ].join('\n'),
    )
  },
}

export interface VerifyReport {
  root: string
  /** Sound blocks: fetched, matching their CIDs, links readable. */
  blocks: number
  bytes: number
  missing: string[]
  corrupt: Array<{ cid: string; error: string }>
  problems: string[]
  keys: number | null
  ok: boolean
}

/**
 * Fetches every block reachable from `root` (nodes, values, UnixFS blocks), each checked against its
 * CID by the store, collecting what is missing or wrong instead of stopping; then, if every block is
 * sound, checks the tree's invariants.
 */
export async function verifyMap(
  store: CliStore,
  root: StoreId,
  onBlock?: (blocks: number) => void,
): Promise<VerifyReport> {
  const report: VerifyReport = {
    root: String(root),
    blocks: 0,
    bytes: 0,
    missing: [],
    corrupt: [],
    problems: [],
    keys: null,
    ok: false,
  }
  const onError = (cid: CID, error: unknown): void => {
    if (isHamtError(error, 'ERR_BLOCK_NOT_FOUND')) report.missing.push(String(cid))
    else report.corrupt.push({ cid: String(cid), error: (error as Error).message })
  }
  for await (const { bytes } of walkDag(store, parseRoot(String(root)), { concurrency: 32, onError })) {
    report.blocks++
    report.bytes += bytes.length
    onBlock?.(report.blocks)
  }
  if (report.missing.length === 0 && report.corrupt.length === 0) {
    try {
      const map = await HAMT.open(root, { store, readOnly: true, valuesAreBytes: true })
      const { problems, keyCount } = await map.verify()
      report.problems = problems
      report.keys = keyCount
    } catch (error) {
      report.problems.push((error as Error).message)
    }
  }
  report.ok = report.missing.length === 0 && report.corrupt.length === 0 && report.problems.length === 0
  return report
}

export const verify: Command = {
  name: 'verify',
  summary: 'check every block reachable from ROOT against its CID, and the tree’s invariants',
  usage: 'verify ROOT',
  help: 'Exits with status 1 when anything is missing or wrong, and lists it.',
  async run(context, [root]) {
    const store = await context.store()
    const progress = context.output.progress('blocks checked')
    const report = await verifyMap(store, parseRoot(root), (n) => progress.update(n))
    progress.done()
    context.output.result(report, () =>
      [
        `${report.ok ? 'ok' : 'FAILED'}: ${report.blocks} blocks, ${report.bytes} bytes${report.keys === null ? '' : `, ${report.keys} keys`}`,
        ...report.missing.map((cid) => `missing: ${cid}`),
        ...report.corrupt.map(({ cid, error }) => `corrupt: ${cid}: ${error}`),
        ...report.problems.map((problem) => `invalid: ${problem}`),
      ].join('\n'),
    )
    if (!report.ok) process.exitCode = 1
  },
}
