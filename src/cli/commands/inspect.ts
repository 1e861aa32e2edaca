import type { CID } from 'multiformats/cid'
import { walkDag } from '../../car/walk.js'
import type { ContentAddressedStore, StoreId } from '../../cas/interface.js'
import { isHamtError } from '../../errors.js'
import { HAMT } from '../../hamt/hamt.js'
import { type CliStore, parseRoot, rootOf } from '../context.js'
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

/**
 * Counts over every node of the tree (not the values), from {@link HAMT.nodes}: each distinct node
 * counts once however many slots link to it, and the depth is bounded by the map's hash.
 */
export async function treeStats(
  store: ContentAddressedStore,
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
  const map = await HAMT.open(root, { store, readOnly: true })
  for await (const node of map.nodes({ concurrency: 32 })) {
    const bytes = node.bytes as number
    stats.nodes++
    stats.nodeBytes.total += bytes
    stats.nodeBytes.min = Math.min(stats.nodeBytes.min, bytes)
    stats.nodeBytes.max = Math.max(stats.nodeBytes.max, bytes)
    usedSlots += node.buckets.length + node.links
    for (const size of node.buckets) {
      stats.keys += size
      stats.keysAtDepth[node.depth] = (stats.keysAtDepth[node.depth] ?? 0) + size
      stats.bucketFill[size] = (stats.bucketFill[size] ?? 0) + 1
    }
    onNode?.(stats.nodes)
  }
  stats.slotUse = usedSlots / (stats.nodes * 256)
  stats.keysAtDepth = Array.from(stats.keysAtDepth, (n) => n ?? 0)
  stats.bucketFill = Array.from(stats.bucketFill, (n) => n ?? 0)
  return stats
}

export const stats: Command = {
  name: 'stats',
  maxArgs: 1,
  summary: 'key count, depth histogram, node count and sizes, bucket fill of the map at ROOT',
  usage: 'stats ROOT',
  async run(context, [root]) {
    const store = await context.store()
    const progress = context.output.progress('nodes')
    const result = await treeStats(store, await rootOf(context, root), (n) => progress.update(n))
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
  maxArgs: 1,
  summary: 'check every block reachable from ROOT against its CID, and the tree’s invariants',
  usage: 'verify ROOT',
  help: 'Exits with status 1 when anything is missing or wrong, and lists it.',
  async run(context, [root]) {
    const store = await context.store()
    const progress = context.output.progress('blocks checked')
    const report = await verifyMap(store, await rootOf(context, root), (n) => progress.update(n))
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
