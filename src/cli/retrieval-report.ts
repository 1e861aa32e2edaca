// `--retrieval-stats`: the retrieval snapshot of a command's reads, printed on stderr when it ends.
import type { Distribution, RetrievalSnapshot } from '../telemetry/index.js'

/** The snapshot as one JSON line (`--json`) or a few lines for people. */
export function formatRetrievalReport(snapshot: RetrievalSnapshot, json: boolean): string {
  if (json) return JSON.stringify({ retrievalStats: snapshot })
  const { loads } = snapshot
  const statuses = Object.entries(loads.byStatus)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ')
  const lines = [
    `retrieval: ${loads.requests} loads of ${loads.uniqueIds} IDs (${loads.duplicateRequests} repeated, ` +
      `${loads.ranged} ranged), ${size(loads.bytes)}, ${snapshot.retries} retries, ` +
      `${snapshot.verificationFailures} verification failures, ${ms(snapshot.elapsedMs)} ms`,
    `  load latency ms: ${percentiles(loads.latencyMs)}; at most ${loads.maxInFlight} at once; ${statuses || 'none'}`,
  ]
  for (const g of snapshot.gateways) {
    lines.push(
      `  gateway ${g.gateway}: ${g.requests} requests, ${g.failures} failed, ${size(g.bytes)}; ms ${percentiles(g.latencyMs)}`,
    )
  }
  const { lookups, zarrGets, shardLoads } = snapshot
  if (lookups.requests > 0) {
    lines.push(
      `  HAMT lookups: ${lookups.requests} (${lookups.found} found), nodes ${lookups.nodeLoads} ` +
        `(${lookups.nodeCacheHits} in memory), depth max ${lookups.depth.max}; ms ${percentiles(lookups.latencyMs)}`,
    )
  }
  if (zarrGets.requests > 0) {
    lines.push(
      `  Zarr gets: ${zarrGets.requests} (${zarrGets.hits} found); ms ${percentiles(zarrGets.latencyMs)}`,
    )
  }
  if (shardLoads.requests > 0) {
    lines.push(`  shards: ${shardLoads.requests} reads (${shardLoads.cacheHits} from cache)`)
  }
  if (snapshot.topIds.length > 0) {
    lines.push(`  most loaded IDs: ${snapshot.topIds.map((t) => `${t.id} x${t.requests}`).join(', ')}`)
  }
  if (snapshot.topKeys.length > 0) {
    lines.push(`  most read keys: ${snapshot.topKeys.map((t) => `${t.key} x${t.requests}`).join(', ')}`)
  }
  return lines.join('\n')
}

function percentiles(d: Distribution): string {
  return `p50 ${ms(d.p50)} p90 ${ms(d.p90)} p99 ${ms(d.p99)} max ${ms(d.max)}`
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(0)
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`
}
